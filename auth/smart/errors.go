package smart

import (
	"net/http"
	"time"
)

// OAuth 2.0 error codes (RFC 6749 sections 5.2 and 4.1.2.1). With
// client_credentials the client's own credentials are the grant, and SMART
// requires a failed client assertion to be reported as invalid_client;
// invalid_grant is for an authorization code that does not hold, and
// unauthorized_client for a backend client that tries the staff apps'
// grant. unsupported_response_type and access_denied are sent back to a
// staff app in its redirect.
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidClient           = "invalid_client"
	CodeInvalidScope            = "invalid_scope"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeInvalidGrant            = "invalid_grant"
	CodeUnauthorizedClient      = "unauthorized_client"
	CodeUnsupportedResponseType = "unsupported_response_type"
	CodeAccessDenied            = "access_denied"
	CodeServerError             = "server_error"
)

// Error is an OAuth error response. It marshals to the JSON body RFC 6749
// section 5.2 defines; Status is the HTTP status to send with it.
//
// Descriptions are fixed ASCII phrases, never raw input, because
// error_description may not contain '"' or '\' and is shown to whoever sent
// the request.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Status      int    `json:"-"`
	// RetryAfter, for a refusal of too many requests (429), is how long
	// until the next one may be tried: sent as Retry-After.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	return "smart: " + e.Code + ": " + e.Description
}

// newError sets Status from the code: invalid_client is 401 (the request
// could not be authenticated) and everything else is a 400 bad request.
func newError(code, description string) *Error {
	status := http.StatusBadRequest
	if code == CodeInvalidClient {
		status = http.StatusUnauthorized
	}
	return &Error{Code: code, Description: description, Status: status}
}

func invalidClient(description string) *Error {
	return newError(CodeInvalidClient, description)
}
