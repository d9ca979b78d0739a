package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/smart"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sealedrow"
)

// TokenLife is how long an access token works: SMART's upper bound.
const TokenLife = smart.MaxTokenLife

// apiClient is a registered client as stored: a SMART Backend Services
// client (Kind "", with its public keys and system/ scopes) or a staff app
// (Kind clientKindStaffApp: a public client with exact redirect URIs and
// user/ scopes, and no key; see launch.go). Both kinds share the row kind,
// the id space, registration's step-up and removal, so that removing
// either ends its tokens at once the same way.
type apiClient struct {
	Name         string          `json:"name"`
	Kind         string          `json:"kind,omitempty"`
	JWKS         json.RawMessage `json:"jwks,omitempty"`
	RedirectURIs []string        `json:"redirect_uris,omitempty"`
	Scopes       []string        `json:"scopes"`
	Created      time.Time       `json:"created"`
	CreatedBy    string          `json:"created_by"`
}

// clientKindStaffApp marks a staff app's row.
const clientKindStaffApp = "staff-app"

// APIClient is a registered client or staff app as an admin (and, for a
// staff app, the consent page) sees it.
type APIClient struct {
	ID      string // the client_id
	Name    string
	Scopes  []string
	Keys    []string // key ids (backend clients)
	Created time.Time
	// RedirectURIs are a staff app's registered redirect URIs.
	RedirectURIs []string
}

// clientID is "<tenant>/<row id>": the tenant is needed to find the
// client before anything about it can be checked.
func splitClientID(id string) (partition, row string, ok bool) {
	partition, row, ok = strings.Cut(id, "/")
	if !ok || !haven.ValidTenantID(partition) || !strings.HasPrefix(row, "c-") || len(row) > 40 {
		return "", "", false
	}
	return partition, row, true
}

// RegisterClient registers a backend client for the admin's tenant with
// its public key set. There are no client secrets: the client proves
// itself by signing assertions with a private key Haven never sees.
func (s *Service) RegisterClient(ctx context.Context, by haven.Principal, name string, jwks []byte, scopes []string) (string, error) {
	if by.Role != haven.RoleTenantAdmin && by.Role != haven.RoleSystem || by.TenantID == "" {
		return "", haven.ErrForbidden
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", haven.Invalid("name", "give the client a name of up to 100 characters")
	}
	if _, err := smart.ParseJWKS(jwks); err != nil {
		return "", haven.Invalid("jwks", "%s", err)
	}
	if len(scopes) == 0 {
		return "", haven.Invalid("scopes", "allow at least one scope, such as system/Patient.read")
	}
	if err := smart.ValidateScopes(scopes); err != nil {
		return "", haven.Invalid("scopes", "%s", err)
	}
	row := newID("c-")
	id := by.TenantID + "/" + row
	err := s.in(ctx, by.TenantID, func(tx store.Tx, tk *seal.TenantKey) error {
		c := apiClient{Name: name, JWKS: json.RawMessage(jwks), Scopes: scopes, Created: s.Now().UTC(), CreatedBy: by.ID}
		if _, err := sealedrow.Put(tx, tk, kindClient, row, 0, &c, s.Now()); err != nil {
			return err
		}
		return s.record(tx, event{actor: by.ID, role: string(by.Role), action: ActionClientAdd, recordID: id, addr: by.ClientAddr})
	})
	return id, err
}

// maxRedirectURIs bounds one app's registered redirect URIs.
const maxRedirectURIs = 10

