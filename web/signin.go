package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"io"
	"net/http"
	"net/url"

	"github.com/pquerna/otp"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/totp"
)

// maxJSONBody bounds WebAuthn responses (they are a few kilobytes).
const maxJSONBody = 64 << 10

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if _, err := s.care.Store().Tenants(r.Context()); err != nil {
		s.log.Error("health check failed", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// startSession sets the cookie of a new session, replacing any other.
func (s *Server) startSession(w http.ResponseWriter, sess *auth.Session) {
	s.setCookie(w, "session", sess.Token, 0)
}

// afterSignIn is where a session goes next. next (a path on this site,
// such as a staff app's authorization request) survives the factor step.
func afterSignIn(sess *auth.Session, next string) string {
	next = localPath(next, "")
	switch {
	case sess.Enrolling:
		return "/enrol/factor"
	case !sess.FullyAuthenticated():
		if next != "" {
			return "/confirm?next=" + url.QueryEscape(next)
		}
		return "/confirm"
	}
	return localPath(next, "/")
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, q *request) {
	next := localPath(r.URL.Query().Get("next"), "")
	if q.sess.FullyAuthenticated() {
		http.Redirect(w, r, localPath(next, "/"), http.StatusSeeOther)
		return
	}
	s.page(w, r, q, http.StatusOK, "signin", &view{Title: "Sign in", Script: true, Next: next})
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request, q *request) {
	email, pw := r.PostFormValue("email"), r.PostFormValue("password")
	next := localPath(r.PostFormValue("next"), "")
	v := &view{Title: "Sign in", Script: true, Form: map[string]string{"email": email}, Next: next}
	if email == "" || pw == "" {
		if email == "" {
			v.Errors = append(v.Errors, fieldError{"email", "Enter your e-mail address."})
		}
		if pw == "" {
			v.Errors = append(v.Errors, fieldError{"password", "Enter your password."})
		}
		s.page(w, r, q, http.StatusOK, "signin", v)
		return
	}
	sess, err := s.auth.SignInPassword(r.Context(), email, pw, q.client)
	if err != nil {
		var th *auth.ThrottledError
		if errors.As(err, &th) {
			w.Header().Set("Retry-After", fmt.Sprint(int(th.RetryAfter.Seconds())+1))
		}
		if !v.invalid(err, "email") {
			s.fail(w, r, err)
			return
		}
		status := http.StatusOK
		if th != nil {
			status = http.StatusTooManyRequests
		}
		s.page(w, r, q, status, "signin", v)
		return
	}
	s.startSession(w, sess)
	http.Redirect(w, r, afterSignIn(sess, next), http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, q *request) {
	if q.token != "" {
		if err := s.auth.SignOut(r.Context(), q.token, false); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.setCookie(w, "session", "", -1)
	s.page(w, r, nil, http.StatusOK, "message", &view{Title: "You have signed out", Message: "Close the browser if this is a shared computer.", Next: "/sign-in", CSRF: "-"})
}

func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request, q *request) {
	if err := s.auth.SignOut(r.Context(), q.token, true); err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, "session", "", -1)
	s.page(w, r, nil, http.StatusOK, "message", &view{Title: "You have signed out everywhere", Message: "Every browser signed in to your account has been signed out.", Next: "/sign-in", CSRF: "-"})
}

// The factor challenge (second step of sign-in, and step-up).

func (s *Server) confirmView(q *request, next string) *view {
	a := q.sess.Account
	return &view{Title: "Confirm it is you", Script: len(a.Passkeys) > 0, StepUp: q.sess.FullyAuthenticated(),
		HasPasskey: len(a.Passkeys) > 0, HasTOTP: a.TOTP != nil && !(q.sess.FullyAuthenticated() && auth.Privileged(a.Role)),
		Next: localPath(next, "")}
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request, q *request) {
	s.page(w, r, q, http.StatusOK, "factor", s.confirmView(q, r.URL.Query().Get("next")))
}

// confirmed finishes a factor form: on to the next step, or the form again
// with the error.
func (s *Server) confirmed(w http.ResponseWriter, r *http.Request, q *request, sess *auth.Session, err error, field string) {
	next := r.PostFormValue("next")
	if err != nil {
		v := s.confirmView(q, next)
		var th *auth.ThrottledError
		if errors.As(err, &th) {
			w.Header().Set("Retry-After", fmt.Sprint(int(th.RetryAfter.Seconds())+1))
		}
		if errors.Is(err, auth.ErrSession) {
			http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
			return
		}
		if !v.invalid(err, field) {
			s.fail(w, r, err)
			return
		}
		s.page(w, r, q, http.StatusOK, "factor", v)
		return
	}
	if sess.Token != "" {
		s.startSession(w, sess)
	}
	http.Redirect(w, r, afterSignIn(sess, next), http.StatusSeeOther)
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request, q *request) {
	sess, err := s.auth.VerifyTOTP(r.Context(), q.token, r.PostFormValue("code"), q.client)
	s.confirmed(w, r, q, sess, err, "code")
}

func (s *Server) confirmRecovery(w http.ResponseWriter, r *http.Request, q *request) {
	sess, err := s.auth.VerifyRecoveryCode(r.Context(), q.token, r.PostFormValue("recovery"), q.client)
	s.confirmed(w, r, q, sess, err, "recovery")
}

func (s *Server) confirmPasskeyBegin(w http.ResponseWriter, r *http.Request, q *request) {
	a, err := s.auth.BeginPasskeyConfirm(r.Context(), q.token)
	s.jsonAnswer(w, r, a, err)
}

func (s *Server) confirmPasskeyFinish(w http.ResponseWriter, r *http.Request, q *request) {
	body, ok := passkeyAnswer(w, r)
	if !ok {
		return
	}
	sess, err := s.auth.FinishPasskeyConfirm(r.Context(), q.token, body, q.client)
	if err != nil {
		s.jsonAnswer(w, r, nil, err)
		return
	}
	if sess.Token != "" {
		s.startSession(w, sess)
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": afterSignIn(sess, r.URL.Query().Get("next"))})
}

// Passkey-only sign-in. The ceremony id travels in a short-lived cookie.

func (s *Server) passkeySignInBegin(w http.ResponseWriter, r *http.Request, q *request) {
	a, id, err := s.auth.BeginPasskeySignIn(r.Context(), q.client)
	if err == nil {
		s.setCookie(w, "ceremony", id, 300)
	}
	s.jsonAnswer(w, r, a, err)
}

func (s *Server) passkeySignInFinish(w http.ResponseWriter, r *http.Request, q *request) {
	body, ok := passkeyAnswer(w, r)
	if !ok {
		return
	}
	id := s.cookie(r, "ceremony")
	s.setCookie(w, "ceremony", "", -1)
	sess, err := s.auth.FinishPasskeySignIn(r.Context(), id, body, q.client)
	if err != nil {
		s.jsonAnswer(w, r, nil, err)
		return
	}
	s.startSession(w, sess)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": afterSignIn(sess, r.URL.Query().Get("next"))})
}

// passkeyAnswer reads the browser's answer to a passkey prompt, refusing
// bodies far larger than any real answer.
func passkeyAnswer(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "The passkey answer was too large.", "")
		return nil, false
	}
	return body, true
}

// jsonAnswer replies to a passkey request: the options, or an error the
// script shows to the user.
func (s *Server) jsonAnswer(w http.ResponseWriter, r *http.Request, v any, err error) {
	var inv *haven.InvalidError
	var th *auth.ThrottledError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.As(err, &inv):
		writeJSONError(w, http.StatusUnprocessableEntity, sentence(errors.New(inv.Reason)), "")
	case errors.As(err, &th):
		w.Header().Set("Retry-After", fmt.Sprint(int(th.RetryAfter.Seconds())+1))
		writeJSONError(w, http.StatusTooManyRequests, sentence(err), "")
	case errors.Is(err, auth.ErrPasskey), errors.Is(err, auth.ErrSignIn), errors.Is(err, auth.ErrPasskeyRequired):
		writeJSONError(w, http.StatusUnauthorized, sentence(err), "")
	case errors.Is(err, auth.ErrStepUp):
		writeJSONError(w, http.StatusForbidden, sentence(err), "/confirm")
	case errors.Is(err, auth.ErrSession):
		writeJSONError(w, http.StatusUnauthorized, "Sign in to continue.", "/sign-in")
	default:
		s.fail(w, r, err)
	}
}

