package care

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/smart"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// Relationship blind indexes. They let the record service answer policy's
// questions (is this member of staff on this person's team? in their
// service? visiting them?) without opening anyone's record. Each is an HMAC
// under the tenant's index key, so the database shows neither staff ids nor
// services. The "pair" forms answer one question with one indexed lookup;
// the single forms list a caseload or a service.
const (
	fieldTeamStaff  = "careteam.staff"     // staff id → people whose team they are on
	fieldTeamMember = "careteam.member"    // staff id + person id
	fieldService    = "careteam.service"   // service → people in it
	fieldInService  = "careteam.inservice" // service + person id
	fieldVisitStaff = "visit.staff"        // staff id + person id → that staff member's visits
	// fieldCanary marks decoy people. The digest covers the person id, so
	// every canary's entry differs and a copy of the database cannot tell
	// which rows are decoys.
	fieldCanary = "person.canary"
)

// pair joins two ids for a pair index. NUL cannot occur in an id.
func pair(a, b string) string { return a + "\x00" + b }

// maxRelated bounds one caseload or service listing.
const maxRelated = 20000

// DeniedError is a refusal by policy: the reason is safe to show the user
// and is what the audit log's "denied" outcome stands for.
type DeniedError struct {
	Reason string
	// NeedStepUp means the action would be allowed once the user confirms
	// a factor.
	NeedStepUp bool
}

func (e *DeniedError) Error() string { return e.Reason }

// Is makes every refusal a haven.ErrForbidden.
func (e *DeniedError) Is(target error) bool { return target == haven.ErrForbidden }

// ErrContained is returned when the guard stopped an access: the data is
// not returned, the session is frozen, ended or the account locked, and the
// organisation has been alerted.
var ErrContained = &DeniedError{Reason: "this access was stopped because it looked like misuse of the account; your organisation has been alerted"}

// facts gathers, inside one transaction, what policy needs to decide about
// one principal, and what the guard needs to judge the unit of work. Every
// lookup is lazy: a unit pays only for the questions its decisions ask.
type facts struct {
	s   *Service
	tx  store.Tx
	p   haven.Principal
	now time.Time

	tk       *seal.TenantKey
	settings *guard.Settings
	service  *string
	caseload map[string]bool
	grant    *policy.Grant
	grantSet bool
	known    map[string]bool // answers of has, for this transaction
	// newInService is set while a coordinator or clinician registers a
	// person, or files a care team, in their own service: the person is
	// about to be in it.
	newInService bool

	// What the unit did, for the guard.
	people  []string // people whose data the unit returns
	denied  int
	probes  int
	canary  string
	search  bool
	matches int
	alerts  []guard.Finding
}

func (s *Service) newFacts(tx store.Tx, p haven.Principal) *facts {
	return &facts{s: s, tx: tx, p: p, now: s.Now()}
}

func (f *facts) key() (*seal.TenantKey, error) {
	if f.tk == nil {
		tk, err := f.s.tenantKey(f.tx)
		if err != nil {
			return nil, err
		}
		f.tk = tk
	}
	return f.tk, nil
}

func (f *facts) digest(field, value string) ([]byte, error) {
	tk, err := f.key()
	if err != nil {
		return nil, err
	}
	return tk.BlindIndex(field, value), nil
}

// has reports whether the pair index field holds value. Answers are kept
// for the transaction: a whole record asks policy once per kind, about the
// same person.
func (f *facts) has(field, value string) (bool, error) {
	k := pair(field, value)
	if v, ok := f.known[k]; ok {
		return v, nil
	}
	d, err := f.digest(field, value)
	if err != nil {
		return false, err
	}
	hits, err := f.tx.Lookup(field, d, 1)
	if err != nil {
		return false, err
	}
	if f.known == nil {
		f.known = map[string]bool{}
	}
	f.known[k] = len(hits) > 0
	return len(hits) > 0, nil
}

// related lists the people a single-form index names for value.
func (f *facts) related(field, value string) (map[string]bool, error) {
	out := map[string]bool{}
	if value == "" {
		return out, nil
	}
	d, err := f.digest(field, value)
	if err != nil {
		return nil, err
	}
	hits, err := f.tx.Lookup(field, d, maxRelated)
	for _, h := range hits {
		out[h.PersonID] = true
	}
	return out, err
}

// Settings returns the tenant's guard settings (defaults where unset).
func (f *facts) guardSettings() (guard.Settings, error) {
	if f.settings == nil {
		tk, err := f.key()
		if err != nil {
			return guard.Settings{}, err
		}
		st, err := f.s.loadSettings(f.tx, tk)
		if err != nil {
			return guard.Settings{}, err
		}
		f.settings = &st
	}
	return *f.settings, nil
}

