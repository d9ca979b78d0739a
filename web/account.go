package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/smart"
	"github.com/havencare/haven/care"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request, q *request) {
	s.page(w, r, q, http.StatusOK, "home", &view{Title: "Home"})
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, q *request) {
	sessions, err := s.auth.Sessions(r.Context(), q.token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a := q.sess.Account
	s.page(w, r, q, http.StatusOK, "account", &view{Title: "Your account", Factors: auth.Factors(a), RecoveryLeft: a.RecoveryLeft(),
		Sessions: sessions, Notice: r.URL.Query().Get("done")})
}

func (s *Server) removeFactor(w http.ResponseWriter, r *http.Request, q *request) {
	err := s.auth.RemoveFactor(r.Context(), q.token, r.PostFormValue("factor"), q.client)
	var inv *haven.InvalidError
	if errors.As(err, &inv) {
		s.page(w, r, q, http.StatusUnprocessableEntity, "message", &view{Title: "That factor was not removed", Message: inv.Reason, Next: "/account"})
		return
	}
	if err != nil {
		s.factorError(w, r, q, err)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) newRecoveryCodes(w http.ResponseWriter, r *http.Request, q *request) {
	codes, err := s.auth.NewRecoveryCodes(r.Context(), q.token, q.client)
	if err != nil {
		s.factorError(w, r, q, err)
		return
	}
	s.page(w, r, q, http.StatusOK, "codes", &view{Title: "Save your recovery codes", Codes: codes})
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request, q *request) {
	if err := s.auth.Revoke(r.Context(), q.token, r.PostFormValue("session")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// Administration.

func (s *Server) staffView(r *http.Request, q *request, v *view) error {
	accounts, err := s.auth.Accounts(r.Context(), q.principal())
	if err != nil {
		return err
	}
	v.Title, v.Wide, v.Accounts = "Staff accounts", true, accounts
	v.Summary = summarise(accounts)
	v.Roles = haven.TenantRoles
	if q.sess.Account.Tenant() == "" {
		v.Roles = []haven.Role{haven.RoleSupplierSupport, haven.RoleSupplierOperator}
		return nil
	}
	// The organisation's staff records not yet linked to an account, for
	// the invitation form: care teams and visits name staff records, so an
	// account linked to one is judged by that person's relationships.
	linked := map[string]bool{}
	for _, a := range accounts {
		linked[a.StaffID] = true
	}
	for after := ""; ; {
		recs, err := s.care.List(r.Context(), q.principal(), haven.KindStaff, after, care.MaxListResults)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			st := rec.(*haven.Staff)
			if !linked[st.ID] {
				v.Staff = append(v.Staff, staffOption{ID: st.ID, Label: st.Name + " (" + string(st.Role) + ")"})
			}
			after = st.ID
		}
		if len(recs) < care.MaxListResults {
			return nil
		}
	}
}

// accountSummary is the head of the staff page: the numbers an admin
// should glance at first.
type accountSummary struct {
	Active, Invited, Locked, Disabled int
	// ActiveWithoutFactor must always be zero: an active account without a
	// second factor would be the 2022 breach's way in.
	ActiveWithoutFactor int
}

func summarise(accounts []auth.AccountInfo) accountSummary {
	var s accountSummary
	for _, a := range accounts {
		switch {
		case a.Status == auth.StatusDisabled:
			s.Disabled++
		case a.Status == auth.StatusInvited:
			s.Invited++
		default:
			s.Active++
			if len(a.Factors) == 0 {
				s.ActiveWithoutFactor++
			}
		}
		if a.Locked {
			s.Locked++
		}
	}
	return s
}

// staffOption is a staff record offered for linking to a new account.
type staffOption struct{ ID, Label string }

func (s *Server) staffPage(w http.ResponseWriter, r *http.Request, q *request) {
	v := &view{}
	if err := s.staffView(r, q, v); err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, q, http.StatusOK, "staff", v)
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request, q *request) {
	p := q.principal()
	n := auth.NewAccount{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Role: haven.Role(r.PostFormValue("role")), StaffID: r.PostFormValue("staff")}
	inv, err := s.auth.Invite(r.Context(), p, haven.PartitionOf(p.TenantID), n)
	v := &view{Form: map[string]string{"email": n.Email, "name": n.Name}}
	if err != nil && !v.invalid(err, "email") {
		s.fail(w, r, err)
		return
	}
	if err == nil {
		v.Link, v.Form = inv.Link(s.cfg.Origin), nil
	}
	if err := s.staffView(r, q, v); err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, q, http.StatusOK, "staff", v)
}

func (s *Server) reinvite(w http.ResponseWriter, r *http.Request, q *request) {
	p := q.principal()
	inv, err := s.auth.ReissueInvite(r.Context(), p, haven.PartitionOf(p.TenantID), r.PathValue("id"))
	v := &view{}
	if err != nil && !v.invalid(err, "account") {
		s.fail(w, r, err)
		return
	}
	if err == nil {
		v.Link = inv.Link(s.cfg.Origin)
	}
	if err := s.staffView(r, q, v); err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, q, http.StatusOK, "staff", v)
}

