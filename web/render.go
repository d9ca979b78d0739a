package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/care"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one parsed template set per page, each with the layout.
var pages = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"field": func(name, label, hint, typ, autocomplete, value, err string) fieldView {
			return fieldView{Name: name, Label: label, Hint: hint, Type: typ, Autocomplete: autocomplete, Value: value, Error: err}
		},
		"numfield": func(name, label, hint, err string) fieldView {
			return fieldView{Name: name, Label: label, Hint: hint, Type: "text", Autocomplete: "one-time-code", Numeric: true, Width: "10", Error: err}
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Local().Format("2 Jan 2006 15:04")
		},
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/account.html"))
	names := []string{"signin", "factor", "invite", "enrol", "totp", "codes", "home", "account", "staff", "sessions", "clients", "people", "person", "message"}
	out := make(map[string]*template.Template, len(names))
	for _, n := range names {
		t := template.Must(base.Clone())
		if n != "account" {
			template.Must(t.ParseFS(templateFS, "templates/"+n+".html"))
		}
		out[n] = t
	}
	return out
}()

type fieldView struct {
	Name, Label, Hint, Type, Autocomplete, Value, Error, Width string
	Numeric                                                    bool
}

type fieldError struct{ Field, Message string }

// me is the signed-in person as the page header shows them.
type me struct {
	Name, Role, Org string
	Admin, Clinical bool
}

// view is everything any page template reads.
type view struct {
	Title   string
	CSRF    string
	Me      *me
	Errors  []fieldError
	Notice  string
	Message string
	Next    string
	Script  bool
	Wide    bool
	Form    map[string]string

	// Page-specific.
	StepUp, HasPasskey, HasTOTP, Enrolling, MustPasskey bool
	Invite                                              auth.InviteInfo
	Token                                               string
	Secret                                              string
	QR                                                  template.URL
	Codes                                               []string
	Factors                                             []auth.Factor
	RecoveryLeft                                        int
	Sessions                                            []auth.SessionInfo
	Accounts                                            []auth.AccountInfo
	Roles                                               []haven.Role
	Staff                                               []staffOption
	Summary                                             accountSummary
	Link                                                string
	Clients                                             []auth.APIClient
	People                                              []personRow
	Person                                              personRow
	Access                                              []string
	// Denied is policy's reason for not showing a person; CanBreakGlass
	// offers a clinician the break-glass form.
	Denied        string
	CanBreakGlass bool
	Searched      bool
}

// FieldError returns the error message for one form field.
func (v *view) FieldError(field string) string {
	for _, e := range v.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// invalid adds err to the view if it is a field error the user can fix,
// and reports whether it was one.
func (v *view) invalid(err error, defaultField string) bool {
	var inv *haven.InvalidError
	switch {
	case errors.As(err, &inv):
		v.Errors = append(v.Errors, fieldError{Field: inv.Field, Message: inv.Reason})
	case errors.Is(err, auth.ErrSignIn), errors.Is(err, auth.ErrEnrolmentIncomplete), errors.Is(err, auth.ErrPasskeyRequired), errors.Is(err, auth.ErrPasskey):
		v.Errors = append(v.Errors, fieldError{Field: defaultField, Message: sentence(err)})
	default:
		var th *auth.ThrottledError
		if errors.As(err, &th) {
			v.Errors = append(v.Errors, fieldError{Field: defaultField, Message: sentence(err)})
			return true
		}
		return false
	}
	return true
}

// sentence capitalises an error message for display.
func sentence(err error) string {
	m := err.Error()
	if m == "" {
		return m
	}
	if m[0] >= 'a' && m[0] <= 'z' {
		m = string(m[0]-32) + m[1:]
	}
	return m + "."
}

// page renders a page. The view gets the signed-in person and the form
// token filled in.
func (s *Server) page(w http.ResponseWriter, r *http.Request, q *request, status int, name string, v *view) {
	if v.CSRF == "" {
		v.CSRF = s.formToken(w, r, q)
	}
	if v.Form == nil {
		v.Form = map[string]string{}
	}
	if q != nil && q.sess.FullyAuthenticated() {
		a := q.sess.Account
		v.Me = &me{Name: a.Name, Role: string(a.Role), Admin: a.Role == haven.RoleTenantAdmin || a.Role == haven.RoleSupplierOperator, Clinical: clinical(a.Role)}
		if t := a.Tenant(); t != "" && s.cfg.OrgName != nil {
			v.Me.Org = s.cfg.OrgName(r.Context(), t)
		}
	}
	// Render in full before sending anything: a template that fails half-way
	// must not reach the browser as a truncated page with status 200.
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "Sorry, there is a problem with this page.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if len(v.Errors) > 0 && status == http.StatusOK {
		status = http.StatusUnprocessableEntity
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// clinical reports whether a role reads care records. Administrators
// manage staff and settings; the data-protection officer reads the audit
// log; supplier staff belong to no tenant.
func clinical(r haven.Role) bool {
	switch r {
	case haven.RoleCarer, haven.RoleNurse, haven.RoleClinician, haven.RoleCoordinator:
		return true
	}
	return false
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, msg string) {
	if wantsJSON(r) {
		writeJSONError(w, http.StatusForbidden, msg, "")
		return
	}
	s.page(w, r, nil, http.StatusForbidden, "message", &view{Title: "You cannot do that", Message: msg, CSRF: "-"})
}

// badRequest answers 400 with msg, for a request that cannot be read.
func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	if wantsJSON(r) {
		writeJSONError(w, http.StatusBadRequest, msg, "")
		return
	}
	s.page(w, r, nil, http.StatusBadRequest, "message", &view{Title: "That could not be read", Message: msg, CSRF: "-"})
}

// fail answers an unexpected error without detail; the detail goes to the log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var denied *care.DeniedError
	switch {
	case errors.Is(err, haven.ErrNotFound):
		s.page(w, r, nil, http.StatusNotFound, "message", &view{Title: "Not found", Message: "There is nothing here, or you do not have access to it.", CSRF: "-"})
		return
	case errors.As(err, &denied) && denied.NeedStepUp:
		s.askStepUp(w, r)
		return
	case errors.As(err, &denied):
		// Policy's reason is written for the user ("not on this person's
		// care team"); it says why, not what exists.
		msg := strings.ToUpper(denied.Reason[:1]) + denied.Reason[1:] + "."
		s.forbidden(w, r, msg)
		return
	case errors.Is(err, haven.ErrForbidden):
		s.forbidden(w, r, "Your role does not allow this.")
		return
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	if wantsJSON(r) {
		writeJSONError(w, http.StatusInternalServerError, "Something went wrong. Try again later.", "")
		return
	}
	s.page(w, r, nil, http.StatusInternalServerError, "message", &view{Title: "Sorry, there is a problem", Message: "Something went wrong. Try again later.", CSRF: "-"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg, redirect string) {
	body := map[string]string{"error": msg}
	if redirect != "" {
		body["redirect"] = redirect
	}
	writeJSON(w, status, body)
}
