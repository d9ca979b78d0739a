package smart

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/url"
	"strings"
)

// SMART App Launch v2, standalone launch, for public clients: the OAuth 2.0
// authorization code grant (RFC 6749 section 4.1) with PKCE (RFC 7636,
// S256 only). This file checks the shape of what an app sends; the caller
// (package auth) looks the app up, binds the code to a signed-in member of
// staff, stores it and issues the token.

// Fixed values of the authorization code flow.
const (
	GrantTypeAuthorizationCode = "authorization_code"
	ResponseTypeCode           = "code"
	// PKCEMethodS256 is the only code_challenge_method accepted: "plain"
	// would put the verifier itself in the browser's address bar.
	PKCEMethodS256 = "S256"
	// AuthorizePath is the authorization endpoint under the base URL.
	AuthorizePath = "/fhir/auth/authorize"
)

// Limits on what an authorization request may carry. They are far above
// what a real app sends and bound what is echoed into pages and redirects.
const (
	maxStateBytes       = 1024
	maxRedirectURIBytes = 2000
	maxParamBytes       = 512
)

// ignoredLaunchScopes are SMART scopes an app may ask for that Haven does
// not grant, and drops without refusing the request (the token response's
// scope says what was granted): OpenID Connect identity (there is no
// id_token), launch context (standalone launch has no patient picker; staff
// choose people inside the app, within their own caseload) and refresh
// tokens (none are issued; see docs/fhir.md).
var ignoredLaunchScopes = map[string]bool{
	"openid": true, "fhirUser": true, "profile": true,
	"launch": true, "launch/patient": true, "launch/encounter": true,
	"offline_access": true, "online_access": true,
}

// GrantUserScopes is GrantScopes for a member of staff's app: it
// intersects the requested scopes with the user/ scopes the tenant
// administrator allowed the app. Only user/ scopes are granted; a system/
// or patient/ scope in the request refuses it with invalid_scope (a staff
// member's token never carries another context, so nothing can mistake it
// for a backend service's). The SMART scopes in ignoredLaunchScopes are
// dropped. Well-formed user/ scopes the app is not allowed are dropped; a
// request of which nothing remains is refused.
func GrantUserScopes(requested string, allowed []string) ([]string, error) {
	return grant(grantRules{
		context:      contextUser,
		ignored:      ignoredLaunchScopes,
		otherContext: "a staff app acts as its user and can request only user/ scopes: ",
		noScope:      "scope is required: ask for user/ scopes such as user/Patient.rs",
		noneAllowed:  "none of the requested scopes is allowed for this app",
	}, requested, allowed)
}

// ValidateUserScopes checks the scopes an administrator allows a staff
// app: user/ scopes only.
func ValidateUserScopes(allowed []string) error { return validateIn(contextUser, allowed) }

// OnlyUserScopes keeps the user/ scopes of granted that parse, and
// OnlySystemScopes the system/ ones: a token carries scopes of its own
// context only, whatever its stored row says.
func OnlyUserScopes(granted []string) []string { return onlyContext(contextUser, granted) }

// OnlySystemScopes: see OnlyUserScopes.
func OnlySystemScopes(granted []string) []string { return onlyContext(contextSystem, granted) }

func onlyContext(context string, granted []string) []string {
	out := []string{}
	for _, g := range granted {
		if _, ok := parseScopeIn(context, g); ok {
			out = append(out, g)
		}
	}
	return out
}

// UserPermissions returns what the user/ scopes among granted permit,
// spelled in the system/ form that Permits (and so the record service's
// ScopeAllows) reads. The two contexts share one grammar and differ only
// in who acts, which the caller knows from the principal; the caller uses
// the result only to narrow what that member of staff may do anyway.
// Scopes of every other context are dropped: a system/ scope on a member
// of staff's token grants nothing.
func UserPermissions(granted []string) []string {
	out := []string{}
	for _, g := range granted {
		if _, ok := parseScopeIn(contextUser, g); ok {
			out = append(out, contextSystem+strings.TrimPrefix(g, contextUser))
		}
	}
	return out
}

// DescribeScope says in plain words what a user/ or system/ scope lets an
// app do, for the consent page. A scope that does not parse is returned
// as it is.
func DescribeScope(s string) string {
	sc, ok := parseScopeIn(contextUser, s)
	if !ok {
		if sc, ok = parseScopeIn(contextSystem, s); !ok {
			return s
		}
	}
	var verbs []string
	for i, v := range []string{"create", "read", "update", "delete", "search"} {
		if sc.perms&(1<<i) != 0 {
			verbs = append(verbs, v)
		}
	}
	words := verbs[0]
	if n := len(verbs); n > 1 {
		words = strings.Join(verbs[:n-1], ", ") + " and " + verbs[n-1]
	}
	words = strings.ToUpper(words[:1]) + words[1:]
	what := "records of every kind"
	if sc.resource != "*" {
		what = sc.resource + " records"
	}
	out := words + " " + what
	if sc.query != "" {
		out += " (only those matching " + sc.query + ")"
	}
	return out
}