func (s *Server) adminDone(w http.ResponseWriter, r *http.Request, q *request, err error, back string) {
	v := &view{}
	if err != nil {
		if !v.invalid(err, "account") {
			s.fail(w, r, err)
			return
		}
		s.page(w, r, q, http.StatusUnprocessableEntity, "message", &view{Title: "That was not done", Message: v.Errors[0].Message, Next: back})
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Server) unlock(w http.ResponseWriter, r *http.Request, q *request) {
	s.adminDone(w, r, q, s.auth.Unlock(r.Context(), q.principal(), r.PathValue("id")), "/admin/staff")
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request, q *request) {
	s.adminDone(w, r, q, s.auth.SetRole(r.Context(), q.principal(), r.PathValue("id"), haven.Role(r.PostFormValue("role"))), "/admin/staff")
}

func (s *Server) disable(w http.ResponseWriter, r *http.Request, q *request) {
	s.adminDone(w, r, q, s.auth.Disable(r.Context(), q.principal(), r.PathValue("id")), "/admin/staff")
}

func (s *Server) revokeStaffSessions(w http.ResponseWriter, r *http.Request, q *request) {
	_, err := s.auth.RevokeAccountSessions(r.Context(), q.principal(), r.PathValue("id"))
	s.adminDone(w, r, q, err, "/admin/staff")
}

func (s *Server) tenantSessionsPage(w http.ResponseWriter, r *http.Request, q *request) {
	ss, err := s.auth.TenantSessions(r.Context(), q.principal())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for i := range ss {
		ss[i].Current = ss[i].ID == q.sess.ID
	}
	s.page(w, r, q, http.StatusOK, "sessions", &view{Title: "Signed-in sessions", Sessions: ss, Wide: true})
}

// clientList is one of the administrator's pages that list and register
// the tenant's clients: backend services, or staff apps.
type clientList struct {
	title, template string
	list            func(context.Context, haven.Principal) ([]auth.APIClient, error)
}

func (s *Server) apiClients() clientList {
	return clientList{title: "API clients", template: "clients", list: s.auth.Clients}
}

// showClients renders l's page with v: the form as sent back after a
// refusal, or the new client's id after a registration.
func (s *Server) showClients(w http.ResponseWriter, r *http.Request, q *request, l clientList, v *view) {
	cs, err := l.list(r.Context(), q.principal())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title, v.Clients, v.Wide = l.title, cs, true
	s.page(w, r, q, http.StatusOK, l.template, v)
}

// registered answers a registration on l's page: the new id, or the form
// again with the refusal shown at field.
func (s *Server) registered(w http.ResponseWriter, r *http.Request, q *request, l clientList, form map[string]string, field, id string, err error) {
	v := &view{Form: form}
	if err != nil && !v.invalid(err, field) {
		s.fail(w, r, err)
		return
	}
	if err == nil {
		v.Link, v.Form = id, nil
	}
	s.showClients(w, r, q, l, v)
}

func (s *Server) clientsPage(w http.ResponseWriter, r *http.Request, q *request) {
	s.showClients(w, r, q, s.apiClients(), &view{})
}

func (s *Server) registerClient(w http.ResponseWriter, r *http.Request, q *request) {
	name, jwks, scopes := r.PostFormValue("name"), r.PostFormValue("jwks"), r.PostFormValue("scopes")
	id, err := s.auth.RegisterClient(r.Context(), q.principal(), name, []byte(jwks), strings.Fields(scopes))
	s.registered(w, r, q, s.apiClients(), map[string]string{"name": name, "jwks": jwks, "scopes": scopes}, "jwks", id, err)
}

func (s *Server) removeClient(w http.ResponseWriter, r *http.Request, q *request) {
	s.adminDone(w, r, q, s.auth.RemoveClient(r.Context(), q.principal(), r.PostFormValue("client")), "/admin/clients")
}

// SMART Backend Services.

func (s *Server) smartConfiguration(w http.ResponseWriter, r *http.Request, _ *request) {
	writeJSON(w, http.StatusOK, smart.NewConfiguration(s.cfg.Origin))
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, q *request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "the body must be a form of at most 64 KiB"})
		return
	}
	res, err := s.auth.IssueToken(r.Context(), r.PostForm, q.client.Addr)
	var oe *smart.Error
	switch {
	case errors.As(err, &oe):
		if oe.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(oe.RetryAfter.Seconds())+1))
		}
		writeJSON(w, oe.Status, map[string]string{"error": oe.Code, "error_description": oe.Description})
	case err != nil:
		s.log.Error("token request failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
	default:
		w.Header().Set("Pragma", "no-cache")
		writeJSON(w, http.StatusOK, res)
	}
}

