package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/policy"
)

// registerAPI registers the JSON API for alerts, break-glass review,
// tenant settings and supplier support.
//
// The API is for the browser session (the same cookie as the pages) and
// answers only JSON. Requests that change anything send the session's
// anti-forgery token in the X-CSRF-Token header and a JSON body of at most
// 64 KiB with no unknown fields. Clients send "Accept: application/json"
// so that the gate's own refusals (not signed in, wrong role, step-up
// needed) come back as JSON too. Errors are {"error": "...", "redirect":
// "..."}: 400 for input that breaks a rule, 403 for a refusal (with
// redirect "/confirm?next=..." when confirming a factor is all that is
// missing), 404 when there is no such thing, 409 when it was already done.
//
// The routes check roles; policy (through package care) decides every
// action all the same.
func (s *Server) registerAPI() {
	reviewers := roles(haven.RoleTenantAdmin, haven.RoleDPO)
	tenantAdmin := roles(haven.RoleTenantAdmin)
	supplierSupport := roles(haven.RoleSupplierSupport)

	// Alerts and the break-glass review queue.
	s.route("GET", "/api/alerts", Signed, s.apiAlerts, reviewers)
	s.route("POST", "/api/alerts/{id}/ack", Signed, s.apiAckAlert, reviewers)
	s.route("GET", "/api/break-glass", Signed, s.apiLeases, reviewers)
	s.route("POST", "/api/break-glass/{id}/review", Signed, s.apiReviewLease, reviewers)

	// Thresholds and the alert channel: changing them can silence
	// detection, and even reading them shows how to stay under them.
	s.route("GET", "/api/settings", Signed, s.apiSettings, tenantAdmin, stepUp)
	s.route("PUT", "/api/settings", Signed, s.apiSetSettings, tenantAdmin, stepUp)

	// Supplier support: request, approval, revocation, and use.
	s.route("GET", "/api/support", Signed, s.apiSupportGrants, roles(haven.RoleTenantAdmin, haven.RoleDPO, haven.RoleSupplierSupport))
	s.route("POST", "/api/support/requests", Signed, s.apiRequestSupport, supplierSupport)
	s.route("POST", "/api/support/{id}/decide", Signed, s.apiDecideSupport, tenantAdmin, stepUp)
	s.route("POST", "/api/support/{id}/revoke", Signed, s.apiRevokeSupport, reviewers)
	s.route("GET", "/api/support/{tenant}/people/{id}", Signed, s.apiSupportPerson, supplierSupport)
}

// Alerts.

func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request, q *request) {
	open, ok := queryBool(w, r, "open")
	if !ok {
		return
	}
	alerts, err := s.care.Alerts(r.Context(), q.principal(), care.AlertQuery{OpenOnly: open})
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if alerts == nil {
		alerts = []care.Alert{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": alerts})
}

type ackBody struct {
	Note string `json:"note"`
}

func (s *Server) apiAckAlert(w http.ResponseWriter, r *http.Request, q *request) {
	var b ackBody
	if !readJSON(w, r, &b) {
		return
	}
	id := r.PathValue("id")
	if err := s.care.AcknowledgeAlert(r.Context(), q.principal(), id, b.Note); err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "acknowledged": true})
}

// Break-glass review.

func (s *Server) apiLeases(w http.ResponseWriter, r *http.Request, q *request) {
	pending, ok := queryBool(w, r, "pending")
	if !ok {
		return
	}
	leases, err := s.care.Leases(r.Context(), q.principal(), pending)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if leases == nil {
		leases = []care.Lease{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"leases": leases})
}

type reviewBody struct {
	// Justified is required: a review that forgot to say must not count
	// as either verdict.
	Justified *bool  `json:"justified"`
	Finding   string `json:"finding"`
}

func (s *Server) apiReviewLease(w http.ResponseWriter, r *http.Request, q *request) {
	var b reviewBody
	if !readJSON(w, r, &b) {
		return
	}
	if b.Justified == nil {
		s.apiFail(w, r, haven.Invalid("justified", "say whether the lease was justified (true or false)"))
		return
	}
	id := r.PathValue("id")
	if err := s.care.ReviewLease(r.Context(), q.principal(), id, *b.Justified, b.Finding); err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "reviewed": true, "justified": *b.Justified})
}

// Settings.

func (s *Server) apiSettings(w http.ResponseWriter, r *http.Request, q *request) {
	st, err := s.care.Settings(r.Context(), q.principal())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, redactSettings(st))
}

