// Package policy is the one place that decides whether a principal may do an
// action on a resource (invariant 3: least privilege by care relationship).
//
// Decide is a pure function of (principal, action, subject, context): it does
// no I/O, reads no clock and keeps no state. Callers (web pages, the FHIR API,
// guard) gather the facts it needs — the care relationship, the principal's
// visits, an active break-glass lease, an approved supplier grant, the time —
// put them in a Context and ask. Nothing else decides, so that the rules can
// be read in one file and tested row by row against the matrix in
// docs/permissions.md.
//
// Every refusal carries a Reason, because refusals are audited and shown to
// users, and an unexplained "forbidden" sends people to work around the system.
package policy

import (
	"time"

	"github.com/havencare/haven"
)

// Action is what a principal wants to do. The set is small on purpose: each
// action groups the operations that carry the same risk, so that the matrix
// stays readable and a new page or endpoint maps onto an existing row.
type Action string

// The actions. Person-level actions need Subject.PersonID; organisation-level
// actions must leave it empty (see Subject).
const (
	ListPeople       Action = "list-people"        // see that a person exists in a list or search result (name, birth date, NHS number)
	ReadRecord       Action = "read-record"        // open a person's care record (every kind except home access)
	WriteRecord      Action = "write-record"       // create or change a person's record
	DeleteRecord     Action = "delete-record"      // delete one of a person's records: judged as write-record (see judgedAs)
	RevealHomeAccess Action = "reveal-home-access" // key-safe code and entry instructions
	BreakGlass       Action = "break-glass"        // open a short lease on one person outside one's relationship
	Export           Action = "export"             // whole-record (one person) or bulk (no person) export
	ManageStaff      Action = "manage-staff"       // invite, change roles, unlock, end others' sessions
	ManageClients    Action = "manage-clients"     // register API clients
	ManageSettings   Action = "manage-settings"    // tenant thresholds, alert channels
	ReadAudit        Action = "read-audit"         // the tenant's audit log and access reports
	ReviewAlerts     Action = "review-alerts"      // list and acknowledge alerts, the break-glass review queue
	RequestSupport   Action = "request-support"    // supplier support asks a tenant for access
	ApproveSupport   Action = "approve-support"    // a tenant admin approves or revokes it
	ListStaff        Action = "list-staff"         // see the organisation's staff records (rota, invitations)
	ReadStaff        Action = "read-staff"         // open one of the organisation's staff or directory records: judged as list-staff (see judgedAs)
	Erase            Action = "erase"              // erase a person and destroy their key (right to erasure)
)

// Actions returns every action, in the order of the matrix in
// docs/permissions.md, except those judgedAs another, which have no column
// of their own. It returns a new slice each call so that no caller can
// change what another sees.
func Actions() []Action {
	return []Action{ListPeople, ReadRecord, WriteRecord, RevealHomeAccess, BreakGlass, Export,
		ManageStaff, ManageClients, ManageSettings, ReadAudit, ReviewAlerts, RequestSupport, ApproveSupport,
		ListStaff, Erase}
}

// Valid reports whether a is an action the policy knows. Unknown actions are
// refused rather than treated as the nearest known one.
func (a Action) Valid() bool {
	switch a {
	case ListPeople, ReadRecord, WriteRecord, RevealHomeAccess, BreakGlass, Export,
		ManageStaff, ManageClients, ManageSettings, ReadAudit, ReviewAlerts, RequestSupport, ApproveSupport,
		ListStaff, Erase:
		return true
	}
	_, ok := judgedAs(a)
	return ok
}

// judgedAs maps the actions that have no column of their own to the action
// whose rules judge them, for every role and in a supplier grant. Each
// carries the risk of that action; it is an action of its own only for the
// scopes the caller puts in Context.ScopeAllows, where SMART tells them
// apart: deleting needs the delete permission (d) where writing needs
// create and update (cu), and opening one staff or directory record needs
// read (r) of its type where listing them needs search (s).
func judgedAs(a Action) (Action, bool) {
	switch a {
	case DeleteRecord:
		return WriteRecord, true
	case ReadStaff:
		return ListStaff, true
	}
	return a, false
}

// personal reports whether a is always about one person.
func (a Action) personal() bool {
	switch a {
	case ListPeople, ReadRecord, WriteRecord, RevealHomeAccess, BreakGlass, Erase:
		return true
	}
	return false
}

// organisational reports whether a is about the organisation as a whole and
// so must not name a person.
func (a Action) organisational() bool {
	switch a {
	case ManageStaff, ManageClients, ManageSettings, ReviewAlerts, RequestSupport, ApproveSupport, ListStaff:
		return true
	}
	return false
}

// Subject is what the action is about. TenantID is always required; PersonID
// is required for person-level actions (ListPeople, ReadRecord, WriteRecord,
// RevealHomeAccess, BreakGlass), must be empty for organisation-level ones
// (Manage*, ReviewAlerts, RequestSupport, ApproveSupport), and is optional for
// ReadAudit (an access report on one person) and Export (one person's record,
// or bulk when empty). Kind matters for ReadRecord and WriteRecord only.
type Subject struct {
	TenantID string
	PersonID string
	Kind     haven.Kind
}

// VisitWindow is a visit assigned to the principal for the subject person.
type VisitWindow struct{ Start, End time.Time }

// Grant is a supplier principal's access to one tenant, approved by that
// tenant's admin (ApproveSupport). Ticket ties it to the support case the
// approval was for; a grant without one is refused, so every supplier access
// can be traced to a reason the controller saw.
type Grant struct {
	TenantID string
	Actions  []Action
	Expires  time.Time
	Ticket   string
}

