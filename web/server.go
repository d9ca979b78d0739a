// Package web is Haven's HTTP surface: the server-rendered pages for
// sign-in, enrolment, accounts and administration, the SMART token
// endpoint, and (later) the FHIR API.
//
// Every route is registered with the access it needs, and one function,
// gate, decides for every request whether that access is there: a public
// route, a route for a half-signed-in session (password only, to confirm a
// factor or enrol one), or a route for a fully signed-in session, which is
// the only kind that yields a principal and so the only kind that can
// reach personal data. gate also checks anti-forgery tokens on every
// state-changing request and demands step-up where a route asks for it.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/fhir"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/web/static"
)

// Access is what a route needs from the request.
type Access int

const (
	// Public routes are reachable by anyone and return no personal data.
	Public Access = iota
	// Pending routes need a session that passed the password step: the
	// factor challenge. Fully signed-in sessions also pass (step-up).
	Pending
	// Enrol routes need an enrolment session (new account, recovery, or an
	// administrator who must add a passkey) or a signed-in one.
	Enrol
	// Signed routes need a multi-factor session.
	Signed
)

func (a Access) String() string {
	return [...]string{"public", "pending", "enrol", "signed"}[a]
}

// Route is one registered endpoint.
type Route struct {
	Method, Path string
	Access       Access
	// Roles, if set, limits a Signed route to these roles.
	Roles []haven.Role
	// StepUp requires a factor confirmed in the last auth.StepUpWindow.
	StepUp bool
	// NoCookies marks an endpoint for non-browser clients that
	// authenticate every request themselves (the token endpoint): cookies
	// are ignored, so there is nothing for a forged cross-site request to
	// ride on, and no form token is asked for.
	NoCookies bool
	handle    func(w http.ResponseWriter, r *http.Request, q *request)
}

// Pattern is the route's http.ServeMux pattern.
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// request is what gate found out about a request.
type request struct {
	sess   *auth.Session // nil for public requests without a session
	token  string        // the session cookie value
	client auth.ClientInfo
	now    time.Time // when gate saw the request
}

// principal is the signed-in principal. Only Signed routes call it, and
// gate has made sure the session is multi-factor.
func (q *request) principal() haven.Principal {
	p := q.sess.Principal(q.client.Addr)
	p.SteppedUp = q.sess.SteppedUp(q.now)
	return p
}

// Config configures the HTTP surface.
type Config struct {
	// Origin is the URL browsers reach Haven at (scheme, host, port).
	Origin string
	// Insecure allows cookies without the Secure attribute. Only for plain
	// HTTP on loopback (the demo); serve refuses it elsewhere.
	Insecure bool
	// OrgName names tenants for the header, by id.
	OrgName func(ctx context.Context, tenantID string) string
}

// Server serves Haven's pages.
type Server struct {
	cfg    Config
	auth   *auth.Service
	care   *care.Service
	log    *slog.Logger
	routes []Route
	mux    *http.ServeMux
	codes  pendingCodes
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New builds the server and registers every route.
func New(cfg Config, a *auth.Service, c *care.Service, log *slog.Logger) *Server {
	s := &Server{cfg: cfg, auth: a, care: c, log: log, mux: http.NewServeMux(), Now: time.Now}
	s.register()
	for _, rt := range s.routes {
		s.mux.Handle(rt.Pattern(), s.gate(rt))
	}
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles()))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// No form, so no anti-forgery cookie: a browser's own requests
		// (/favicon.ico beside the first page) must not replace the one a
		// sign-in form in another tab is about to post with.
		s.page(w, r, nil, http.StatusNotFound, "message", &view{Title: "Page not found", Message: "There is no page at this address.", CSRF: "-"})
	})
	return s
}

// Routes lists every registered route (tests enumerate them).
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

func (s *Server) route(method, path string, access Access, h func(http.ResponseWriter, *http.Request, *request), opts ...func(*Route)) {
	rt := Route{Method: method, Path: path, Access: access, handle: h}
	for _, o := range opts {
		o(&rt)
	}
	s.routes = append(s.routes, rt)
}

func roles(rs ...haven.Role) func(*Route) { return func(rt *Route) { rt.Roles = rs } }
func stepUp(rt *Route)                    { rt.StepUp = true }
func noCookies(rt *Route)                 { rt.NoCookies = true }