// apiSetSettings replaces the tenant's settings with the body. Fields left
// out take their defaults (guard.Defaults), except the webhook secret:
// GET never shows it, so an empty one keeps the stored secret.
func (s *Server) apiSetSettings(w http.ResponseWriter, r *http.Request, q *request) {
	var st guard.Settings
	if !readJSON(w, r, &st) {
		return
	}
	p := q.principal()
	if st.WebhookSecret == "" {
		cur, err := s.care.Settings(r.Context(), p)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		st.WebhookSecret = cur.WebhookSecret
	}
	if err := s.care.SetSettings(r.Context(), p, st); err != nil {
		s.apiFail(w, r, err)
		return
	}
	saved, err := s.care.Settings(r.Context(), p)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, redactSettings(saved))
}

// redactSettings blanks the webhook's signing secret: whoever holds it can
// forge alerts to the tenant's receiver, and nobody needs to read it back.
func redactSettings(st guard.Settings) guard.Settings {
	st.WebhookSecret = ""
	return st
}

// Supplier support.

func (s *Server) apiSupportGrants(w http.ResponseWriter, r *http.Request, q *request) {
	p := q.principal()
	if p.Role == haven.RoleSupplierSupport {
		var ok bool
		if p, ok = s.supportPrincipal(w, r, q, r.URL.Query().Get("tenant")); !ok {
			return
		}
	}
	grants, err := s.care.SupportGrants(r.Context(), p)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if grants == nil {
		grants = []care.SupportGrant{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"grants": grants})
}

type supportRequestBody struct {
	Tenant string `json:"tenant"`
	Ticket string `json:"ticket"`
	Reason string `json:"reason"`
}

func (s *Server) apiRequestSupport(w http.ResponseWriter, r *http.Request, q *request) {
	var b supportRequestBody
	if !readJSON(w, r, &b) {
		return
	}
	p, ok := s.supportPrincipal(w, r, q, b.Tenant)
	if !ok {
		return
	}
	g, err := s.care.RequestSupport(r.Context(), p, b.Ticket, b.Reason)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, g)
}

type decideBody struct {
	// Approve is required: a decision that forgot to say is neither.
	Approve *bool           `json:"approve"`
	Actions []policy.Action `json:"actions"`
	Hours   int             `json:"hours"`
}

func (s *Server) apiDecideSupport(w http.ResponseWriter, r *http.Request, q *request) {
	var b decideBody
	if !readJSON(w, r, &b) {
		return
	}
	if b.Approve == nil {
		s.apiFail(w, r, haven.Invalid("approve", "say whether the request is approved (true or false)"))
		return
	}
	var d time.Duration
	if *b.Approve {
		// Checked here as well as by care: a huge number of hours would
		// overflow the duration and wrap into range.
		if maxHours := int(policy.MaxSupportGrant / time.Hour); b.Hours < 1 || b.Hours > maxHours {
			s.apiFail(w, r, haven.Invalid("hours", "approve for 1 to %d hours", maxHours))
			return
		}
		d = time.Duration(b.Hours) * time.Hour
	}
	g, err := s.care.DecideSupport(r.Context(), q.principal(), r.PathValue("id"), *b.Approve, b.Actions, d)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

func (s *Server) apiRevokeSupport(w http.ResponseWriter, r *http.Request, q *request) {
	// No body is needed; one that is sent must still be JSON, and small.
	var b struct{}
	if !readOptionalJSON(w, r, &b) {
		return
	}
	id := r.PathValue("id")
	if err := s.care.RevokeSupport(r.Context(), q.principal(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "revoked": true})
}

// apiSupportPerson is supplier support reading one person's record in a
// tenant, through that tenant's grant: policy refuses without an approved,
// live grant for read-record, and asks for step-up with one.
func (s *Server) apiSupportPerson(w http.ResponseWriter, r *http.Request, q *request) {
	p, ok := s.supportPrincipal(w, r, q, r.PathValue("tenant"))
	if !ok {
		return
	}
	rec, err := s.care.PersonRecord(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// supportPrincipal is the signed-in supplier-support principal acting in
// tenant. The tenant comes from the request: it grants nothing by itself,
// since policy refuses every action there but asking without that tenant's
// approved grant. It answers the request itself when it returns false.
func (s *Server) supportPrincipal(w http.ResponseWriter, r *http.Request, q *request, tenant string) (haven.Principal, bool) {
	p := q.principal()
	if p.Role != haven.RoleSupplierSupport || p.TenantID != "" {
		writeJSONError(w, http.StatusForbidden, "Only supplier support acts in another care organisation.", "")
		return p, false
	}
	if tenant == "" {
		s.apiFail(w, r, haven.Invalid("tenant", "name the care organisation"))
		return p, false
	}
	// Haven's own partitions (the supplier's) are no care organisation,
	// and a tenant that does not exist has nothing to ask for.
	known := false
	if haven.ValidTenantID(tenant) && !haven.ReservedTenantID(tenant) {
		ts, err := s.care.Store().Tenants(r.Context())
		if err != nil {
			s.apiFail(w, r, err)
			return p, false
		}
		for _, t := range ts {
			if t.ID == tenant {
				known = true
				break
			}
		}
	}
	if !known {
		writeJSONError(w, http.StatusNotFound, "There is no such care organisation.", "")
		return p, false
	}
	p.SupportTenant = tenant
	return p, true
}

// Reading requests and answering errors.

// readJSON decodes the request's JSON body into v: one object of at most
// maxJSONBody bytes, no unknown fields, nothing after it. It answers the
// request itself when it returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBody(w, r, v, false)
}

// readOptionalJSON is readJSON for endpoints whose body may be empty.
func readOptionalJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBody(w, r, v, true)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The body is larger than %d KiB.", maxJSONBody>>10), "")
			return false
		}
		writeJSONError(w, http.StatusBadRequest, "The body could not be read.", "")
		return false
	}
	trimmed := strings.TrimSpace(string(raw))
	if trimmed == "" && optional {
		return true
	}
	if !strings.HasPrefix(trimmed, "{") {
		writeJSONError(w, http.StatusBadRequest, "Send a JSON object as the body.", "")
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSONError(w, http.StatusUnsupportedMediaType, "Send the body as JSON (Content-Type: application/json).", "")
		return false
	}
	// A JSON string can spell a NUL (\u0000), which no id or text of
	// Haven's can hold and PostgreSQL refuses outright.
	if spellsNUL(trimmed) {
		writeJSONError(w, http.StatusBadRequest, `The body holds a NUL character (\u0000), which no value can hold.`, "")
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSONError(w, http.StatusBadRequest, "The body is not valid: "+jsonProblem(err)+".", "")
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeJSONError(w, http.StatusBadRequest, "The body must be one JSON object and nothing after it.", "")
		return false
	}
	return true
}

