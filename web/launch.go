package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/smart"
)

// SMART App Launch (standalone) for staff apps: the authorization endpoint
// with its consent page, and the administrators' page that registers the
// apps. The token endpoint (web/account.go) takes the code; package auth
// does the checking, and docs/fhir.md describes the flow.

func init() {
	// The launch pages use the common layout like every other page.
	for _, n := range []string{"authorize", "apps"} {
		t := template.Must(pages["message"].Clone())
		pages[n] = template.Must(t.ParseFS(templateFS, "templates/"+n+".html"))
	}
}

// registerLaunch registers the launch routes.
func (s *Server) registerLaunch() {
	// Public: the endpoint itself decides what to do without a signed-in
	// session (send the person to sign in and back), because the
	// gate's own redirect would lose the app's request. The consent form's
	// POST is an ordinary signed-in form: anti-forgery token, same origin,
	// multi-factor session, a frozen session sent to confirm a factor.
	s.route("GET", smart.AuthorizePath, Public, s.authorize)
	s.route("POST", smart.AuthorizePath, Signed, s.authorizeDecision, roles(auth.LaunchRoles...))

	tenantAdmin := roles(haven.RoleTenantAdmin)
	s.route("GET", "/admin/apps", Signed, s.appsPage, tenantAdmin)
	s.route("POST", "/admin/apps", Signed, s.registerApp, tenantAdmin, stepUp)
	s.route("POST", "/admin/apps/remove", Signed, s.removeApp, tenantAdmin)
}

// bouncePage sends the browser back to the same address from Haven's own
// page. An app sends people here from its own site, and browsers do not
// send a SameSite=Strict cookie with a navigation another site started
// (not even after redirects); a navigation Haven's page starts carries
// it. Without this, someone already signed in would be asked to sign in
// again.
var bouncePage = template.Must(template.New("bounce").Parse(`<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={{.}}"><title>Continue to Haven</title></head>
<body><p><a href="{{.}}">Continue to Haven</a></p></body></html>
`))

// authorize answers GET /fhir/auth/authorize: check the app's request,
// make sure a member of staff is signed in with two factors, and ask them.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, q *request) {
	l, ok := s.checkLaunch(w, r, q, r.URL.Query())
	if !ok {
		return
	}
	here := localPath(r.URL.RequestURI(), "")
	sess := q.sess
	switch {
	case sess == nil && here != "" && s.cookie(r, "session") == "" && crossSite(r):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = bouncePage.Execute(w, here)
		return
	case sess == nil:
		next := "/sign-in"
		if here != "" {
			next += "?next=" + url.QueryEscape(here)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	case sess.Enrolling:
		http.Redirect(w, r, "/enrol/factor", http.StatusSeeOther)
		return
	case !sess.FullyAuthenticated() || sess.Frozen:
		// A password-only session confirms its factor; a session the guard
		// froze confirms it again. Then back here.
		http.Redirect(w, r, "/confirm?next="+url.QueryEscape(here), http.StatusSeeOther)
		return
	}
	if why := auth.LaunchRefusal(sess, l.App); why != "" {
		s.page(w, r, q, http.StatusForbidden, "message", &view{Title: "You cannot use this app with Haven", Message: why})
		return
	}
	s.consentPage(w, r, q, l, here)
}

// crossSite reports whether the browser says another site started this
// request (a same-site one, from a sibling host, carries the cookie).
func crossSite(r *http.Request) bool { return r.Header.Get("Sec-Fetch-Site") == "cross-site" }