// Enrolment.

func (s *Server) invitePage(w http.ResponseWriter, r *http.Request, q *request) {
	token := r.PathValue("token")
	info, err := s.auth.OpenInvite(r.Context(), token)
	if err != nil {
		if errors.Is(err, auth.ErrInvite) {
			s.page(w, r, q, http.StatusNotFound, "message", &view{Title: "This link does not work", Message: sentence(err) + " Ask your administrator for a new one."})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.page(w, r, q, http.StatusOK, "invite", &view{Title: "Set up your account", Invite: info, Token: token, MustPasskey: auth.Privileged(info.Role)})
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request, q *request) {
	token := r.PathValue("token")
	sess, err := s.auth.AcceptInvite(r.Context(), token, r.PostFormValue("password"), q.client)
	if err != nil {
		info, ierr := s.auth.OpenInvite(r.Context(), token)
		v := &view{Title: "Set up your account", Invite: info, Token: token, MustPasskey: auth.Privileged(info.Role)}
		switch {
		case ierr != nil:
			s.page(w, r, q, http.StatusNotFound, "message", &view{Title: "This link does not work", Message: sentence(auth.ErrInvite) + " Ask your administrator for a new one."})
		case v.invalid(err, "password"):
			s.page(w, r, q, http.StatusOK, "invite", v)
		default:
			s.fail(w, r, err)
		}
		return
	}
	s.startSession(w, sess)
	http.Redirect(w, r, "/enrol/factor", http.StatusSeeOther)
}

func (s *Server) enrolPage(w http.ResponseWriter, r *http.Request, q *request) {
	s.page(w, r, q, http.StatusOK, "enrol", &view{Title: "Set up a second factor", Script: true,
		Enrolling: !q.sess.FullyAuthenticated(), MustPasskey: auth.Privileged(q.sess.Account.Role)})
}

func (s *Server) totpBegin(w http.ResponseWriter, r *http.Request, q *request) {
	secret, uri, err := s.auth.BeginTOTP(r.Context(), q.token)
	if err != nil {
		s.factorError(w, r, q, err)
		return
	}
	s.totpPage(w, r, q, secret, uri, nil)
}

func (s *Server) totpPage(w http.ResponseWriter, r *http.Request, q *request, secret, uri string, errs []fieldError) {
	v := &view{Title: "Set up your authenticator app", Secret: secret, Errors: errs}
	if key, err := otp.NewKeyFromURL(uri); err == nil {
		if img, err := key.Image(200, 200); err == nil {
			var buf bytes.Buffer
			if png.Encode(&buf, img) == nil {
				// A data: URL of our own PNG; html/template would otherwise
				// refuse the scheme.
				v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
			}
		}
	}
	s.page(w, r, q, http.StatusOK, "totp", v)
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request, q *request) {
	res, err := s.auth.ConfirmTOTP(r.Context(), q.token, r.PostFormValue("code"), q.client)
	var inv *haven.InvalidError
	if errors.As(err, &inv) {
		if q.sess.PendingTOTP == "" {
			// Nothing being set up (the page was reloaded after success, or
			// the form was posted on its own): start again.
			http.Redirect(w, r, "/enrol/factor", http.StatusSeeOther)
			return
		}
		uri, _ := totp.URI(auth.TOTPIssuer, q.sess.Account.Email, q.sess.PendingTOTP)
		s.totpPage(w, r, q, q.sess.PendingTOTP, uri, []fieldError{{inv.Field, inv.Reason}})
		return
	}
	if err != nil {
		s.factorError(w, r, q, err)
		return
	}
	s.enrolled(w, r, res)
}

// enrolled moves on after a factor was added: show new recovery codes if
// there are any, else back to the account.
func (s *Server) enrolled(w http.ResponseWriter, r *http.Request, res auth.Enrolled) {
	if res.Session.Token != "" {
		s.startSession(w, res.Session)
	}
	if len(res.RecoveryCodes) > 0 {
		s.page(w, r, &request{sess: res.Session}, http.StatusOK, "codes", &view{Title: "Save your recovery codes", Codes: res.RecoveryCodes})
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) factorError(w http.ResponseWriter, r *http.Request, q *request, err error) {
	switch {
	case errors.Is(err, auth.ErrStepUp):
		http.Redirect(w, r, "/confirm?next=/account", http.StatusSeeOther)
	case errors.Is(err, auth.ErrPasskeyRequired):
		s.page(w, r, q, http.StatusForbidden, "message", &view{Title: "Your role needs a passkey", Message: "Administrators use a passkey because it cannot be phished.", Next: "/enrol/factor"})
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request, q *request) {
	c, err := s.auth.BeginPasskeyRegistration(r.Context(), q.token, r.URL.Query().Get("name"))
	s.jsonAnswer(w, r, c, err)
}

// The recovery codes of a passkey enrolment cannot be in the JSON answer
// (the script only follows a redirect), so they wait here, keyed by the
// new session, until the next page shows them once.
func (s *Server) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request, q *request) {
	body, ok := passkeyAnswer(w, r)
	if !ok {
		return
	}
	res, err := s.auth.FinishPasskeyRegistration(r.Context(), q.token, body, q.client)
	if err != nil {
		s.jsonAnswer(w, r, nil, err)
		return
	}
	if res.Session.Token != "" {
		s.startSession(w, res.Session)
	}
	next := "/account"
	if len(res.RecoveryCodes) > 0 {
		s.codes.put(s.Now(), res.Session.ID, res.RecoveryCodes)
		next = "/account/recovery-codes"
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": next})
}

func (s *Server) recoveryCodesPage(w http.ResponseWriter, r *http.Request, q *request) {
	codes := s.codes.take(s.Now(), q.sess.ID)
	if len(codes) == 0 {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	s.page(w, r, q, http.StatusOK, "codes", &view{Title: "Save your recovery codes", Codes: codes})
}
