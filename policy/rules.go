package policy

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/havencare/haven"
)

// The rules of each role, after the tenant check. Each function answers every
// action: anything it does not name is refused with a reason, so a new action
// is denied until someone writes its row.

// carer holds for carers and nurses: their care team, nothing wider.
func carer(a Action, s Subject, c Context) Decision {
	switch a {
	case ListPeople, ReadRecord, WriteRecord:
		if d, ok := staffKind(a, s.Kind); !ok {
			return d
		}
		if !c.OnCareTeam {
			return deny("not on this person's care team")
		}
		return allow("on this person's care team")
	case RevealHomeAccess:
		return homeAccess(c)
	}
	return deny("not permitted for carers and nurses")
}

// staffKind is checkKind for the staff who visit (carers, nurses,
// clinicians), who also never write home-access details.
func staffKind(a Action, k haven.Kind) (Decision, bool) {
	if d, ok := checkKind(a, k); !ok {
		return d, false
	}
	if a == WriteRecord && k == haven.KindHomeAccess {
		return deny("home-access details are changed by the service's coordinators"), false
	}
	return Decision{}, true
}

// clinician: care team or service; outside that, only through break-glass.
func clinician(a Action, s Subject, c Context) Decision {
	switch a {
	case ListPeople, ReadRecord, WriteRecord:
		if d, ok := staffKind(a, s.Kind); !ok {
			return d
		}
		if c.OnCareTeam || c.SameService {
			return allow("on this person's care team or in their service")
		}
		switch leaseState(c) {
		case leaseNone:
			return deny("not on this person's care team or in their service")
		case leaseTooLong:
			// A lease longer than the policy grants was not opened by
			// Decide; trusting it would let a bad row become standing access.
			return deny("break-glass lease is longer than policy allows")
		}
		// Under a lease a clinician may record what they saw and did
		// (notes, observations), which clinical safety needs, but may not
		// change the diagnoses, medicines or plans that the person's own
		// team maintains.
		if a == WriteRecord && s.Kind != haven.KindNote && s.Kind != haven.KindObservation {
			return deny("under a break-glass lease only notes and observations may be written")
		}
		return Decision{Allow: true, Lease: true, Reason: "break-glass lease"}
	case RevealHomeAccess:
		return homeAccess(c)
	case BreakGlass:
		return breakGlass(c)
	}
	return deny("not permitted for clinicians")
}

// coordinator: the people of their service, scheduling records only.
func coordinator(a Action, s Subject, c Context) Decision {
	switch a {
	case ListPeople, ReadRecord, WriteRecord:
		if d, ok := checkKind(a, s.Kind); !ok {
			return d
		}
		if a != ListPeople && !schedulingKind(s.Kind) && !(a == WriteRecord && s.Kind == haven.KindHomeAccess) {
			return deny("coordinators see scheduling records, not clinical detail")
		}
		if !c.SameService {
			return deny("not in your service")
		}
		if s.Kind == haven.KindHomeAccess {
			// Coordinators record entry arrangements when care starts or a
			// code changes; replacing them is sensitive, so it needs a
			// fresh factor. Reading them back stays RevealHomeAccess's job.
			return stepUp(c, "coordinator of this person's service")
		}
		return allow("coordinator of this person's service")
	case ListStaff:
		// Arranging visits means knowing who can make them.
		return allow("coordinator: arranging visits")
	}
	return deny("not permitted for coordinators")
}

// schedulingKind reports whether a coordinator may read and write k: what
// arranging care needs (who, where, when, what care) and nothing clinical.
func schedulingKind(k haven.Kind) bool {
	switch k {
	case haven.KindPerson, haven.KindVisit, haven.KindCareTeam, haven.KindCarePlan:
		return true
	}
	return false
}

// tenantAdmin runs the organisation's account and sees no care records:
// an administrator's account is the one attackers want, so it opens nothing
// clinical.
func tenantAdmin(a Action, c Context) Decision {
	switch a {
	case ManageStaff, ManageClients, ManageSettings, ApproveSupport:
		// Each of these can create access (accounts, clients, supplier
		// grants) or silence detection (alert channels, thresholds).
		return stepUp(c, "tenant administrator")
	case ReviewAlerts, ListStaff:
		return allow("tenant administrator")
	case ListPeople, ReadRecord, WriteRecord:
		return deny("administrators do not see care records")
	}
	return deny("not permitted for tenant administrators")
}

