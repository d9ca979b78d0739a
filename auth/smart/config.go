package smart

import (
	"errors"
	"strings"
	"time"
)

// Paths under the service's base URL.
const (
	WellKnownPath = "/fhir/.well-known/smart-configuration"
	TokenPath     = "/fhir/auth/token"
)

// MaxTokenLife is the longest access token this package will describe.
// SMART Backend Services: expires_in SHOULD NOT exceed 300.
const MaxTokenLife = 5 * time.Minute

// Configuration is the document published at GET
// /fhir/.well-known/smart-configuration.
//
// It describes two ways in: SMART Backend Services (client_credentials with
// a private_key_jwt assertion, system/ scopes) for systems, and SMART App
// Launch, standalone, for staff apps (authorization_code with PKCE S256,
// public clients, user/ scopes). issuer is only for sso-openid-connect,
// which Haven does not offer.
type Configuration struct {
	Issuer                                     string   `json:"issuer,omitempty"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	Capabilities                               []string `json:"capabilities"`
}

// NewConfiguration describes the server at baseURL (scheme and host, and a
// path prefix if any; a trailing slash is ignored). Its TokenEndpoint is the
// value to give Verifier.TokenURL, so that the aud clients copy from this
// document is the aud Verify expects.
func NewConfiguration(baseURL string) Configuration {
	algs := make([]string, len(allowedAlgorithms))
	for i, a := range allowedAlgorithms {
		algs[i] = string(a)
	}
	base := strings.TrimRight(baseURL, "/")
	return Configuration{
		AuthorizationEndpoint: base + AuthorizePath,
		TokenEndpoint:         base + TokenPath,
		// private_key_jwt for backend services; "none" (RFC 7591) for staff
		// apps, public clients that prove themselves with PKCE instead.
		TokenEndpointAuthMethodsSupported: []string{"private_key_jwt", "none"},
		// Built from the allow-list Verify uses, so the document cannot
		// advertise an algorithm that would then be refused.
		TokenEndpointAuthSigningAlgValuesSupported: algs,
		GrantTypesSupported:                        []string{GrantTypeClientCredentials, GrantTypeAuthorizationCode},
		ResponseTypesSupported:                     []string{ResponseTypeCode},
		// Never "plain": SMART forbids it.
		CodeChallengeMethodsSupported: []string{PKCEMethodS256},
		// What a client may ask for; each client gets only what its tenant
		// administrator allowed (GrantScopes, GrantUserScopes).
		ScopesSupported: []string{"system/*.rs", "system/*.read", "user/*.cruds", "user/*.rs", "user/*.read"},
		// Backend services are asymmetric confidential clients; staff apps
		// are public clients launched standalone that act as their user.
		// Both scope syntaxes are understood. No refresh tokens, no
		// OpenID Connect, no EHR launch, no patient context.
		Capabilities: []string{"client-confidential-asymmetric", "launch-standalone", "client-public", "permission-user", "permission-v1", "permission-v2"},
	}
}

// TokenResponse is the JSON reply to a successful token request.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"` // always "bearer"
	ExpiresIn   int    `json:"expires_in"` // seconds, at most 300
	// Scope is what was granted, which may be less than was requested.
	Scope string `json:"scope"`
}

// NewTokenResponse builds the reply for a token that expires after life. It
// refuses a life outside [1s, MaxTokenLife] instead of clamping it, because
// expires_in must describe the token actually issued.
func NewTokenResponse(accessToken string, life time.Duration, granted []string) (TokenResponse, error) {
	if life < time.Second || life > MaxTokenLife {
		return TokenResponse{}, errors.New("smart: token life must be between 1s and MaxTokenLife")
	}
	return TokenResponse{
		AccessToken: accessToken,
		TokenType:   "bearer",
		ExpiresIn:   int(life / time.Second),
		Scope:       strings.Join(granted, " "),
	}, nil
}
