package fhir

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// OperationOutcome is FHIR's error body. Every failure of the FHIR API is
// one, with the 4xx that says what went wrong; a 5xx means Haven failed, and
// says nothing of why.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one problem in an OperationOutcome.
type Issue struct {
	Severity    string   `json:"severity"` // error, warning
	Code        string   `json:"code"`     // FHIR issue-type
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// ContentType is the only media type the API speaks.
const ContentType = "application/fhir+json"

func writeResource(w http.ResponseWriter, status int, v any) {
	startResource(w, status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeEncoded answers with a resource already encoded as writeResource
// would encode it.
func writeEncoded(w http.ResponseWriter, status int, body []byte) {
	startResource(w, status)
	_, _ = w.Write(body)
}

func startResource(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", ContentType+"; charset=utf-8")
	w.WriteHeader(status)
}

// WriteInvalid answers 400 with an OperationOutcome of one "invalid" issue:
// for a request the web layer refuses before any FHIR handler sees it.
func WriteInvalid(w http.ResponseWriter, diagnostics string) {
	writeOutcome(w, http.StatusBadRequest, "invalid", diagnostics)
}

// writeOutcome answers with one issue.
func writeOutcome(w http.ResponseWriter, status int, code, diagnostics string, expression ...string) {
	writeResource(w, status, OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{
		Severity: "error", Code: code, Diagnostics: diagnostics, Expression: expression}}})
}

// problem is how one error is answered.
type problem struct {
	status      int
	code        string // FHIR issue type
	diagnostics string
	expression  []string
	retryAfter  string
}

// classify decides the answer to an error from the record service or the
// API itself. Not found and "not yours" across tenants look the same (404),
// since the store answers not found for another tenant's ids; a refusal by
// policy inside the tenant is 403 with policy's reason; the guard's
// containment is 429, as the client must stop. Anything unrecognised is
// Haven's own failure: 500, saying nothing of why.
func classify(err error) problem {
	var inv *haven.InvalidError
	var denied *care.DeniedError
	var re *ruleError
	var pre *preconditionError
	var oe *care.OpError
	var fe *forbiddenError
	switch {
	case errors.As(err, &fe):
		return problem{status: http.StatusForbidden, code: "forbidden", diagnostics: fe.reason}
	case errors.As(err, &re) && re.code == "not-supported":
		return problem{status: http.StatusNotFound, code: re.code, diagnostics: re.reason}
	case errors.As(err, &re):
		return problem{status: http.StatusUnprocessableEntity, code: re.code, diagnostics: re.reason}
	case errors.As(err, &pre):
		return problem{status: http.StatusPreconditionFailed, code: "multiple-matches", diagnostics: pre.reason}
	case errors.As(err, &inv):
		var expr []string
		if inv.Field != "" {
			expr = []string{inv.Field}
		}
		return problem{status: http.StatusBadRequest, code: "invalid", diagnostics: inv.Error(), expression: expr}
	case errors.Is(err, care.ErrContained):
		return problem{status: http.StatusTooManyRequests, code: "throttled", diagnostics: care.ErrContained.Reason, retryAfter: "3600"}
	case errors.As(err, &denied):
		return problem{status: http.StatusForbidden, code: "forbidden", diagnostics: denied.Reason}
	case errors.Is(err, haven.ErrNotFound):
		return problem{status: http.StatusNotFound, code: "not-found", diagnostics: "no such resource"}
	case errors.Is(err, haven.ErrConflict):
		return problem{status: http.StatusConflict, code: "conflict", diagnostics: "the resource exists or was changed by someone else; read it again"}
	case errors.Is(err, haven.ErrForbidden):
		return problem{status: http.StatusForbidden, code: "forbidden", diagnostics: "not permitted"}
	case errors.As(err, &oe):
		return classify(oe.Err)
	}
	return problem{status: http.StatusInternalServerError, code: "exception", diagnostics: "something went wrong in Haven; the request may be retried"}
}

func (pr problem) outcome() OperationOutcome {
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{
		Severity: "error", Code: pr.code, Diagnostics: pr.diagnostics, Expression: pr.expression}}}
}

// outcome answers an error with its OperationOutcome, logging Haven's own
// failures.
func outcome(w http.ResponseWriter, log *slog.Logger, err error) {
	pr := classify(err)
	if pr.status >= 500 {
		log.Error("FHIR request failed", "err", err)
	}
	if pr.retryAfter != "" {
		w.Header().Set("Retry-After", pr.retryAfter)
	}
	writeResource(w, pr.status, pr.outcome())
}