// dpo oversees access: the audit log, alerts, subject access requests.
func dpo(a Action, s Subject, c Context) Decision {
	switch a {
	case ReadAudit, ReviewAlerts, ListStaff:
		// Who works here is part of knowing who had access.
		return allow("data-protection officer")
	case Export:
		if s.PersonID == "" {
			return deny("export one person at a time, for a subject access request")
		}
		return stepUp(c, "data-protection officer: subject access request")
	case ListPeople, ReadRecord, WriteRecord:
		return deny("the data-protection officer does not browse care records")
	}
	return deny("not permitted for the data-protection officer")
}

// apiClient may do what its token's scopes cover, within its tenant, and
// never anything that reveals home access or changes who has access. It may
// read the audit log only under a scope that names it.
func apiClient(a Action, s Subject, c Context) Decision {
	switch a {
	case ListPeople, ReadRecord, WriteRecord, Export, ListStaff:
		if d, ok := checkKind(a, s.Kind); !ok {
			return d
		}
		if a == WriteRecord && s.Kind == haven.KindHomeAccess {
			return deny("home-access details are not available through the API")
		}
		if !c.ScopeAllows {
			return deny("the token's scopes do not cover this")
		}
		return allow("within the token's scopes")
	case ReadAudit:
		// The audit log and access reports, for the controller's own audit
		// and subject-access tooling. The caller grants ScopeAllows only
		// for a scope that names the audit log (fhir.ScopeAllows:
		// system/AuditEvent.rs; a wildcard does not count), so reading who
		// saw whose records is granted deliberately, never by accident.
		if !c.ScopeAllows {
			return deny("the token's scopes do not name the audit log (system/AuditEvent.rs)")
		}
		return allow("the token's scopes name the audit log")
	}
	return deny("not permitted for API clients")
}

// system is Haven at the console (seeding, import, key rotation, first
// account): it may do anything in its tenant except what would bypass a
// person at a visit or the controller's own approval.
func system(a Action, s Subject) Decision {
	switch a {
	case RevealHomeAccess:
		// The console is the supplier's; entry details are for staff at a
		// visit, and no import or rotation needs them in the clear.
		return deny("home-access details are revealed only to staff at a visit, never at the console")
	case BreakGlass:
		return deny("the system needs no lease")
	case RequestSupport:
		return deny("only supplier support requests access")
	case ApproveSupport:
		// The console is operated by the supplier; letting it approve would
		// let the processor grant itself access.
		return deny("only the care organisation's administrator approves supplier access")
	case Erase:
		// Erasure cannot be undone (the person's key is destroyed), so no
		// stolen session can do it: it is carried out at the console, on the
		// controller's written instruction, and audited there.
		return allow("erasure at the console")
	case ReadRecord, WriteRecord:
		if d, ok := checkKind(a, s.Kind); !ok {
			return d
		}
	}
	return allow("Haven acting at the console")
}

// grantable are the actions a tenant admin can approve for supplier support:
// what diagnosing and fixing a customer's problem needs. Everything else is
// refused even if a grant lists it, so a careless approval cannot hand out
// exports, entry details or the power to create lasting access.
func grantable(a Action) bool {
	switch a {
	case ListPeople, ReadRecord, WriteRecord, ReadAudit, ManageSettings:
		return true
	}
	return false
}