// RegisterStaffApp registers an app that members of staff sign in to
// with SMART App Launch (standalone): a public client, with no secret and
// no key, that may send people back only to the redirect URIs registered
// here (compared exactly), and may ask only for these user/ scopes. Its
// tokens act as the member of staff who approved it, never as more.
func (s *Service) RegisterStaffApp(ctx context.Context, by haven.Principal, name string, redirectURIs, scopes []string) (string, error) {
	if by.Role != haven.RoleTenantAdmin && by.Role != haven.RoleSystem || by.TenantID == "" {
		return "", haven.ErrForbidden
	}
	if by.Role == haven.RoleTenantAdmin && !by.SteppedUp {
		return "", ErrStepUp
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", haven.Invalid("name", "give the app a name of up to 100 characters")
	}
	if len(redirectURIs) == 0 || len(redirectURIs) > maxRedirectURIs {
		return "", haven.Invalid("redirect_uris", "give between 1 and %d redirect URIs", maxRedirectURIs)
	}
	for _, u := range redirectURIs {
		if err := smart.ValidateRedirectURI(u); err != nil {
			return "", haven.Invalid("redirect_uris", "%s", err)
		}
	}
	if len(scopes) == 0 {
		return "", haven.Invalid("scopes", "allow at least one scope, such as user/Patient.rs")
	}
	if err := smart.ValidateUserScopes(scopes); err != nil {
		return "", haven.Invalid("scopes", "%s", err)
	}
	row := newID("c-")
	id := by.TenantID + "/" + row
	err := s.in(ctx, by.TenantID, func(tx store.Tx, tk *seal.TenantKey) error {
		c := apiClient{Name: name, Kind: clientKindStaffApp, RedirectURIs: redirectURIs, Scopes: scopes, Created: s.Now().UTC(), CreatedBy: by.ID}
		if _, err := sealedrow.Put(tx, tk, kindClient, row, 0, &c, s.Now()); err != nil {
			return err
		}
		return s.record(tx, event{actor: by.ID, role: string(by.Role), action: ActionClientAdd, recordID: id, addr: by.ClientAddr, purpose: "staff app"})
	})
	return id, err
}

// StaffApps lists the admin's tenant's registered staff apps.
func (s *Service) StaffApps(ctx context.Context, by haven.Principal) ([]APIClient, error) {
	return s.listClients(ctx, by, clientKindStaffApp)
}

// Clients lists the admin's tenant's registered backend clients (staff
// apps are listed by StaffApps).
func (s *Service) Clients(ctx context.Context, by haven.Principal) ([]APIClient, error) {
	return s.listClients(ctx, by, "")
}

// listClients lists the tenant's clients of one kind ("" for backend
// clients), for its administrator.
func (s *Service) listClients(ctx context.Context, by haven.Principal, kind string) ([]APIClient, error) {
	if by.Role != haven.RoleTenantAdmin && by.Role != haven.RoleSystem || by.TenantID == "" {
		return nil, haven.ErrForbidden
	}
	var out []APIClient
	err := s.look(ctx, by.TenantID, func(tx store.Tx, tk *seal.TenantKey) error {
		rows, err := tx.ListKind(kindClient, "", 1000)
		if err != nil {
			return err
		}
		for _, r := range rows {
			var c apiClient
			if err := sealedrow.Open(tx, tk, r, &c); err != nil {
				return err
			}
			if c.Kind != kind {
				continue
			}
			info := APIClient{ID: by.TenantID + "/" + r.ID, Name: c.Name, RedirectURIs: c.RedirectURIs, Scopes: c.Scopes, Created: c.Created}
			ks, _ := smart.ParseJWKS(c.JWKS)
			for _, k := range ks.Keys {
				info.Keys = append(info.Keys, k.KeyID)
			}
			out = append(out, info)
		}
		return nil
	})
	return out, err
}

// RemoveClient deletes a client or a staff app; its tokens stop working at
// once.
func (s *Service) RemoveClient(ctx context.Context, by haven.Principal, clientID string) error {
	partition, row, ok := splitClientID(clientID)
	if !ok || by.Role != haven.RoleTenantAdmin && by.Role != haven.RoleSystem || partition != by.TenantID {
		return haven.ErrNotFound
	}
	return s.in(ctx, partition, func(tx store.Tx, _ *seal.TenantKey) error {
		if err := tx.Delete(kindClient, row); err != nil {
			return err
		}
		return s.record(tx, event{actor: by.ID, role: string(by.Role), action: ActionClientRemove, recordID: clientID, addr: by.ClientAddr})
	})
}

// accessToken is an issued token as stored (only its hash names the row).
// A staff app's token also names the member of staff's account and the
// web session it was approved in: it acts as that account and works only
// while that session does.
type accessToken struct {
	Client  string    `json:"client"`
	Scopes  []string  `json:"scopes"`
	Expires time.Time `json:"expires"`
	Account string    `json:"account,omitempty"`
	Session string    `json:"session,omitempty"`
	// Named are the scopes the client was registered with by type, not
	// through a wildcard (smart.NamedScopes). A token stored before they
	// were recorded names none, and so reaches neither the audit log nor
	// a bulk export until the client asks for a new one.
	Named []string `json:"named,omitempty"`
}

