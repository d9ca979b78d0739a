// Package smart is the verifying side of SMART on FHIR Backend Services
// (SMART App Launch v2): the OAuth 2.0 client_credentials grant in which a
// backend client authenticates with a JWT it signed with its own private key
// (private_key_jwt, RFC 7523), then receives a short-lived access token limited
// to the system/ scopes a tenant administrator allowed it.
//
// The package holds no HTTP handler and issues no tokens. The caller parses
// the form with [ParseRequest], authenticates the client with
// [Verifier.Verify], narrows the scopes with [GrantScopes], then mints a token
// and answers with a [TokenResponse]. Every failure a client caused is an
// [*Error] carrying the OAuth error code and a description safe to return;
// any other error is the server's fault (a store that could not be read) and
// should be answered with a 500 that says nothing more.
//
// launch.go checks the other way in, SMART App Launch (standalone) for
// staff apps: public clients using the authorization code grant with PKCE
// S256 ([ParseAuthorizeRequest], [AuthorizeRequest.Check], [VerifyPKCE],
// [ParseCodeRequest]) and user/ scopes ([GrantUserScopes]), which share the
// system/ scopes' grammar. Package auth binds the code and the token to the
// member of staff's web session.
//
// # What is checked
//
// Client keys are registered as a JWK Set, checked once by [ParseJWKS]:
// public keys only, RSA of at least 2048 bits or EC on P-384, a unique kid on
// every key. An assertion must be signed with RS384 or ES384 and name its key
// by kid; the key's type must fit the algorithm. Then iss and sub must both be
// the client_id, aud must be the token endpoint URL exactly, and jti must not
// have been used before by the same client.
//
// # Time
//
// Assertions are one-time and short-lived, so time rules are strict where
// leniency would widen a replay window and lenient only where it cannot:
//
//   - exp is required, must be after now, and no more than
//     [Verifier.MaxAssertionLife] (5 minutes) after now. Neither bound has
//     clock-skew allowance: an expired assertion stays expired, and the upper
//     bound is what limits how long the replay store must remember a jti.
//     Clients whose clocks run ahead should set exp a little under 5 minutes.
//   - nbf and iat are optional; when present they may be up to 60 seconds in
//     the future, so a client whose clock runs slightly ahead is not refused.
//     Neither can extend an assertion's life, which exp alone bounds.
//
// # Replay
//
// A jti is remembered until its assertion's exp, which is when the assertion
// would be refused anyway. [MemoryReplay] does that inside one process; a
// service running more than one instance needs a shared [Replay].
package smart