// myService is the service of the principal's staff record.
func (f *facts) myService() (string, error) {
	if f.service != nil {
		return *f.service, nil
	}
	svc := ""
	if f.p.StaffID != "" && f.p.TenantID == f.tx.Tenant() {
		tk, err := f.key()
		if err != nil {
			return "", err
		}
		row, err := f.tx.Get(haven.KindStaff, f.p.StaffID)
		switch {
		case errors.Is(err, haven.ErrNotFound):
			// A link to a staff record that has gone: no service.
		case err != nil:
			return "", err
		default:
			rec, err := f.s.open(f.tx.Tenant(), tk, sealed{row: row})
			if err != nil {
				return "", err
			}
			svc = rec.(*haven.Staff).Service
		}
	}
	f.service = &svc
	return svc, nil
}

// onTeam reports whether the principal's staff record is on the person's
// care team.
func (f *facts) onTeam(person string) (bool, error) {
	if f.p.StaffID == "" {
		return false, nil
	}
	if f.caseload != nil {
		return f.caseload[person], nil
	}
	return f.has(fieldTeamMember, pair(f.p.StaffID, person))
}

func (f *facts) inService(person string) (bool, error) {
	if f.newInService {
		return true, nil
	}
	svc, err := f.myService()
	if err != nil || svc == "" {
		return false, err
	}
	return f.has(fieldInService, pair(svc, person))
}

// visits are the principal's own visits to the person.
func (f *facts) visits(person string) ([]visitWindow, error) {
	if f.p.StaffID == "" {
		return nil, nil
	}
	d, err := f.digest(fieldVisitStaff, pair(f.p.StaffID, person))
	if err != nil {
		return nil, err
	}
	hits, err := f.tx.Lookup(fieldVisitStaff, d, 1000)
	if err != nil {
		return nil, err
	}
	wrapped, err := f.tx.PersonKey(person)
	if err != nil {
		return nil, err
	}
	var out []visitWindow
	for _, h := range hits {
		row, err := f.tx.Get(haven.KindVisit, h.ID)
		if err != nil {
			return nil, err
		}
		rec, err := f.s.open(f.tx.Tenant(), f.tk, sealed{row: row, wrapped: wrapped})
		if err != nil {
			return nil, err
		}
		v := rec.(*haven.Visit)
		if v.StaffID != f.p.StaffID || v.PersonID != person || v.Status == "cancelled" {
			continue
		}
		out = append(out, visitWindow{id: v.ID, w: policy.VisitWindow{Start: v.Start, End: v.End}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].w.Start.Before(out[j].w.Start) })
	return out, nil
}

type visitWindow struct {
	id string
	w  policy.VisitWindow
}

func (f *facts) isCanary(person string) (bool, error) {
	return f.has(fieldCanary, pair(person, "canary"))
}

// supportGrant is the supplier principal's live grant in this tenant.
func (f *facts) supportGrant() (*policy.Grant, error) {
	if f.grantSet {
		return f.grant, nil
	}
	f.grantSet = true
	tk, err := f.key()
	if err != nil {
		return nil, err
	}
	g, _, err := liveGrant(f.tx, tk, f.p.ID, f.now)
	if err != nil || g == nil {
		return nil, err
	}
	f.grant = &policy.Grant{TenantID: f.tx.Tenant(), Actions: g.Actions, Expires: g.Expires, Ticket: g.Ticket}
	return f.grant, nil
}

