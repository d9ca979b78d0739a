package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/smart"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sealedrow"
)

// SMART App Launch (standalone) for staff apps: a member of staff, signed
// in to Haven in their browser with two factors, approves an app; the app
// gets a code bound to that approval and exchanges it, with its PKCE
// verifier, for an access token that acts as that member of staff. The
// token is tied to the web session it was approved in, so everything that
// ends or freezes the session (sign-out, an administrator, the guard's
// containment, a lockout, a role change) ends the token with it.

const (
	// kindCode is an authorization code as stored (only its hash names
	// the row).
	kindCode = haven.Kind("auth-code")
	// CodeLife is how long a code may wait to be exchanged. The app
	// exchanges it at once; a minute covers a slow network and leaves a
	// stolen code little time.
	CodeLife = 60 * time.Second
)

// Audit actions of the launch flow.
const (
	ActionAppApprove = "app-approve"
	ActionAppDeny    = "app-deny"
)

// LaunchRoles are the roles that may approve a staff app: those that work
// with care records. Administrators, the data-protection officer and
// supplier staff have no records to give an app.
var LaunchRoles = []haven.Role{haven.RoleCarer, haven.RoleNurse, haven.RoleClinician, haven.RoleCoordinator}

// authCode is an issued authorization code as stored.
type authCode struct {
	Client      string    `json:"client"`
	RedirectURI string    `json:"redirect_uri"`
	Challenge   string    `json:"challenge"` // S256 code_challenge
	Scopes      []string  `json:"scopes"`
	Account     string    `json:"account"`
	Session     string    `json:"session"` // the approving web session's row id
	Expires     time.Time `json:"expires"`
	// Used is set at the first exchange, whatever its outcome; Token is
	// the row of the token it issued, revoked if the code comes back.
	Used  bool   `json:"used,omitempty"`
	Token string `json:"token,omitempty"`
}

// LaunchError refuses an authorization request. With Redirect empty the
// app or its redirect_uri could not be trusted (or the member of staff
// cannot approve it): the page shows Message and sends the browser
// nowhere. Otherwise Redirect is where to send the browser: the app's
// registered redirect_uri with the OAuth error.
type LaunchError struct {
	Message  string
	Redirect string
}

func (e *LaunchError) Error() string { return "auth: launch refused: " + e.Message }

// Launch is an authorization request that passed every check: the app,
// its registered redirect URI, PKCE, aud, state and the scopes it will get.
type Launch struct {
	Request smart.AuthorizeRequest
	App     APIClient
	Scopes  []string // granted: what the consent page names
}

// audience is the aud an authorization request must carry: the FHIR base
// URL.
func (s *Service) audience() string { return strings.TrimRight(s.cfg.Origin, "/") + "/fhir" }

// CheckLaunch checks an authorization request's parameters (the GET from
// the app, and again the consent form's POST). Refusals are *LaunchError.
func (s *Service) CheckLaunch(ctx context.Context, q url.Values) (*Launch, error) {
	req, err := smart.ParseAuthorizeRequest(q)
	if err != nil {
		var oe *smart.Error
		errors.As(err, &oe)
		return nil, &LaunchError{Message: "The app's request is not valid: " + oe.Description + "."}
	}
	if req.ClientID == "" {
		return nil, &LaunchError{Message: "The app's request does not say which app it is (client_id)."}
	}
	app, found, err := s.staffApp(ctx, req.ClientID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &LaunchError{Message: "This app is not registered with Haven. Ask your organisation's administrator."}
	}
	// Exact match only: a prefix or pattern would let a look-alike path
	// collect the code.
	if req.RedirectURI == "" || !slices.Contains(app.RedirectURIs, req.RedirectURI) {
		return nil, &LaunchError{Message: "The app asked to return to an address that is not registered for it, so Haven will not send you there."}
	}
	refuse := func(err error) error {
		var oe *smart.Error
		if !errors.As(err, &oe) {
			return err
		}
		return &LaunchError{Message: oe.Description, Redirect: errorRedirect(req, oe.Code, oe.Description)}
	}
	if err := req.Check(s.audience()); err != nil {
		return nil, refuse(err)
	}
	granted, err := smart.GrantUserScopes(req.Scope, app.Scopes)
	if err != nil {
		return nil, refuse(err)
	}
	return &Launch{Request: req, App: app, Scopes: granted}, nil
}