// Care records.

type personRow struct {
	ID, Name, Born, NHS string
	Records             int
}

// peoplePage lists the people the signed-in member of staff looks after
// (their caseload or service: policy decides), or searches them by family
// name or NHS number.
func (s *Server) peoplePage(w http.ResponseWriter, r *http.Request, q *request) {
	const pageSize = 25
	v := &view{Title: "People", Wide: true, Form: map[string]string{}}
	if term := strings.TrimSpace(r.URL.Query().Get("q")); term != "" {
		v.Form["q"] = term
		query := care.Query{Family: term}
		if haven.NormalizeNHSNumber(term) != "" && strings.Trim(term, "0123456789 -") == "" {
			query = care.Query{NHSNumber: term}
		}
		found, err := s.care.Search(r.Context(), q.principal(), query)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, p := range found {
			v.People = append(v.People, personRow{ID: p.ID, Name: p.Given + " " + p.Family, Born: p.BirthDate.String(), NHS: p.NHSNumber})
		}
		v.Searched = true
		s.page(w, r, q, http.StatusOK, "people", v)
		return
	}
	recs, err := s.care.List(r.Context(), q.principal(), haven.KindPerson, r.URL.Query().Get("after"), pageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, rec := range recs {
		p := rec.(*haven.Person)
		v.People = append(v.People, personRow{ID: p.ID, Name: p.Given + " " + p.Family, Born: p.BirthDate.String(), NHS: p.NHSNumber})
	}
	if len(recs) == pageSize {
		v.Next = v.People[len(v.People)-1].ID
	}
	s.page(w, r, q, http.StatusOK, "people", v)
}

func (s *Server) personView(r *http.Request, q *request) (*view, error) {
	pr, err := s.care.PersonRecord(r.Context(), q.principal(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	p := pr.Person
	n := len(pr.Conditions) + len(pr.Allergies) + len(pr.Medications) + len(pr.Observations) + len(pr.Notes) + len(pr.CarePlans) + len(pr.CareTeams) + len(pr.Visits)
	return &view{Title: p.Given + " " + p.Family, Person: personRow{ID: p.ID, Name: p.Given + " " + p.Family, Born: p.BirthDate.String(), NHS: p.NHSNumber, Records: n}}, nil
}

func (s *Server) personPage(w http.ResponseWriter, r *http.Request, q *request) {
	v, err := s.personView(r, q)
	var denied *care.DeniedError
	if errors.As(err, &denied) && !denied.NeedStepUp && !errors.Is(err, care.ErrContained) && q.sess.Account.Role == haven.RoleClinician {
		// A clinician outside the relationship may open the record in an
		// emergency by stating why (break-glass).
		v := &view{Title: "You do not have access to this record", Person: personRow{ID: r.PathValue("id")},
			Denied: strings.ToUpper(denied.Reason[:1]) + denied.Reason[1:] + ".", CanBreakGlass: true}
		s.page(w, r, q, http.StatusForbidden, "person", v)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, q, http.StatusOK, "person", v)
}

func (s *Server) revealHomeAccess(w http.ResponseWriter, r *http.Request, q *request) {
	// The reveal is asked first, so that every attempt meets the home-access
	// rule (and its alert), whatever else the caller may see.
	has, err := s.care.HomeAccess(r.Context(), q.principal(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.personView(r, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, h := range has {
		for _, line := range [][2]string{{"Key safe code: ", h.KeySafeCode}, {"How to get in: ", h.EntryInstructions}, {"Hazards: ", h.Hazards}} {
			if line[1] != "" {
				v.Access = append(v.Access, line[0]+line[1])
			}
		}
	}
	if len(v.Access) == 0 {
		v.Access = []string{"No home access details are recorded."}
	}
	s.page(w, r, q, http.StatusOK, "person", v)
}

// methodNotAllowed answers a known path asked with the wrong method.
func methodNotAllowed(allow string) func(http.ResponseWriter, *http.Request, *request) {
	return func(w http.ResponseWriter, r *http.Request, _ *request) {
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "use " + allow})
	}
}

// breakGlass opens a one-hour lease on a person outside the clinician's
// relationship, with the reason they gave, and shows the record.
func (s *Server) breakGlass(w http.ResponseWriter, r *http.Request, q *request) {
	id := r.PathValue("id")
	if _, err := s.care.BreakGlass(r.Context(), q.principal(), id, r.PostFormValue("reason")); err != nil {
		var denied *care.DeniedError
		if errors.As(err, &denied) && !denied.NeedStepUp && !errors.Is(err, care.ErrContained) {
			v := &view{Title: "You do not have access to this record", Person: personRow{ID: id},
				Denied: strings.ToUpper(denied.Reason[:1]) + denied.Reason[1:] + ".", CanBreakGlass: true}
			s.page(w, r, q, http.StatusForbidden, "person", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/people/"+url.PathEscape(id), http.StatusSeeOther)
}