// ServeHTTP adds the security headers every response carries, and refuses
// an address that is not text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if !s.cfg.Insecure {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
	}
	if !textAddress(r.URL) {
		// Percent-escapes can spell bytes that are not UTF-8, or a NUL,
		// which no id, name or parameter of Haven's can hold. PostgreSQL
		// refuses such a string outright, so it is refused here, the
		// same on every store and every route, before anything looks it
		// up.
		const why = "the address must be UTF-8 text: a percent-escape in its path or query spells bytes that are not, or a NUL"
		switch {
		case r.URL.Path == "/fhir" || strings.HasPrefix(r.URL.Path, "/fhir/"):
			fhir.WriteInvalid(w, why)
		case wantsJSON(r):
			writeJSONError(w, http.StatusBadRequest, "Bad request: "+why+".", "")
		default:
			http.Error(w, "Bad request: "+why+".", http.StatusBadRequest)
		}
		return
	}
	// The reads of one request (the credential check, then the records)
	// share one read-only transaction until its first write, or until it
	// starts to answer.
	ctx, reads := store.ShareReads(r.Context())
	defer reads.End()
	s.mux.ServeHTTP(endReadsOnAnswer{w, reads}, r.WithContext(ctx))
}

// textAddress reports whether u's path and query, unescaped, are text
// (haven.StoredText).
// A query that does not parse is left to the handlers, which refuse it.
func textAddress(u *url.URL) bool {
	if !haven.StoredText(u.Path) {
		return false
	}
	q, _ := url.ParseQuery(u.RawQuery)
	return textValues(q)
}

// textValues reports whether every name and value in vs is text.
func textValues(vs url.Values) bool {
	for k, v := range vs {
		if !haven.StoredText(k) {
			return false
		}
		for _, s := range v {
			if !haven.StoredText(s) {
				return false
			}
		}
	}
	return true
}

// endReadsOnAnswer ends a request's shared reads when it starts to answer:
// a slow client taking a large answer (an export file) must not hold a
// read transaction, and one of the few reader connections, all the while.
type endReadsOnAnswer struct {
	http.ResponseWriter
	reads *store.SharedReads
}

func (w endReadsOnAnswer) WriteHeader(code int) {
	w.reads.End()
	w.ResponseWriter.WriteHeader(code)
}

func (w endReadsOnAnswer) Write(b []byte) (int, error) {
	w.reads.End()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w endReadsOnAnswer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Cookie names. With Secure cookies the __Host- prefix makes the browser
// refuse cookies set by a sibling subdomain or over plain HTTP.
func (s *Server) cookieName(base string) string {
	if s.cfg.Insecure {
		return "haven_" + base
	}
	return "__Host-haven_" + base
}

func (s *Server) setCookie(w http.ResponseWriter, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(base), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: !s.cfg.Insecure, SameSite: http.SameSiteStrictMode})
}

func (s *Server) cookie(r *http.Request, base string) string {
	c, err := r.Cookie(s.cookieName(base))
	if err != nil {
		return ""
	}
	return c.Value
}

// stateChanging reports whether a request method may change anything.
func stateChanging(m string) bool { return m != http.MethodGet && m != http.MethodHead }

// gate is the one place that decides whether a request may reach a
// route's handler.
func (s *Server) gate(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &request{client: clientInfo(r), now: s.Now()}
		if rt.NoCookies {
			rt.handle(w, r, q)
			return
		}
		// Refuse cross-site state changes outright; the token check below
		// is the second wall.
		if stateChanging(r.Method) && !s.sameOrigin(r) {
			s.forbidden(w, r, "This request came from another site and was refused.")
			return
		}
		if tok := s.cookie(r, "session"); tok != "" {
			sess, err := s.auth.Authenticate(r.Context(), tok, q.client)
			switch {
			case err == nil:
				q.sess, q.token = sess, tok
			case errors.Is(err, auth.ErrSession):
				s.setCookie(w, "session", "", -1)
			default:
				s.fail(w, r, err)
				return
			}
		}
		if !s.allowed(w, r, rt, q) {
			return
		}
		if stateChanging(r.Method) && !s.csrfOK(r, q) {
			s.forbidden(w, r, "This form has expired. Go back, reload the page and try again.")
			return
		}
		// Form values are text, as the address is (see ServeHTTP). The
		// form is parsed here even when the anti-forgery token came in a
		// header; a JSON body is not a form, and is left to its handler.
		if stateChanging(r.Method) && (r.ParseForm() != nil || !textValues(r.PostForm)) {
			s.badRequest(w, r, "This form held characters that could not be read. Go back, check what was typed and try again.")
			return
		}
		// A session the guard froze reaches nothing until its user
		// confirms a factor again.
		if (rt.StepUp || (rt.Access == Signed && q.sess.Frozen)) && !q.sess.SteppedUp(s.Now()) {
			s.askStepUp(w, r)
			return
		}
		rt.handle(w, r, q)
	})
}