// errorRedirect is the app's redirect URI with an OAuth error, and the
// state when it is one that can be echoed.
func errorRedirect(req smart.AuthorizeRequest, code, description string) string {
	v := url.Values{"error": {code}, "error_description": {description}}
	if req.State != "" && !strings.ContainsFunc(req.State, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		v.Set("state", req.State)
	}
	return smart.RedirectWith(req.RedirectURI, v)
}

// staffApp finds a registered staff app by client_id.
func (s *Service) staffApp(ctx context.Context, clientID string) (APIClient, bool, error) {
	partition, row, ok := splitClientID(clientID)
	if !ok {
		return APIClient{}, false, nil
	}
	var app APIClient
	found := false
	err := s.look(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		var c apiClient
		_, err := sealedrow.Get(tx, tk, kindClient, row, &c)
		if errors.Is(err, haven.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if c.Kind == clientKindStaffApp {
			app, found = APIClient{ID: clientID, Name: c.Name, RedirectURIs: c.RedirectURIs, Scopes: c.Scopes, Created: c.Created}, true
		}
		return nil
	})
	if errors.Is(err, errNoPartition) {
		return APIClient{}, false, nil
	}
	return app, found, err
}

// LaunchRefusal says why a session may not approve app, or "" if it may:
// it must be fully signed in, of a role that works with care records, and
// of the organisation that registered the app.
func LaunchRefusal(sess *Session, app APIClient) string {
	switch {
	case !sess.FullyAuthenticated():
		return "Sign in to continue."
	case !slices.Contains(LaunchRoles, sess.Account.Role):
		return "Apps read and write care records as the person who approves them, and your role does not work with care records."
	case app.ID == "" || !strings.HasPrefix(app.ID, sess.Account.Tenant()+"/") || sess.Account.Tenant() == "":
		return "This app is registered by another organisation, so you cannot approve it."
	}
	return ""
}

// ApproveLaunch records a member of staff's approval and returns where to
// send the browser: the app's redirect URI with a single-use code and the
// state. The code works for CodeLife, once, for this app, this redirect
// URI and the verifier of this PKCE challenge, and only while this web
// session is live and not frozen.
func (s *Service) ApproveLaunch(ctx context.Context, sess *Session, l *Launch, addr string) (string, error) {
	if why := LaunchRefusal(sess, l.App); why != "" {
		return "", &LaunchError{Message: why}
	}
	tok := newBearer(sess.Partition)
	_, row, _ := tok.split()
	err := s.in(ctx, sess.Partition, func(tx store.Tx, tk *seal.TenantKey) error {
		// The session as stored now, not as the request began: one ended
		// or frozen in between approves nothing.
		cur, err := s.loadSession(tx, tk, sess.ID)
		if errors.Is(err, errDropped) {
			return ErrSession
		} else if err != nil {
			return err
		}
		if !cur.FullyAuthenticated() || cur.Frozen {
			return ErrSession
		}
		now := s.Now().UTC()
		c := authCode{Client: l.App.ID, RedirectURI: l.Request.RedirectURI, Challenge: l.Request.CodeChallenge, Scopes: l.Scopes,
			Account: cur.AccountID, Session: cur.ID, Expires: now.Add(CodeLife)}
		if _, err := sealedrow.Put(tx, tk, kindCode, row, 0, &c, now); err != nil {
			return err
		}
		return s.record(tx, event{actor: cur.AccountID, role: string(sess.Account.Role), action: ActionAppApprove, recordID: l.App.ID,
			addr: addr, purpose: strings.Join(l.Scopes, " ")})
	})
	if err != nil {
		return "", err
	}
	return smart.RedirectWith(l.Request.RedirectURI, url.Values{"code": {string(tok)}, "state": {l.Request.State}}), nil
}

