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
	w.Header().Set("Content-Type", ContentType+"; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeOutcome answers with one issue.
func writeOutcome(w http.ResponseWriter, status int, code, diagnostics string, expression ...string) {
	writeResource(w, status, OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{
		Severity: "error", Code: code, Diagnostics: diagnostics, Expression: expression}}})
}

// outcome turns an error from the record service into the right answer.
// Not found and "not yours" across tenants look the same (404), since the
// store answers not found for another tenant's ids; a refusal by policy
// inside the tenant is 403 with policy's reason; the guard's containment is
// 429, as the client must stop.
func outcome(w http.ResponseWriter, log *slog.Logger, err error) {
	var inv *haven.InvalidError
	var denied *care.DeniedError
	switch {
	case errors.As(err, &inv):
		var expr []string
		if inv.Field != "" {
			expr = []string{inv.Field}
		}
		writeOutcome(w, http.StatusBadRequest, "invalid", inv.Error(), expr...)
	case errors.Is(err, care.ErrContained):
		w.Header().Set("Retry-After", "3600")
		writeOutcome(w, http.StatusTooManyRequests, "throttled", care.ErrContained.Reason)
	case errors.As(err, &denied):
		writeOutcome(w, http.StatusForbidden, "forbidden", denied.Reason)
	case errors.Is(err, haven.ErrNotFound):
		writeOutcome(w, http.StatusNotFound, "not-found", "no such resource")
	case errors.Is(err, haven.ErrConflict):
		writeOutcome(w, http.StatusConflict, "conflict", "the resource was changed by someone else; read it again")
	case errors.Is(err, haven.ErrForbidden):
		writeOutcome(w, http.StatusForbidden, "forbidden", "not permitted")
	default:
		log.Error("FHIR request failed", "err", err)
		writeOutcome(w, http.StatusInternalServerError, "exception", "something went wrong in Haven; the request may be retried")
	}
}