// Grant is what a valid access token carries.
type Grant struct {
	Principal haven.Principal
	// Scopes are the token's scopes of its own context: system/ for a
	// backend client, user/ for a staff app.
	Scopes []string
	// NamedScopes are those of Scopes the client was registered with by
	// type (smart.NamedScopes): only they reach what a wildcard does not
	// cover. A staff app's token names none.
	NamedScopes []string
	Expires     time.Time
	// Client is the client or staff app the token was issued to.
	Client string
}

// lookupClient finds a client for the assertion verifier.
func (s *Service) lookupClient(ctx context.Context, clientID string) (smart.Client, bool, error) {
	partition, row, ok := splitClientID(clientID)
	if !ok {
		return smart.Client{}, false, nil
	}
	var out smart.Client
	found := false
	err := s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		var c apiClient
		_, err := sealedrow.Get(tx, tk, kindClient, row, &c)
		if errors.Is(err, haven.ErrNotFound) || err == nil && c.Kind != "" {
			return nil // a staff app has no key and is no backend client
		} else if err != nil {
			return err
		}
		keys, err := smart.ParseJWKS(c.JWKS)
		if err != nil {
			return err
		}
		out, found = smart.Client{ID: clientID, Tenant: partition, Keys: keys, Scopes: c.Scopes}, true
		return nil
	})
	if errors.Is(err, errNoPartition) {
		return smart.Client{}, false, nil
	}
	return out, found, err
}

// storeReplay remembers assertion ids in the client's partition, so a
// replay is caught across restarts and across Haven processes sharing a
// database: inserting the id is the check, and a second insert conflicts.
type storeReplay struct {
	s   *Service
	ctx context.Context
}

func (r storeReplay) Seen(clientID, jti string, exp time.Time) (bool, error) {
	partition, _, ok := splitClientID(clientID)
	if !ok {
		return true, nil
	}
	sum := sha256.Sum256([]byte(clientID + "\x00" + jti))
	id := hex.EncodeToString(sum[:])
	seen := false
	err := r.s.in(r.ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		_, err := sealedrow.Put(tx, tk, kindJTI, id, 0, exp.UTC(), r.s.Now())
		if errors.Is(err, haven.ErrConflict) {
			seen = true
			return nil
		}
		return err
	})
	return seen, err
}

// IssueToken answers a SMART Backend Services token request. Refusals are
// *smart.Error values to be sent as OAuth error responses.
func (s *Service) IssueToken(ctx context.Context, form url.Values, addr string) (smart.TokenResponse, error) {
	// Refused requests are throttled per address like failed sign-ins, so
	// that nobody can flood a tenant's audit log with refusals.
	d, finish := s.throttle.begin(s.Now(), addrKey("token:"+addr))
	if d > 0 {
		return smart.TokenResponse{}, &smart.Error{Code: smart.CodeInvalidRequest, Status: 429, RetryAfter: d,
			Description: fmt.Sprintf("too many refused requests from this address; try again in %d seconds", int(d.Seconds())+1)}
	}
	res, err := s.issueToken(ctx, form, addr)
	finish(err != nil)
	return res, err
}

func (s *Service) issueToken(ctx context.Context, form url.Values, addr string) (smart.TokenResponse, error) {
	if form.Get("grant_type") == smart.GrantTypeAuthorizationCode && len(form["grant_type"]) == 1 {
		return s.redeemCode(ctx, form, addr) // a staff app (launch.go)
	}
	req, err := smart.ParseRequest(form)
	if err != nil {
		var oe *smart.Error
		if errors.As(err, &oe) {
			s.refused(ctx, claimedClient(form), oe.Description, addr)
		}
		return smart.TokenResponse{}, err
	}
	v := smart.Verifier{TokenURL: s.cfg.TokenURL, Replay: storeReplay{s, ctx}, Now: s.Now}
	client, err := v.Verify(ctx, req, s.lookupClient)
	if err != nil {
		var oe *smart.Error
		if errors.As(err, &oe) {
			s.refused(ctx, claimedClient(form), oe.Description, addr)
		}
		return smart.TokenResponse{}, err
	}
	granted, err := smart.GrantScopes(req.Scope, client.Scopes)
	if err != nil {
		s.refused(ctx, client.ID, "scope", addr)
		return smart.TokenResponse{}, err
	}
	tok := newBearer(client.Tenant)
	_, row, _ := tok.split()
	now := s.Now().UTC()
	err = s.in(ctx, client.Tenant, func(tx store.Tx, tk *seal.TenantKey) error {
		t := accessToken{Client: client.ID, Scopes: granted, Named: smart.NamedScopes(granted, client.Scopes), Expires: now.Add(TokenLife)}
		if _, err := sealedrow.Put(tx, tk, kindToken, row, 0, &t, now); err != nil {
			return err
		}
		s.pruneExpired(tx, now)
		return s.record(tx, event{actor: client.ID, role: string(haven.RoleAPIClient), action: ActionTokenIssue, recordID: client.ID, addr: addr, purpose: strings.Join(granted, " ")})
	})
	if err != nil {
		return smart.TokenResponse{}, err
	}
	return smart.NewTokenResponse(string(tok), TokenLife, granted)
}