// DenyLaunch records that a member of staff refused an app and returns
// the app's redirect URI with error=access_denied.
func (s *Service) DenyLaunch(ctx context.Context, sess *Session, l *Launch, addr string) (string, error) {
	if sess.FullyAuthenticated() && sess.Account.Tenant() != "" && strings.HasPrefix(l.App.ID, sess.Account.Tenant()+"/") {
		err := s.in(ctx, sess.Partition, func(tx store.Tx, _ *seal.TenantKey) error {
			return s.record(tx, event{actor: sess.AccountID, role: string(sess.Account.Role), action: ActionAppDeny, recordID: l.App.ID, addr: addr})
		})
		if err != nil {
			return "", err
		}
	}
	return errorRedirect(l.Request, smart.CodeAccessDenied, "the user did not allow the app"), nil
}

// redeemCode answers a token request with grant_type=authorization_code.
// The code is spent by the first request that names it, whatever the
// outcome, so it cannot be tried twice; a code that comes back after it
// issued a token revokes that token (RFC 6749 section 4.1.2: it was
// stolen, or the app is broken). Every refusal is the same invalid_grant.
func (s *Service) redeemCode(ctx context.Context, form url.Values, addr string) (smart.TokenResponse, error) {
	req, err := smart.ParseCodeRequest(form)
	if err != nil {
		var oe *smart.Error
		if errors.As(err, &oe) {
			s.refusedApp(ctx, form.Get("client_id"), "", oe.Description, addr)
		}
		return smart.TokenResponse{}, err
	}
	partition, crow, ok := splitClientID(req.ClientID)
	if !ok {
		s.refusedApp(ctx, "", "", "unknown client", addr)
		return smart.TokenResponse{}, &smart.Error{Code: smart.CodeInvalidClient, Description: "unknown client", Status: 401}
	}
	codePartition, codeRow, ok := bearer(req.Code).split()
	if !ok || codePartition != partition {
		// Malformed, or a code of another organisation's app.
		s.refusedApp(ctx, req.ClientID, "", "code not valid", addr)
		return smart.TokenResponse{}, smart.InvalidGrant()
	}
	var (
		refusal  *smart.Error // a refusal to answer once the transaction has committed
		tok      bearer
		granted  []string
		noClient bool
	)
	err = s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		var app apiClient
		if _, err := sealedrow.Get(tx, tk, kindClient, crow, &app); errors.Is(err, haven.ErrNotFound) || err == nil && app.Kind != clientKindStaffApp {
			noClient = true
			return nil
		} else if err != nil {
			return err
		}
		var c authCode
		v, err := sealedrow.Get(tx, tk, kindCode, codeRow, &c)
		if errors.Is(err, haven.ErrNotFound) {
			refusal = smart.InvalidGrant()
			return s.recordRefusedApp(tx, req.ClientID, "", "code not valid", addr)
		} else if err != nil {
			return err
		}
		now := s.Now().UTC()
		if c.Used {
			why := "code used again"
			if c.Token != "" {
				if err := tx.Delete(kindToken, c.Token); err != nil && !errors.Is(err, haven.ErrNotFound) {
					return err
				}
				c.Token = ""
				why = "code used again; the token it issued is revoked"
				if _, err := sealedrow.Put(tx, tk, kindCode, codeRow, v, &c, now); err != nil {
					return err
				}
			}
			refusal = smart.InvalidGrant()
			return s.recordRefusedApp(tx, req.ClientID, c.Account, why, addr)
		}
		c.Used = true
		why := ""
		switch {
		case !now.Before(c.Expires):
			why = "code expired"
		case subtle.ConstantTimeCompare([]byte(c.Client), []byte(req.ClientID)) != 1:
			why = "code issued to another app"
		case subtle.ConstantTimeCompare([]byte(c.RedirectURI), []byte(req.RedirectURI)) != 1:
			why = "redirect_uri does not match"
		case !smart.VerifyPKCE(req.Verifier, c.Challenge):
			why = "code_verifier does not match"
		}
		var role haven.Role
		if why == "" {
			// The approving session must still be live, unfrozen and its
			// account's: a code outliving a sign-out gets nothing.
			ss, err := s.loadSession(tx, tk, c.Session)
			switch {
			case errors.Is(err, errDropped), errors.Is(err, ErrSession):
				why = "the session that approved the app has ended"
			case err != nil:
				return err
			case !ss.FullyAuthenticated() || ss.Frozen || ss.AccountID != c.Account || !slices.Contains(LaunchRoles, ss.Account.Role):
				why = "the session that approved the app cannot be used"
			default:
				role = ss.Account.Role
			}
		}
		if why == "" {
			tok = newBearer(partition)
			_, trow, _ := tok.split()
			t := accessToken{Client: c.Client, Scopes: c.Scopes, Expires: now.Add(TokenLife), Account: c.Account, Session: c.Session}
			if _, err := sealedrow.Put(tx, tk, kindToken, trow, 0, &t, now); err != nil {
				return err
			}
			c.Token, granted = trow, c.Scopes
		}
		// Concurrent exchanges of one code: the second write conflicts
		// on the version and its transaction fails, issuing nothing.
		if _, err := sealedrow.Put(tx, tk, kindCode, codeRow, v, &c, now); err != nil {
			return err
		}
		s.pruneExpired(tx, now)
		if why != "" {
			refusal = smart.InvalidGrant()
			return s.recordRefusedApp(tx, req.ClientID, c.Account, why, addr)
		}
		return s.record(tx, event{actor: c.Account, role: string(role), action: ActionTokenIssue, recordID: c.Client, addr: addr, purpose: strings.Join(granted, " ")})
	})
	switch {
	case errors.Is(err, errNoPartition):
		noClient = true
	case errors.Is(err, haven.ErrConflict):
		s.refusedApp(ctx, req.ClientID, "", "code exchanged twice at once", addr)
		return smart.TokenResponse{}, smart.InvalidGrant()
	case err != nil:
		return smart.TokenResponse{}, err
	}
	if noClient {
		s.refusedApp(ctx, "", "", "unknown client", addr)
		return smart.TokenResponse{}, &smart.Error{Code: smart.CodeInvalidClient, Description: "unknown client", Status: 401}
	}
	if refusal != nil {
		return smart.TokenResponse{}, refusal
	}
	return smart.NewTokenResponse(string(tok), TokenLife, granted)
}

