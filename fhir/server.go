// Package fhir is Haven's FHIR R4 API at /fhir: the language of health
// systems over the same record service, policy, guard and audit log as the
// browser. Systems authenticate with SMART Backend Services access tokens:
// the principal is the API client, with the scopes its token carries, and
// policy allows only what those scopes cover. Staff apps (SMART App Launch)
// get tokens that act as the member of staff who approved them: policy
// applies that person's caseload, and the token's user/ scopes only narrow
// it further.
//
// docs/fhir.md says what is served and how each type maps to Haven's
// records; GET /fhir/metadata lists exactly that.
package fhir

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/smart"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/policy"
)

// Server answers FHIR requests.
type Server struct {
	auth   *auth.Service
	care   *care.Service
	origin string
	log    *slog.Logger
	// exports are the Bulk Data jobs, kept in memory only.
	exports exports
}

// New returns the FHIR API of the services, reached at origin + "/fhir".
func New(a *auth.Service, c *care.Service, origin string, log *slog.Logger) *Server {
	return &Server{auth: a, care: c, origin: strings.TrimRight(origin, "/"), log: log}
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// ScopeAllows is the record service's scope check for API clients: the
// token's SMART scopes must cover the resource type the kind is served as,
// with search for listing, read for reading, both create and update for
// writing (policy does not tell a create from an update) and delete for
// deleting. The organisation's own records (staff as Practitioner, and the
// Practitioners, PractitionerRoles and Organizations it keeps) are one
// policy action whatever their type, so the scope is asked about the type
// the kind is served as: another type's scope reaches none of them. Home
// access is served as no type: it is never available through the API. The
// audit log (read-audit) needs system/AuditEvent.rs among the named scopes,
// those the client was registered with by type, as a bulk export needs
// each type named: a wildcard does not cover it (auditScope).
func ScopeAllows(scopes, named []string, a policy.Action, k haven.Kind) bool {
	switch a {
	case policy.ReadAudit:
		return auditScope(named)
	case policy.ListPeople:
		return smart.Permits(scopes, "Patient", "s")
	}
	t, ok := typeOfKind(k)
	if !ok {
		return false
	}
	switch a {
	case policy.ListStaff:
		return smart.Permits(scopes, t.name, "s")
	case policy.ReadRecord, policy.ReadStaff:
		return smart.Permits(scopes, t.name, "r")
	case policy.WriteRecord:
		return smart.Permits(scopes, t.name, "cu")
	case policy.DeleteRecord:
		return smart.Permits(scopes, t.name, "d")
	}
	return false
}

// principal authenticates the bearer token. It answers the request itself
// (401) and returns false when there is none or it is not valid.
func (s *Server) principal(w http.ResponseWriter, r *http.Request) (haven.Principal, bool) {
	// The scheme is case-insensitive (RFC 9110 section 11.1): "bearer" is
	// Bearer.
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok = ok && strings.EqualFold(scheme, "Bearer"); ok {
		g, err := s.auth.AuthenticateToken(r.Context(), strings.TrimSpace(tok), clientAddr(r))
		if err == nil {
			// A backend client's token acts as the client (api-client); a
			// staff app's as the member of staff who approved it, with
			// their role, staff record and web session, so that policy
			// (caseload), the guard's budgets and containment, and the
			// audit log treat it as they treat that person's browser.
			// Scopes are those of the token's own context (auth keeps
			// system/ for clients, user/ for apps) and never nil: for a
			// member of staff, carrying scopes is what makes the record
			// service narrow their access by them (care/facts.go).
			p := g.Principal
			p.Scopes = append([]string{}, g.Scopes...)
			p.NamedScopes = append([]string{}, g.NamedScopes...)
			p.Purpose = "API: " + r.Method + " " + r.URL.Path
			if p.Role != haven.RoleAPIClient {
				p.Purpose = "API (app " + g.Client + "): " + r.Method + " " + r.URL.Path
			}
			return p, true
		}
		if !errors.Is(err, auth.ErrSession) {
			outcome(w, s.log, err)
			return haven.Principal{}, false
		}
	}
	// RFC 6750 section 3.1: a request that carried no token gets the
	// challenge without an error code; one whose token failed is told so.
	challenge := `Bearer realm="haven"`
	if ok {
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeOutcome(w, http.StatusUnauthorized, "login", "a valid SMART access token is required (POST /fhir/auth/token; staff apps: GET /fhir/auth/authorize first)")
	return haven.Principal{}, false
}

func clientAddr(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// acceptable reports whether the client accepts FHIR JSON, answering 406
// itself when it does not. _format, when given, overrides Accept (R4
// http.html#mime), so a client asking for XML that way is told it will not
// get it rather than sent JSON. No Accept header means anything; a media
// range with q=0 is one the client refuses (RFC 9110 12.4.2).
func acceptable(w http.ResponseWriter, r *http.Request) bool {
	if formats, ok := r.URL.Query()["_format"]; ok {
		for _, f := range formats {
			if !jsonFormat(f) {
				writeOutcome(w, http.StatusNotAcceptable, "not-supported", "Haven answers only "+ContentType+"; _format "+quoteShort(f)+" is not served")
				return false
			}
		}
		return true
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, err := strconv.ParseFloat(params["q"], 64); err == nil && q <= 0 {
			continue
		}
		switch mt {
		case ContentType, "application/json", "application/fhir+ndjson", "application/ndjson", "application/*", "*/*":
			return true
		}
	}
	writeOutcome(w, http.StatusNotAcceptable, "not-supported", "Haven answers only "+ContentType)
	return false
}

// jsonFormat reports whether a _format value names JSON: "json" or a JSON
// media type. A "+" left unescaped in a query string arrives as a space,
// so "application/fhir json" is read as the client meant it.
func jsonFormat(f string) bool {
	if f == "json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(strings.ReplaceAll(strings.TrimSpace(f), " ", "+"))
	return err == nil && (mt == ContentType || mt == "application/json")
}

// body reads a request body of FHIR JSON, answering 415 or 413 itself.
func body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != ContentType && mt != "application/json") {
		writeOutcome(w, http.StatusUnsupportedMediaType, "not-supported", "send "+ContentType)
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeOutcome(w, http.StatusRequestEntityTooLarge, "too-costly", "the body is larger than 1 MiB")
		return nil, false
	}
	return b, true
}

// meta sets ETag and Last-Modified from a record's version and time.
func setMeta(w http.ResponseWriter, m care.Meta) {
	w.Header().Set("ETag", `W/"`+strconv.FormatInt(m.Version, 10)+`"`)
	if t, err := time.Parse(time.RFC3339Nano, m.Updated); err == nil {
		w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	}
}

// ifMatch reads a weak or strong ETag holding a version.
func ifMatch(r *http.Request) (int64, bool) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}

// Unsupported answers any other /fhir path with a 404 OperationOutcome
// naming what is not served, so a client learns it from the API rather than
// from an HTML page.
func (s *Server) Unsupported(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/fhir/")
	typ, _, _ := strings.Cut(rest, "/")
	writeOutcome(w, http.StatusNotFound, "not-supported", "Haven does not serve "+r.Method+" /fhir/"+typ+" in this version; GET /fhir/metadata lists what it serves")
}
