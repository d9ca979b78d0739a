// Package haven holds Haven's domain: the care records a care organisation
// keeps, the principals that act on them, and the errors every layer shares.
//
// It depends on nothing else in Haven. Storage, cryptography, audit and the
// HTTP and command-line adapters sit in packages around it and import it.
package haven

import (
	"errors"
	"fmt"
)

// Errors shared by every layer. Wrap them with %w and the operation's name;
// adapters map them to HTTP statuses and exit codes.
var (
	// ErrNotFound means the record does not exist in the caller's tenant. It is
	// also the answer for a record that exists in another tenant: existence is
	// never revealed across tenants.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the record changed since the caller read it.
	ErrConflict = errors.New("version conflict")
	// ErrForbidden means the principal may not perform the action.
	ErrForbidden = errors.New("forbidden")
	// ErrAuditUnavailable means the access could not be recorded, so it did
	// not happen (invariant 5: fail closed).
	ErrAuditUnavailable = errors.New("audit log unavailable: access refused")
)

// InvalidError reports input that breaks a rule of the domain. Field names
// the offending field in the JSON form; Reason is plain English for users.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return "invalid input: " + e.Reason
	}
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// Invalid returns an *InvalidError for field.
func Invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