// refusedApp records a refused code exchange in the app's tenant when the
// client id names one, else in the supplier partition (as refused).
func (s *Service) refusedApp(ctx context.Context, clientID, account, why, addr string) {
	if _, _, ok := splitClientID(clientID); !ok {
		s.refused(ctx, "", why, addr)
		return
	}
	partition, _, _ := splitClientID(clientID)
	err := s.in(ctx, partition, func(tx store.Tx, _ *seal.TenantKey) error {
		return s.recordRefusedApp(tx, clientID, account, why, addr)
	})
	if errors.Is(err, errNoPartition) {
		s.refused(ctx, "", why, addr)
	}
}

func (s *Service) recordRefusedApp(tx store.Tx, clientID, account, why, addr string) error {
	actor := account
	if actor == "" {
		actor = clientID
	}
	return s.record(tx, event{actor: actor, role: "staff-app", action: ActionTokenRefused, recordID: clientID, outcome: "denied", addr: addr, purpose: why})
}

// tokenSession is the principal of a staff app's token: the account of
// the web session the token was approved in, if that session is still
// live (not expired, ended or frozen) and its account still active.
// Anything else is haven.ErrNotFound: the token no longer works.
func (s *Service) tokenSession(tx store.Tx, tk *seal.TenantKey, t accessToken) (haven.Principal, error) {
	var r sessionRecord
	if _, err := sealedrow.Get(tx, tk, kindSession, t.Session, &r); err != nil {
		return haven.Principal{}, err
	}
	if r.Stage != StageMFA || r.Frozen || r.AccountID != t.Account || !s.Now().Before(s.expiry(&r)) {
		return haven.Principal{}, haven.ErrNotFound
	}
	a, err := loadAccount(tx, tk, t.Account)
	if err != nil {
		return haven.Principal{}, err
	}
	if a.IsLocked() || a.Status != StatusActive || !slices.Contains(LaunchRoles, a.Role) {
		return haven.Principal{}, haven.ErrNotFound
	}
	return haven.Principal{ID: a.ID, Role: a.Role, StaffID: a.StaffID, SessionID: t.Session}, nil
}