// decide gathers the facts the principal's role needs and asks policy.
// lease is the id of the break-glass lease the decision relied on, if any.
func (f *facts) decide(a policy.Action, person string, kind haven.Kind, reason string) (d policy.Decision, lease string, visit string, err error) {
	c := policy.Context{Now: f.now, SteppedUp: f.p.SteppedUp, Reason: reason}
	role := f.p.Role
	if person != "" {
		staff := role == haven.RoleCarer || role == haven.RoleNurse || role == haven.RoleClinician
		if staff {
			if c.OnCareTeam, err = f.onTeam(person); err != nil {
				return d, "", "", err
			}
		}
		if (role == haven.RoleClinician && !c.OnCareTeam) || role == haven.RoleCoordinator {
			if c.SameService, err = f.inService(person); err != nil {
				return d, "", "", err
			}
		}
		if role == haven.RoleClinician && !c.OnCareTeam && !c.SameService {
			tk, err := f.key()
			if err != nil {
				return d, "", "", err
			}
			var until time.Time
			if lease, until, err = activeLease(f.tx, tk, f.p.ID, person, f.now); err != nil {
				return d, "", "", err
			}
			c.LeaseUntil = until
		}
		if a == policy.RevealHomeAccess && staff {
			vs, err := f.visits(person)
			if err != nil {
				return d, "", "", err
			}
			st, err := f.guardSettings()
			if err != nil {
				return d, "", "", err
			}
			c.HomeAccessLead = time.Duration(st.HomeAccessLead)
			for _, v := range vs {
				c.Visits = append(c.Visits, v.w)
			}
			// The visit a reveal is audited with: the first whose window
			// is open now (policy decides whether any is).
			lead := min(c.HomeAccessLead, policy.MaxHomeAccessLead)
			for _, v := range vs {
				if !f.now.Before(v.w.Start.Add(-lead)) && f.now.Before(v.w.End) {
					visit = v.id
					break
				}
			}
		}
	}
	switch role {
	case haven.RoleSupplierSupport:
		if c.Grant, err = f.supportGrant(); err != nil {
			return d, "", "", err
		}
	case haven.RoleAPIClient:
		c.ScopeAllows = f.s.ScopeAllows != nil && f.s.ScopeAllows(f.p.Scopes, f.p.NamedScopes, a, kind)
	}
	d = policy.Decide(f.p, a, policy.Subject{TenantID: f.tx.Tenant(), PersonID: person, Kind: haven.PolicyKind(kind)}, c)
	// A member of staff acting through an app (SMART App Launch) is a
	// principal of their own role that carries the app's scopes; from a
	// browser they carry none. Policy has judged them exactly as in the
	// web pages (caseload, service, lease); the scopes may then only take
	// away, so an app never does more than its user could. Only user/
	// scopes count (smart.UserPermissions drops every other context), read
	// as the same permissions ScopeAllows reads for an API client. This is
	// the one place scopes narrow a member of staff. An app's token names
	// no scope (nil): no role that may approve an app reads the audit log.
	if f.p.Scopes != nil && role != haven.RoleAPIClient && (d.Allow || d.NeedStepUp) &&
		!(f.s.ScopeAllows != nil && f.s.ScopeAllows(smart.UserPermissions(f.p.Scopes), nil, a, kind)) {
		d = policy.Decision{Reason: "the app's scopes do not cover this", Alert: d.Alert}
	}
	if !d.Lease {
		lease = ""
	}
	return d, lease, visit, nil
}

// authorize asks policy about one person-level action and turns a refusal
// into a DeniedError. Opening a canary's record, allowed or not, is
// refused and contained at once.
func (f *facts) authorize(a policy.Action, person string, kind haven.Kind) (policy.Decision, string, string, error) {
	d, lease, visit, err := f.decide(a, person, kind, "")
	if err != nil {
		return d, "", "", err
	}
	if d.Alert && a == policy.RevealHomeAccess {
		f.alerts = append(f.alerts, guard.Finding{Rule: guard.RuleHomeAccess, Level: guard.AlertOnly, PersonID: person,
			Detail: "refused: " + d.Reason})
	}
	if a != policy.ListPeople && person != "" && f.p.Role != haven.RoleSystem {
		canary, err := f.isCanary(person)
		if err != nil {
			return d, "", "", err
		}
		if canary {
			f.canary = person
			return d, "", "", ErrContained
		}
	}
	if !d.Allow {
		if !d.NeedStepUp && person != "" {
			f.denied++
		}
		return d, "", "", &DeniedError{Reason: d.Reason, NeedStepUp: d.NeedStepUp}
	}
	return d, lease, visit, nil
}

// authorizeOrg asks policy about an organisation-level action.
func (f *facts) authorizeOrg(a policy.Action, person string) error {
	return f.authorizeOrgKind(a, person, "")
}

// authorizeStaff asks policy whether the principal may see the
// organisation's own records of kind (its staff, and the Practitioners,
// PractitionerRoles and Organizations it keeps): read-staff to open one,
// list-staff to list or search them. The kind goes with the question so
// that a token's scopes are asked about that very type.
func (f *facts) authorizeStaff(a policy.Action, kind haven.Kind) error {
	return f.authorizeOrgKind(a, "", kind)
}

func (f *facts) authorizeOrgKind(a policy.Action, person string, kind haven.Kind) error {
	d, _, _, err := f.decide(a, person, kind, "")
	if err != nil {
		return err
	}
	if !d.Allow {
		return &DeniedError{Reason: d.Reason, NeedStepUp: d.NeedStepUp}
	}
	return nil
}

