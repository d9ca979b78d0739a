package smart

import (
	"net/url"
	"strings"
)

// Fixed values of the token request (SMART Backend Services, RFC 7523).
const (
	GrantTypeClientCredentials = "client_credentials"
	ClientAssertionTypeJWT     = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

const (
	// maxAssertionBytes is far above a real assertion (an RS384 JWT signed
	// with a 4096-bit key is under 1.5 KiB) and bounds what the JWT parser
	// is asked to decode.
	maxAssertionBytes = 16 << 10
	// maxScopeBytes bounds the scope string GrantScopes has to split.
	maxScopeBytes = 4 << 10
)

// Request is a parsed token request.
type Request struct {
	// ClientID is the optional client_id form field. RFC 7523 lets a client
	// send it alongside the assertion; when present it must match the
	// assertion's iss, which Verify checks.
	ClientID  string
	Assertion string
	Scope     string
}

// ParseRequest validates the form fields (grant_type, client_assertion_type,
// presence of assertion and scope). Failures are *Error.
//
// It checks shape only; nothing here is authenticated until Verify.
func ParseRequest(form url.Values) (Request, error) {
	// RFC 6749 section 3.2: request parameters MUST NOT be repeated. A
	// repeated field would let two components read different values.
	for _, name := range []string{"grant_type", "scope", "client_id", "client_assertion_type", "client_assertion"} {
		if len(form[name]) > 1 {
			return Request{}, newError(CodeInvalidRequest, name+" is repeated")
		}
	}
	// RFC 6749 section 3.1: a parameter sent without a value is treated as
	// omitted, which form.Get's "" does.
	switch form.Get("grant_type") {
	case GrantTypeClientCredentials:
	case "":
		return Request{}, newError(CodeInvalidRequest, "grant_type is required")
	default:
		return Request{}, newError(CodeUnsupportedGrantType, "grant_type must be client_credentials")
	}
	// A shared secret alongside an assertion is two authentication methods,
	// which RFC 6749 section 2.3 forbids; SMART backend clients have no
	// secret at all.
	if form.Get("client_secret") != "" {
		return Request{}, newError(CodeInvalidRequest, "client_secret is not accepted; authenticate with client_assertion only")
	}
	assertionType, assertion := form.Get("client_assertion_type"), form.Get("client_assertion")
	switch {
	case assertionType == "" && assertion == "":
		return Request{}, invalidClient("client authentication required: send client_assertion_type and client_assertion")
	case assertionType == "":
		return Request{}, newError(CodeInvalidRequest, "client_assertion_type is required")
	case assertionType != ClientAssertionTypeJWT:
		return Request{}, invalidClient("client_assertion_type must be " + ClientAssertionTypeJWT)
	case assertion == "":
		return Request{}, newError(CodeInvalidRequest, "client_assertion is required")
	case len(assertion) > maxAssertionBytes:
		return Request{}, newError(CodeInvalidRequest, "client_assertion is too long")
	}
	scope := form.Get("scope")
	// SMART Backend Services makes scope required, unlike plain
	// client_credentials, so that every token is limited to what was asked.
	if strings.TrimSpace(scope) == "" {
		return Request{}, newError(CodeInvalidRequest, "scope is required")
	}
	if len(scope) > maxScopeBytes {
		return Request{}, newError(CodeInvalidScope, "scope is too long")
	}
	return Request{ClientID: form.Get("client_id"), Assertion: assertion, Scope: scope}, nil
}