// allowed applies the route's access rule, answering the request itself
// (redirect or refusal) when it returns false.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, rt Route, q *request) bool {
	sess := q.sess
	switch rt.Access {
	case Public:
		return true
	case Pending:
		if sess != nil && (sess.FullyAuthenticated() || !sess.Enrolling) {
			return true
		}
	case Enrol:
		if sess != nil && (sess.FullyAuthenticated() || sess.Enrolling) {
			return true
		}
	case Signed:
		if sess.FullyAuthenticated() {
			if len(rt.Roles) == 0 || slices.Contains(rt.Roles, sess.Account.Role) {
				return true
			}
			s.forbidden(w, r, "Your role does not give you access to this page.")
			return false
		}
	}
	// Not allowed: send people to the step they are at. Nothing else is
	// said, and nothing of the route ran.
	next := "/sign-in"
	switch {
	case sess != nil && sess.Enrolling:
		next = "/enrol/factor"
	case sess != nil && !sess.FullyAuthenticated():
		next = "/confirm"
	}
	if stateChanging(r.Method) || wantsJSON(r) {
		writeJSONError(w, http.StatusUnauthorized, "Sign in to continue.", next)
		return false
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return false
}

// sameOrigin checks the Origin (or, failing that, Sec-Fetch-Site) of a
// state-changing request.
func (s *Server) sameOrigin(r *http.Request) bool {
	// With Referrer-Policy no-referrer, browsers send "Origin: null" on
	// form posts; Sec-Fetch-Site (set by the browser, not by page script)
	// then says whether the form was ours.
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return o == strings.TrimRight(s.cfg.Origin, "/")
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	if r.Header.Get("Origin") == "null" {
		return false // an opaque origin with no browser metadata to vouch for it
	}
	return true // non-browser clients; the token check still applies
}

// csrfOK checks a state-changing request's anti-forgery token: the
// session's token for signed-in routes, or a double-submit cookie for
// public forms (there is no session yet to hold a token).
func (s *Server) csrfOK(r *http.Request, q *request) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	want := s.cookie(r, "csrf")
	if q.sess != nil {
		want = q.sess.CSRFToken()
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// formToken returns the anti-forgery token for a page's forms, setting the
// double-submit cookie for visitors without a session.
func (s *Server) formToken(w http.ResponseWriter, r *http.Request, q *request) string {
	if q != nil && q.sess != nil {
		return q.sess.CSRFToken()
	}
	if t := s.cookie(r, "csrf"); len(t) == 43 {
		return t
	}
	b := make([]byte, 32)
	rand.Read(b)
	t := base64.RawURLEncoding.EncodeToString(b)
	s.setCookie(w, "csrf", t, 0)
	return t
}

func (s *Server) askStepUp(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Path
	if stateChanging(r.Method) {
		// A form post cannot be replayed after the detour; go back to the
		// page the form was on.
		next = localPath(r.PostFormValue("back"), "/")
	}
	target := "/confirm?next=" + url.QueryEscape(next)
	if wantsJSON(r) {
		writeJSONError(w, http.StatusForbidden, "Confirm it is you first.", target)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// localPath returns p if it is a path on this site, else def. Only such
// paths are followed after sign-in, so no link can bounce a user off-site.
func localPath(p, def string) string {
	if p == "" || len(p) > 2048 || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return def
	}
	// Browsers drop tabs and newlines from URLs, so "/\t/evil.example"
	// would become "//evil.example": refuse every control character.
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return def
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return def
	}
	return p
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") || strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}

// clientInfo describes the requester for sessions and the audit log.
func clientInfo(r *http.Request) auth.ClientInfo {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return auth.ClientInfo{Addr: host, Device: deviceName(r.UserAgent())}
}

// deviceName turns a user agent into words a person recognises.
func deviceName(ua string) string {
	browser := "Browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Headless Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	osName := ""
	for _, o := range []struct{ token, name string }{
		{"Windows", "Windows"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Mac OS X", "Mac"}, {"Android", "Android"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			osName = o.name
			break
		}
	}
	if ua == "" {
		return "Unknown device"
	}
	if osName == "" {
		return browser
	}
	return browser + " on " + osName
}

func staticFiles() http.Handler {
	fs := http.FileServerFS(static.FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fs.ServeHTTP(w, r)
	})
}