// read notes that the unit returns these people's data.
func (f *facts) read(people ...string) { f.people = append(f.people, people...) }

// guarded reports whether the guard watches this principal. Haven acting
// at the console is bounded by the operator's own access, not by budgets.
func (f *facts) guarded() bool { return f.p.Role != haven.RoleSystem }

// judge runs the guard over what the unit did. It returns ErrContained if
// the guard refuses the access.
func (f *facts) judge() (guard.Verdict, error) {
	var v guard.Verdict
	if !f.guarded() {
		return v, nil
	}
	if err := f.seed(); err != nil {
		return v, err
	}
	st, err := f.guardSettings()
	if err != nil {
		return v, err
	}
	v = f.s.guard.Observe(guard.Access{
		Time: f.now, Tenant: f.tx.Tenant(), Actor: f.p.ID, Role: f.p.Role, Session: f.p.SessionID, Addr: f.p.ClientAddr,
		People: dedupe(f.people), Denied: f.denied, Probes: f.probes, Canary: f.canary, Search: f.search, Matches: f.matches,
	}, st)
	return v, nil
}

// seed loads an account's last day from the audit log the first time this
// process sees it, so that a restart does not refill its budget.
func (f *facts) seed() error {
	tenant := f.tx.Tenant()
	if f.s.guard.Known(tenant, f.p.ID) {
		return nil
	}
	entries, err := f.tx.AuditEntries(store.AuditQuery{Actors: []string{f.p.ID}, Since: f.now.Add(-24 * time.Hour)})
	if err != nil {
		return fmt.Errorf("seed guard: %w", err)
	}
	past := make([]guard.Past, 0, len(entries))
	for _, e := range entries {
		p := guard.Past{Time: e.Time, Addr: e.ClientAddr}
		if e.Outcome == OutcomeOK && readAction(e.Action) {
			p.PersonID = e.PersonID
		}
		past = append(past, p)
	}
	f.s.guard.Seed(tenant, f.p.ID, past)
	return nil
}

// readAction reports whether an audit action returned personal data.
func readAction(a string) bool {
	switch a {
	case ActionRead, ActionSearch, ActionReveal, ActionList:
		return true
	}
	return false
}

func dedupe(xs []string) []string {
	if len(xs) < 2 {
		return xs
	}
	seen := make(map[string]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// tenantRead reports whether p's role reads across the whole tenant (not
// by relationship), so listings come from the store rather than from a
// caseload or service index.
func tenantRead(r haven.Role) bool {
	switch r {
	case haven.RoleSystem, haven.RoleAPIClient, haven.RoleSupplierSupport:
		return true
	}
	return false
}

// candidates lists the people p may find by relationship: their caseload,
// their service, or both (clinicians). The policy still decides each.
func (f *facts) candidates() (map[string]bool, error) {
	out := map[string]bool{}
	role := f.p.Role
	if (role == haven.RoleCarer || role == haven.RoleNurse || role == haven.RoleClinician) && f.p.StaffID != "" {
		team, err := f.related(fieldTeamStaff, f.p.StaffID)
		if err != nil {
			return nil, err
		}
		f.caseload = team
		for id := range team {
			out[id] = true
		}
	}
	if role == haven.RoleClinician || role == haven.RoleCoordinator {
		svc, err := f.myService()
		if err != nil {
			return nil, err
		}
		inSvc, err := f.related(fieldService, svc)
		if err != nil {
			return nil, err
		}
		for id := range inSvc {
			out[id] = true
		}
	}
	return out, nil
}

// relationshipEntries are the relationship index rows of a record.
func relationshipEntries(tk *seal.TenantKey, rec haven.Record) []store.IndexEntry {
	var out []store.IndexEntry
	add := func(field, v string) {
		out = append(out, store.IndexEntry{Field: field, Digest: tk.BlindIndex(field, v)})
	}
	switch r := rec.(type) {
	case *haven.Person:
		if r.Canary {
			add(fieldCanary, pair(r.ID, "canary"))
		}
	case *haven.CareTeam:
		seen := map[string]bool{}
		for _, st := range r.StaffIDs {
			if !seen[st] {
				seen[st] = true
				add(fieldTeamStaff, st)
				add(fieldTeamMember, pair(st, r.PersonID))
			}
		}
		if r.Service != "" {
			add(fieldService, r.Service)
			add(fieldInService, pair(r.Service, r.PersonID))
		}
	case *haven.Visit:
		add(fieldVisitStaff, pair(r.StaffID, r.PersonID))
	}
	return out
}