// consentPage names the app, the person it will act as and what it may
// do, in plain words, with Allow and Do not allow.
func (s *Server) consentPage(w http.ResponseWriter, r *http.Request, q *request, l *auth.Launch, here string) {
	a := q.sess.Account
	back := ""
	if u, err := url.Parse(l.Request.RedirectURI); err == nil {
		back = u.Scheme + "://" + u.Host
	}
	v := &view{Title: "Allow " + l.App.Name + " to use Haven as you?",
		Message: l.App.Name + " asks to use Haven as you, " + a.Name + " (" + string(a.Role) + "). After you answer you will go back to " + back + ".",
		Form:    map[string]string{"back": here}}
	for k, vs := range l.Request.Values() {
		v.Form[k] = vs[0]
	}
	for _, sc := range l.Scopes {
		v.Access = append(v.Access, smart.DescribeScope(sc))
	}
	// The answer redirects to the app: the page's form-action must allow
	// its origin, or browsers stop the redirect (CSP applies form-action to
	// a form's redirects).
	if back != "" {
		w.Header().Set("Content-Security-Policy", strings.Replace(w.Header().Get("Content-Security-Policy"), "form-action 'self'", "form-action 'self' "+back, 1))
	}
	s.page(w, r, q, http.StatusOK, "authorize", v)
}

// authorizeDecision answers the consent form: a code for the app, or
// access_denied, sent to its registered redirect URI.
func (s *Server) authorizeDecision(w http.ResponseWriter, r *http.Request, q *request) {
	l, ok := s.checkLaunch(w, r, q, r.PostForm)
	if !ok {
		return
	}
	var target string
	var err error
	switch r.PostFormValue("decision") {
	case "allow":
		target, err = s.auth.ApproveLaunch(r.Context(), q.sess, l, q.client.Addr)
	case "deny":
		target, err = s.auth.DenyLaunch(r.Context(), q.sess, l, q.client.Addr)
	default:
		s.page(w, r, q, http.StatusBadRequest, "message", &view{Title: "Choose Allow or Do not allow", Message: "Go back to the app and start again."})
		return
	}
	var le *auth.LaunchError
	switch {
	case errors.As(err, &le):
		s.page(w, r, q, http.StatusForbidden, "message", &view{Title: "You cannot use this app with Haven", Message: le.Message})
	case errors.Is(err, auth.ErrSession):
		http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
	case err != nil:
		s.fail(w, r, err)
	default:
		http.Redirect(w, r, target, http.StatusSeeOther)
	}
}

// checkLaunch checks the app's request, answering it itself when it
// returns false: on the page when the app or its redirect URI cannot be
// trusted, else by sending the error back to the app.
func (s *Server) checkLaunch(w http.ResponseWriter, r *http.Request, q *request, params url.Values) (*auth.Launch, bool) {
	l, err := s.auth.CheckLaunch(r.Context(), params)
	var le *auth.LaunchError
	switch {
	case errors.As(err, &le) && le.Redirect != "":
		http.Redirect(w, r, le.Redirect, http.StatusSeeOther)
		return nil, false
	case errors.As(err, &le):
		s.page(w, r, q, http.StatusBadRequest, "message", &view{Title: "This app cannot connect to Haven", Message: le.Message})
		return nil, false
	case err != nil:
		s.fail(w, r, err)
		return nil, false
	}
	return l, true
}

// Staff apps, for tenant administrators.

func (s *Server) staffApps() clientList {
	return clientList{title: "Staff apps", template: "apps", list: s.auth.StaffApps}
}

func (s *Server) appsPage(w http.ResponseWriter, r *http.Request, q *request) {
	s.showClients(w, r, q, s.staffApps(), &view{})
}

func (s *Server) registerApp(w http.ResponseWriter, r *http.Request, q *request) {
	name, uris, scopes := r.PostFormValue("name"), r.PostFormValue("redirect_uris"), r.PostFormValue("scopes")
	id, err := s.auth.RegisterStaffApp(r.Context(), q.principal(), name, strings.Fields(uris), strings.Fields(scopes))
	s.registered(w, r, q, s.staffApps(), map[string]string{"name": name, "redirect_uris": uris, "scopes": scopes}, "name", id, err)
}

func (s *Server) removeApp(w http.ResponseWriter, r *http.Request, q *request) {
	s.adminDone(w, r, q, s.auth.RemoveClient(r.Context(), q.principal(), r.PostFormValue("client")), "/admin/apps")
}