// AuthorizeRequest is an authorization request as the app sent it.
type AuthorizeRequest struct {
	ResponseType        string
	ClientID            string
	RedirectURI         string
	Scope               string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
	Aud                 string
	// Launch is the EHR launch context; Haven supports standalone launch
	// only, so a request carrying one is refused.
	Launch string
}

// authorizeParams are the request's parameters, in the order Values
// writes them.
var authorizeParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "aud", "launch"}

// ParseAuthorizeRequest reads an authorization request's parameters. Its
// only refusal is a repeated or oversized parameter, made before the
// redirect_uri can be trusted: the caller shows it on the page and never
// redirects with it.
func ParseAuthorizeRequest(q url.Values) (AuthorizeRequest, error) {
	for _, name := range authorizeParams {
		if len(q[name]) > 1 {
			return AuthorizeRequest{}, newError(CodeInvalidRequest, name+" is repeated")
		}
		limit := maxParamBytes
		switch name {
		case "redirect_uri", "aud":
			limit = maxRedirectURIBytes
		case "scope":
			limit = maxScopeBytes
		case "state":
			limit = maxStateBytes
		}
		if len(q.Get(name)) > limit {
			return AuthorizeRequest{}, newError(CodeInvalidRequest, name+" is too long")
		}
	}
	return AuthorizeRequest{
		ResponseType: q.Get("response_type"), ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"),
		Scope: q.Get("scope"), State: q.Get("state"), CodeChallenge: q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"), Aud: q.Get("aud"), Launch: q.Get("launch"),
	}, nil
}

// Values is the request as parameters again (the consent form carries
// them to its POST).
func (r AuthorizeRequest) Values() url.Values {
	v := url.Values{}
	for i, val := range []string{r.ResponseType, r.ClientID, r.RedirectURI, r.Scope, r.State, r.CodeChallenge, r.CodeChallengeMethod, r.Aud, r.Launch} {
		if val != "" {
			v.Set(authorizeParams[i], val)
		}
	}
	return v
}

// Check makes the checks that come after the app and its redirect_uri are
// known to be registered, so that a refusal can be sent back to the app:
// response_type code, a state, PKCE with S256, aud equal to the FHIR base
// URL audience, and no EHR launch. Scopes are checked by GrantUserScopes.
func (r AuthorizeRequest) Check(audience string) error {
	switch {
	case r.ResponseType == "":
		return newError(CodeInvalidRequest, "response_type is required")
	case r.ResponseType != ResponseTypeCode:
		return newError(CodeUnsupportedResponseType, "response_type must be code")
	case r.State == "":
		// SMART requires state; it is the app's defence against a code
		// injected into its redirect by someone else (CSRF).
		return newError(CodeInvalidRequest, "state is required")
	case !visibleASCII(r.State):
		return newError(CodeInvalidRequest, "state must be printable ASCII")
	case r.CodeChallenge == "" || r.CodeChallengeMethod == "":
		return newError(CodeInvalidRequest, "PKCE is required: send code_challenge and code_challenge_method=S256")
	case r.CodeChallengeMethod != PKCEMethodS256:
		return newError(CodeInvalidRequest, "code_challenge_method must be S256")
	case !ValidCodeChallenge(r.CodeChallenge):
		return newError(CodeInvalidRequest, "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)")
	case r.Aud == "":
		return newError(CodeInvalidRequest, "aud is required: the FHIR base URL the token is for")
	case r.Aud != audience:
		// The app would otherwise hand a token for this server to another
		// (or this token to a look-alike): SMART requires the check.
		return newError(CodeInvalidRequest, "aud is not this server's FHIR base URL")
	case r.Launch != "":
		return newError(CodeInvalidRequest, "EHR launch is not supported; use standalone launch without launch")
	}
	return nil
}