// Context holds the facts the caller gathered. Zero values are the safe ones:
// no relationship, no visit, no lease, no grant, no scope, not stepped up.
type Context struct {
	Now            time.Time
	SteppedUp      bool          // a factor confirmed in the last 5 minutes
	Reason         string        // a stated reason (break-glass)
	OnCareTeam     bool          // the principal's staff record is on the person's care team
	SameService    bool          // the person is in the principal's service/team
	Visits         []VisitWindow // the principal's own visits to this person
	LeaseUntil     time.Time     // end of the principal's active break-glass lease on this person (zero: none)
	Grant          *Grant        // the supplier principal's approved access, if any
	ScopeAllows    bool          // for API clients: the token's scopes cover this action and kind
	HomeAccessLead time.Duration // how long before a visit starts its home-access details open; 0 means DefaultHomeAccessLead
}

// Decision is the answer. Allow is the only field that grants anything; the
// others tell the caller what else to do (ask for step-up, raise an alert,
// mark the audit entry).
type Decision struct {
	Allow  bool
	Reason string // short, for the audit log and for the user
	// NeedStepUp means every other condition holds and the action would be
	// allowed once the principal confirms a factor; Allow is false.
	NeedStepUp bool
	// Alert means the attempt itself must be reported to the controller,
	// whether or not it was allowed (a refused home-access reveal, a
	// break-glass lease opened).
	Alert bool
	// Lease means the access is allowed only through a break-glass lease;
	// the audit entry must say so, for the data-protection officer's review.
	Lease bool
	// LeaseUntil, when a BreakGlass is allowed, is when the lease the caller
	// now records must end. The policy sets it so the length of a lease is
	// decided here and nowhere else.
	LeaseUntil time.Time
}

// Limits of the rules. They are constants, not settings, because loosening
// them is a change to the policy, reviewed like one.
const (
	// DefaultHomeAccessLead is how long before a visit starts its
	// home-access details open: time to travel the last stretch and find
	// the key safe, short enough that a code is not held for a day.
	DefaultHomeAccessLead = 30 * time.Minute
	// MaxHomeAccessLead bounds a tenant's HomeAccessLead setting, so that a
	// careless setting cannot turn a visit into a day's standing access.
	MaxHomeAccessLead = 2 * time.Hour
	// MaxBreakGlassLease is how long a break-glass lease lasts: long enough
	// to deal with one emergency, short enough that it is not a caseload.
	MaxBreakGlassLease = time.Hour
	// MinReasonLength is the fewest characters (after trimming spaces) a
	// break-glass reason may have: enough to rule out "x" or "urgent", so the
	// data-protection officer has something to review.
	MinReasonLength = 10
	// MaxSupportGrant is the longest a tenant administrator can approve
	// supplier support for: a working day on one ticket, never standing
	// access.
	MaxSupportGrant = 8 * time.Hour
)

// Decide reports whether p may do a on s, given the facts in c.
func Decide(p haven.Principal, a Action, s Subject, c Context) Decision {
	d := decide(p, a, s, c)
	// Every refused attempt to reveal home access is reported, whoever made
	// it and whatever the reason: the 2022 breach took entry details of 890
	// people, and a probe for them must never pass quietly. The one
	// exception is a reveal that only lacks step-up, which is the normal
	// path of a carer at the door.
	if a == RevealHomeAccess && !d.Allow && !d.NeedStepUp {
		d.Alert = true
	}
	return d
}

func decide(p haven.Principal, a Action, s Subject, c Context) Decision {
	if !p.Role.Valid() {
		return deny("unknown role")
	}
	if !a.Valid() {
		return deny("unknown action")
	}
	a, _ = judgedAs(a)
	if s.TenantID == "" {
		return deny("no care organisation named")
	}
	if a.personal() && s.PersonID == "" {
		return deny("no person named")
	}
	if a.organisational() && s.PersonID != "" {
		return deny("this action is about the organisation, not one person")
	}

	// Supplier staff belong to no tenant: they reach one only through that
	// tenant's grant, never through the tenant check below.
	switch p.Role {
	case haven.RoleSupplierOperator:
		return deny("supplier operators have no access to care organisations' data")
	case haven.RoleSupplierSupport:
		return supplierSupport(p, a, s, c)
	}

	// The tenant check comes before any role rule, so that no rule can
	// forget it. An empty principal tenant never matches, because s.TenantID
	// is not empty.
	if p.TenantID != s.TenantID {
		return deny("not in this care organisation")
	}

	switch p.Role {
	case haven.RoleCarer, haven.RoleNurse:
		return carer(a, s, c)
	case haven.RoleClinician:
		return clinician(a, s, c)
	case haven.RoleCoordinator:
		return coordinator(a, s, c)
	case haven.RoleTenantAdmin:
		return tenantAdmin(a, c)
	case haven.RoleDPO:
		return dpo(a, s, c)
	case haven.RoleAPIClient:
		return apiClient(a, s, c)
	case haven.RoleSystem:
		return system(a, s)
	}
	return deny("unknown role")
}

func allow(reason string) Decision { return Decision{Allow: true, Reason: reason} }

func deny(reason string) Decision { return Decision{Reason: reason} }

// stepUp allows the action if the principal confirmed a factor recently, and
// otherwise says that step-up is all that is missing.
func stepUp(c Context, reason string) Decision {
	if c.SteppedUp {
		return allow(reason)
	}
	return needStepUp()
}

// needStepUp is the answer when a fresh factor is all that is missing.
func needStepUp() Decision {
	return Decision{NeedStepUp: true, Reason: "confirm your second factor first"}
}