// claimedClient is the client a refused request claimed to be: its
// client_id, or else the unverified issuer of its assertion. It only
// decides which tenant's audit log records the refusal, so that a tenant
// sees failed attempts against its own clients.
func claimedClient(form url.Values) string {
	if id := form.Get("client_id"); id != "" {
		return id
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.RS384, jose.ES384, jose.RS256, jose.ES256, jose.HS256, jose.HS384, jose.PS384})
	if err != nil {
		return ""
	}
	var c jwt.Claims
	if tok.UnsafeClaimsWithoutVerification(&c) != nil {
		return ""
	}
	return c.Issuer
}

// refused records a refused token request in the client's tenant, when the
// client id names one; otherwise in the supplier partition.
func (s *Service) refused(ctx context.Context, clientID, why, addr string) {
	partition, _, ok := splitClientID(clientID)
	if !ok {
		partition, clientID = haven.SupplierPartition, ""
	}
	err := s.in(ctx, partition, func(tx store.Tx, _ *seal.TenantKey) error {
		return s.record(tx, event{actor: clientID, role: string(haven.RoleAPIClient), action: ActionTokenRefused, recordID: clientID, outcome: "denied", addr: addr, purpose: why})
	})
	if errors.Is(err, errNoPartition) {
		_ = s.in(ctx, haven.SupplierPartition, func(tx store.Tx, _ *seal.TenantKey) error {
			return s.record(tx, event{role: string(haven.RoleAPIClient), action: ActionTokenRefused, outcome: "denied", addr: addr, purpose: why})
		})
	}
}

// pruneExpired deletes a few spent tokens, assertion ids and authorization
// codes. Rows carry their write time in the clear, so this needs no
// decryption; all three kinds are dead well within ten minutes of being
// written (a code is kept past its minute so that a replay can be
// recognised and revoke what the code issued).
func (s *Service) pruneExpired(tx store.Tx, now time.Time) {
	for _, k := range []haven.Kind{kindToken, kindJTI, kindCode} {
		rows, err := tx.ListKind(k, "", 200)
		if err != nil {
			return
		}
		for _, r := range rows {
			if now.Sub(r.Updated) > 2*TokenLife {
				_ = tx.Delete(k, r.ID)
			}
		}
	}
}

// AuthenticateToken resolves a bearer access token.
func (s *Service) AuthenticateToken(ctx context.Context, token, addr string) (Grant, error) {
	partition, row, ok := bearer(token).split()
	if !ok || partition == haven.SupplierPartition {
		return Grant{}, ErrSession
	}
	var g Grant
	err := s.look(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		var t accessToken
		if _, err := sealedrow.Get(tx, tk, kindToken, row, &t); err != nil {
			return err
		}
		if !s.Now().Before(t.Expires) {
			return haven.ErrNotFound
		}
		// A removed client's tokens die with it.
		_, crow, _ := splitClientID(t.Client)
		if _, err := tx.Get(kindClient, crow); err != nil {
			return err
		}
		if t.Session != "" {
			// A staff app's token: the member of staff, as signed in.
			p, err := s.tokenSession(tx, tk, t)
			if err != nil {
				return err
			}
			p.TenantID, p.ClientAddr = partition, addr
			g = Grant{Principal: p, Scopes: smart.OnlyUserScopes(t.Scopes), Expires: t.Expires, Client: t.Client}
		} else {
			g = Grant{Principal: haven.Principal{ID: t.Client, TenantID: partition, Role: haven.RoleAPIClient, ClientAddr: addr},
				Scopes: smart.OnlySystemScopes(t.Scopes), NamedScopes: smart.OnlySystemScopes(t.Named), Expires: t.Expires, Client: t.Client}
		}
		if len(g.Scopes) == 0 {
			return haven.ErrNotFound // a token that permits nothing is no token
		}
		return nil
	})
	if errors.Is(err, haven.ErrNotFound) || errors.Is(err, errNoPartition) {
		return Grant{}, ErrSession
	}
	return g, err
}