// visibleASCII is RFC 6749 appendix A's VSCHAR set (%x20-7E).
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ValidateRedirectURI checks a redirect URI an administrator registers:
// an absolute https URL, or http on a loopback address only (a native app
// on the same device, RFC 8252 section 7.3); no fragment (RFC 6749 section
// 3.1.2) and no user information. Requests must then name it exactly.
func ValidateRedirectURI(s string) error {
	if s == "" || len(s) > maxRedirectURIBytes || !visibleASCII(s) || strings.ContainsAny(s, " \"<>\\") {
		return errors.New("give an absolute URL of at most 2000 characters")
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("give an absolute URL such as https://app.example/callback")
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return errors.New("a redirect URI may not have a fragment (#...)")
	}
	if u.User != nil {
		return errors.New("a redirect URI may not hold a user name or password")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopbackHost(u.Hostname()) {
			return nil
		}
		return errors.New("http is allowed only on loopback (127.0.0.1, [::1] or localhost); use https")
	}
	return errors.New("a redirect URI must be https (or http on loopback)")
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// RedirectWith is redirectURI with params added to its query (a query the
// registered URI already has is kept, RFC 6749 section 3.1.2).
func RedirectWith(redirectURI string, params url.Values) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return ""
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	u.Fragment = ""
	return u.String()
}

// ValidCodeChallenge reports whether c is shaped like an S256 challenge:
// the unpadded base64url encoding of 32 bytes.
func ValidCodeChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// ValidCodeVerifier is RFC 7636 section 4.1: 43 to 128 characters of
// [A-Z] [a-z] [0-9] "-" "." "_" "~".
func ValidCodeVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// S256 is the code challenge of a verifier.
func S256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// VerifyPKCE reports whether verifier is a valid verifier whose S256
// challenge is challenge, comparing in constant time.
func VerifyPKCE(verifier, challenge string) bool {
	if !ValidCodeVerifier(verifier) || !ValidCodeChallenge(challenge) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(S256(verifier)), []byte(challenge)) == 1
}

// CodeRequest is a token request with grant_type=authorization_code.
type CodeRequest struct {
	Code        string
	RedirectURI string
	ClientID    string
	Verifier    string
}

// maxCodeBytes is longer than any code Haven issues.
const maxCodeBytes = 200

// ParseCodeRequest validates the shape of an authorization code token
// request from a public client. Failures are *Error; nothing is
// authenticated here (the caller checks the code, the app, the redirect
// URI and the verifier together).
func ParseCodeRequest(form url.Values) (CodeRequest, error) {
	for _, name := range []string{"grant_type", "code", "redirect_uri", "client_id", "code_verifier"} {
		if len(form[name]) > 1 {
			return CodeRequest{}, newError(CodeInvalidRequest, name+" is repeated")
		}
	}
	if form.Get("grant_type") != GrantTypeAuthorizationCode {
		return CodeRequest{}, newError(CodeUnsupportedGrantType, "grant_type must be authorization_code")
	}
	// Staff apps are public clients: they hold no secret and no key, and
	// PKCE is what ties the code to the app instance that asked for it. A
	// backend client (it signs assertions) acts for its organisation and
	// has no member of staff to act as.
	if form.Get("client_assertion") != "" || form.Get("client_assertion_type") != "" {
		return CodeRequest{}, newError(CodeUnauthorizedClient, "authorization_code is for staff apps; backend services use client_credentials")
	}
	if form.Get("client_secret") != "" {
		return CodeRequest{}, newError(CodeInvalidRequest, "staff apps are public clients: send no client_secret")
	}
	r := CodeRequest{Code: form.Get("code"), RedirectURI: form.Get("redirect_uri"), ClientID: form.Get("client_id"), Verifier: form.Get("code_verifier")}
	switch {
	case r.ClientID == "":
		return r, newError(CodeInvalidRequest, "client_id is required")
	case r.Code == "":
		return r, newError(CodeInvalidRequest, "code is required")
	case len(r.Code) > maxCodeBytes:
		return r, newError(CodeInvalidGrant, "the code is not valid")
	case r.RedirectURI == "":
		return r, newError(CodeInvalidRequest, "redirect_uri is required")
	case r.Verifier == "":
		return r, newError(CodeInvalidRequest, "code_verifier is required (PKCE)")
	case !ValidCodeVerifier(r.Verifier):
		return r, newError(CodeInvalidGrant, "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
	}
	return r, nil
}

// InvalidGrant is the refusal of a code: unknown, used, expired, for
// another app or redirect URI, or with the wrong verifier. The description
// does not say which, so that a stolen code teaches its holder nothing.
func InvalidGrant() *Error {
	return newError(CodeInvalidGrant, "the code is not valid, has expired or was already used, or does not match the app, redirect_uri or code_verifier")
}

// AuthorizeError is a refusal of an authorization request, for the
// redirect back to the app (RFC 6749 section 4.1.2.1).
func AuthorizeError(code, description string) *Error { return newError(code, description) }