// spellsNUL reports whether JSON text holds the escape \u0000: a backslash
// that is not itself escaped, then u0000. (Raw control characters are not
// valid JSON, and no other escape decodes to a NUL.)
func spellsNUL(s string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], `u0000`)
		if j < 0 {
			return false
		}
		j += i
		slashes := 0
		for k := j - 1; k >= 0 && s[k] == '\\'; k-- {
			slashes++
		}
		if slashes%2 == 1 {
			return true
		}
		i = j + 1
	}
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("%s must be %s", typ.Field, jsonType(typ.Type.Kind().String()))
		}
		return "expected " + jsonType(typ.Type.Kind().String())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	// Errors from a field's own decoder (a duration that does not parse)
	// say what was expected.
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonType(kind string) string {
	switch kind {
	case "bool":
		return "true or false"
	case "int", "int64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	}
	return "of another type"
}

// queryBool reads a true/false query parameter ("1", "true", "0", ...);
// absent is false.
func queryBool(w http.ResponseWriter, r *http.Request, name string) (bool, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("?%s= is 1 or 0 (true or false).", name), "")
		return false, false
	}
	return b, true
}

// apiFail answers an error from the record service as JSON.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	var inv *haven.InvalidError
	var denied *care.DeniedError
	switch {
	case errors.As(err, &inv):
		writeJSONError(w, http.StatusBadRequest, sentence(inv), "")
	case errors.As(err, &denied) && denied.NeedStepUp:
		// As askStepUp, always in JSON: a state-changing request cannot be
		// replayed after the detour, so it returns to the home page.
		next := r.URL.Path
		if stateChanging(r.Method) {
			next = "/"
		}
		writeJSONError(w, http.StatusForbidden, "Confirm it is you first.", "/confirm?next="+url.QueryEscape(next))
	case errors.As(err, &denied):
		msg := "This is not allowed."
		if denied.Reason != "" {
			msg = sentence(errors.New(denied.Reason))
		}
		writeJSONError(w, http.StatusForbidden, msg, "")
	case errors.Is(err, haven.ErrForbidden):
		writeJSONError(w, http.StatusForbidden, "Your role does not allow this.", "")
	case errors.Is(err, haven.ErrNotFound):
		writeJSONError(w, http.StatusNotFound, "There is nothing here, or you do not have access to it.", "")
	case errors.Is(err, haven.ErrConflict):
		writeJSONError(w, http.StatusConflict, sentence(errors.New(conflictReason(err))), "")
	default:
		s.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSONError(w, http.StatusInternalServerError, "Something went wrong. Try again later.", "")
	}
}

// conflictReason is what a conflict error says before the wrapped
// haven.ErrConflict ("alert X was acknowledged by Y"), without the name of
// the operation the record service puts in front.
func conflictReason(err error) string {
	m := err.Error()
	m = strings.TrimSuffix(m, ": "+haven.ErrConflict.Error())
	if i := strings.Index(m, ": "); i >= 0 && !strings.Contains(m[:i], " ") {
		m = m[i+2:] // "alert-ack: alert X was ..." → "alert X was ..."
	}
	if m == "" || m == haven.ErrConflict.Error() {
		return "this was changed or done already"
	}
	return m
}