// supplierSupport has no standing access: only RequestSupport, and what the
// tenant's current grant names.
func supplierSupport(p haven.Principal, a Action, s Subject, c Context) Decision {
	if p.TenantID != "" {
		return deny("supplier staff belong to no care organisation")
	}
	if a == RequestSupport {
		return allow("supplier support may ask for access")
	}
	if !grantable(a) {
		return deny("never permitted for supplier staff, even with approval")
	}
	if d, ok := checkKind(a, s.Kind); !ok {
		return d
	}
	if a == WriteRecord && s.Kind == haven.KindHomeAccess {
		return deny("home-access details are never available to supplier staff")
	}
	g := c.Grant
	if g == nil || g.TenantID != s.TenantID {
		return deny("no approved access")
	}
	if g.Ticket == "" {
		return deny("approved access names no support ticket")
	}
	if c.Now.IsZero() {
		return deny("no time given")
	}
	if !c.Now.Before(g.Expires) {
		return deny("approved access has expired")
	}
	if g.Expires.Sub(c.Now) > MaxSupportGrant {
		// Approval caps grants at 8 hours; a longer one did not come
		// through approval, and trusting it would make standing access.
		return deny("approved access is longer than policy allows")
	}
	if !slices.Contains(g.Actions, a) {
		return deny("approved access does not cover this action")
	}
	// Every use of supplier access needs a fresh factor: this is the path
	// the 2022 attackers took, and a stolen support session should be worth
	// minutes, not the length of the grant.
	return stepUp(c, "approved supplier access, ticket "+g.Ticket)
}

// checkKind refuses record kinds an action cannot be about. ReadRecord never
// returns home access (RevealHomeAccess does, under its own rule) and neither
// reads nor writes staff records (ManageStaff does). Other actions do not
// look at the kind.
func checkKind(a Action, k haven.Kind) (Decision, bool) {
	if a != ReadRecord && a != WriteRecord {
		return Decision{}, true
	}
	switch k {
	case haven.KindPerson, haven.KindCondition, haven.KindAllergy, haven.KindMedication,
		haven.KindObservation, haven.KindNote, haven.KindCarePlan, haven.KindCareTeam, haven.KindVisit:
		return Decision{}, true
	case haven.KindHomeAccess:
		if a == WriteRecord {
			return Decision{}, true
		}
		return deny("home-access details are only revealed, one visit at a time"), false
	case haven.KindStaff:
		return deny("staff records are managed through manage-staff"), false
	}
	return deny("not a kind of care record"), false
}

// homeAccess opens entry details to the principal assigned to a visit, from
// the lead time before the visit starts until it ends, after step-up. The
// window is half-open, [Start-lead, End), like leases and grants: at End the
// visit is over and the details are closed.
func homeAccess(c Context) Decision {
	if c.Now.IsZero() {
		return deny("no time given")
	}
	lead := c.HomeAccessLead
	if lead <= 0 {
		lead = DefaultHomeAccessLead
	}
	lead = min(lead, MaxHomeAccessLead)
	if len(c.Visits) == 0 {
		return deny("no visit to this person is assigned to you")
	}
	for _, v := range c.Visits {
		if !v.End.After(v.Start) {
			continue // a malformed visit opens nothing
		}
		if !c.Now.Before(v.Start.Add(-lead)) && c.Now.Before(v.End) {
			return stepUp(c, "assigned visit to this person")
		}
	}
	return deny("outside your visit's home-access window")
}

// breakGlass opens a lease for a clinician: a stated reason, a fresh factor,
// and an alert to the controller every time.
func breakGlass(c Context) Decision {
	if utf8.RuneCountInString(strings.TrimSpace(c.Reason)) < MinReasonLength {
		return deny("state a reason of at least 10 characters")
	}
	if c.Now.IsZero() {
		return deny("no time given")
	}
	if !c.SteppedUp {
		return needStepUp()
	}
	return Decision{
		Allow:      true,
		Alert:      true,
		LeaseUntil: c.Now.Add(MaxBreakGlassLease),
		Reason:     "break-glass: lease opened, the data-protection officer will review it",
	}
}

type lease int

const (
	leaseNone lease = iota
	leaseActive
	leaseTooLong
)

// leaseState reads the lease in c. It ends at LeaseUntil (exclusive). With
// no time given there is no lease, because a zero Now is before every end.
func leaseState(c Context) lease {
	if c.Now.IsZero() || c.LeaseUntil.IsZero() || !c.Now.Before(c.LeaseUntil) {
		return leaseNone
	}
	if c.LeaseUntil.Sub(c.Now) > MaxBreakGlassLease {
		return leaseTooLong
	}
	return leaseActive
}
