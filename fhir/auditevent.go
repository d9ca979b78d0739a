package fhir

// The audit log as FHIR AuditEvent resources, read-only: GET
// /fhir/AuditEvent (search) and GET /fhir/AuditEvent/{id} (read). Each
// resource is one entry of the tenant's tamper-evident log (package audit),
// read through the record service (care.AuditLog, care.AuditEntry) under
// policy action read-audit, confined to the client's tenant and itself
// audited. Writes are refused with 405: the log is append-only and only
// Haven appends to it. docs/fhir.md ("AuditEvent") has the mapping table.

import (
	"context"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/store"
)

// Code systems and identifier systems of the AuditEvent mapping. The
// Haven ones are fixed canonical URLs, the same for every deployment (they
// name Haven's vocabulary, not a server).
const (
	// AuditActionSystem holds Haven's audit actions ("read", "reveal",
	// "sign-in", "audit-query"...) exactly as the log records them.
	AuditActionSystem = "https://haven.example/fhir/CodeSystem/audit-action"
	// AuditActorSystem identifies the actor of an entry: a member of
	// staff's account, an API client's id, or "system" for the console.
	AuditActorSystem = "https://haven.example/fhir/sid/actor"
	// AuditRecordSystem identifies a record of a kind Haven serves as no
	// FHIR type (home-access details, accounts...).
	AuditRecordSystem = "https://haven.example/fhir/sid/record"

	auditTypeSystem        = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	auditInteractionSystem = "http://hl7.org/fhir/restful-interaction"
	auditOutcomeSystem     = "http://hl7.org/fhir/audit-event-outcome"
	auditEntityTypeSystem  = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	auditObjectRoleSystem  = "http://terminology.hl7.org/CodeSystem/object-role"
	auditSourceTypeSystem  = "http://terminology.hl7.org/CodeSystem/security-source-type"
)

// AuditEvent is the FHIR R4 AuditEvent Haven serves for one audit entry.
type AuditEvent struct {
	ResourceType   string             `json:"resourceType"`
	ID             string             `json:"id"`
	Meta           *Meta              `json:"meta,omitempty"`
	Type           AuditCoding        `json:"type"`
	Subtype        []AuditCoding      `json:"subtype,omitempty"`
	Action         string             `json:"action,omitempty"`
	Recorded       string             `json:"recorded"`
	Outcome        string             `json:"outcome"`
	OutcomeDesc    string             `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []AuditConcept     `json:"purposeOfEvent,omitempty"`
	Agent          []AuditEventAgent  `json:"agent"`
	Source         AuditEventSource   `json:"source"`
	Entity         []AuditEventEntity `json:"entity,omitempty"`
}

// AuditCoding is a FHIR Coding.
type AuditCoding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// AuditConcept is a FHIR CodeableConcept.
type AuditConcept struct {
	Coding []AuditCoding `json:"coding,omitempty"`
	Text   string        `json:"text,omitempty"`
}

// AuditReference is a FHIR Reference, by URL or by identifier.
type AuditReference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// AuditEventAgent is who acted.
type AuditEventAgent struct {
	Role      []AuditConcept `json:"role,omitempty"`
	Who       AuditReference `json:"who"`
	Requestor bool           `json:"requestor"`
	Network   *AuditNetwork  `json:"network,omitempty"`
}

// AuditNetwork is where the request came from (type 1: machine name, 2: IP
// address).
type AuditNetwork struct {
	Address string `json:"address"`
	Type    string `json:"type"`
}

// AuditEventSource is who recorded the event: Haven.
type AuditEventSource struct {
	Observer AuditReference `json:"observer"`
	Type     []AuditCoding  `json:"type,omitempty"`
}

// AuditEventEntity is what was acted on.
type AuditEventEntity struct {
	What        AuditReference `json:"what"`
	Type        *AuditCoding   `json:"type,omitempty"`
	Role        *AuditCoding   `json:"role,omitempty"`
	Description string         `json:"description,omitempty"`
}

// auditInteractions are the Haven actions that are FHIR RESTful
// interactions, with the interaction's code.
var auditInteractions = map[string]string{
	care.ActionRead:   "read",
	care.ActionSearch: "search-type",
	care.ActionCreate: "create",
	care.ActionUpdate: "update",
	care.ActionDelete: "delete",
}

// auditActionCode is the audit-event-action (C, R, U, D or E) of each Haven
// action; any other action (signing in, issuing a token, containment) is E,
// execute.
var auditActionCode = map[string]string{
	care.ActionCreate: "C", care.ActionTenant: "C", care.ActionBreakGlass: "C", care.ActionSupportAsk: "C",
	auth.ActionInvite: "C", auth.ActionClientAdd: "C", auth.ActionFactorAdd: "C",

	care.ActionRead: "R", care.ActionSearch: "R", care.ActionList: "R", care.ActionReveal: "R", care.ActionAuditRead: "R",

	care.ActionUpdate: "U", care.ActionSettings: "U", care.ActionAlertAck: "U", care.ActionLeaseReview: "U",
	care.ActionSupportGrant: "U", care.ActionSupportRevoke: "U", care.ActionKeyRotate: "U",
	auth.ActionEnrol: "U", auth.ActionRoleChange: "U", auth.ActionLockout: "U", auth.ActionUnlock: "U",
	auth.ActionRecoveryCodes: "U",

	care.ActionDelete: "D", care.ActionErase: "D", auth.ActionClientRemove: "D", auth.ActionFactorRemove: "D",
	auth.ActionRevoke: "D",
}

// auditSucceeded are the outcomes the log records for an access or step
// that went ahead; every other outcome (denied, not-found, invalid,
// conflict, locked...) is an attempt that was refused or failed.
var auditSucceeded = map[string]bool{"ok": true, "password-set": true, "first-factor": true, "passkey-required": true}

// auditOutcome is the FHIR outcome code of a Haven outcome: 0 (success) or
// 4 (minor failure: the request was refused or could not be done). Haven
// records no outcome for its own failures (the access fails and nothing is
// written), so 8 and 12 never occur.
func auditOutcome(outcome string) string {
	if auditSucceeded[outcome] {
		return "0"
	}
	return "4"
}

// AuditEventFromEntry maps one audit entry to an AuditEvent. Its id is the
// entry's sequence number in the tenant's log.
func AuditEventFromEntry(e audit.Entry) AuditEvent {
	recorded := e.Time.UTC().Format(time.RFC3339Nano)
	ev := AuditEvent{
		ResourceType: "AuditEvent",
		ID:           strconv.FormatInt(e.Seq, 10),
		Meta:         &Meta{LastUpdated: recorded},
		Type:         AuditCoding{System: auditTypeSystem, Code: "rest", Display: "RESTful Operation"},
		Action:       auditActionCode[e.Action],
		Recorded:     recorded,
		Outcome:      auditOutcome(e.Outcome),
		OutcomeDesc:  e.Outcome,
		Source: AuditEventSource{
			Observer: AuditReference{Display: "Haven"},
			Type:     []AuditCoding{{System: auditSourceTypeSystem, Code: "4", Display: "Application Server"}},
		},
	}
	if ev.Action == "" {
		ev.Action = "E"
	}
	if code, ok := auditInteractions[e.Action]; ok {
		ev.Subtype = append(ev.Subtype, AuditCoding{System: auditInteractionSystem, Code: code})
	}
	if e.Action != "" {
		ev.Subtype = append(ev.Subtype, AuditCoding{System: AuditActionSystem, Code: e.Action})
	}
	if e.Purpose != "" {
		ev.PurposeOfEvent = []AuditConcept{{Text: e.Purpose}}
	}
	agent := AuditEventAgent{Who: AuditReference{Identifier: &Identifier{System: AuditActorSystem, Value: e.Actor}}, Requestor: true}
	if e.ActorRole != "" {
		agent.Role = []AuditConcept{{Text: e.ActorRole}}
	}
	if e.ClientAddr != "" {
		typ := "1"
		if net.ParseIP(e.ClientAddr) != nil {
			typ = "2"
		}
		agent.Network = &AuditNetwork{Address: e.ClientAddr, Type: typ}
	}
	ev.Agent = []AuditEventAgent{agent}
	if e.PersonID != "" {
		ev.Entity = append(ev.Entity, AuditEventEntity{
			What: AuditReference{Reference: "Patient/" + e.PersonID},
			Type: &AuditCoding{System: auditEntityTypeSystem, Code: "1", Display: "Person"},
			Role: &AuditCoding{System: auditObjectRoleSystem, Code: "1", Display: "Patient"},
		})
	}
	if e.RecordID != "" && !(e.Kind == string(haven.KindPerson) && e.RecordID == e.PersonID) {
		ent := AuditEventEntity{Type: &AuditCoding{System: auditEntityTypeSystem, Code: "2", Display: "System Object"}}
		if t, ok := typeOfKind(haven.Kind(e.Kind)); ok {
			ent.What = AuditReference{Reference: t.name + "/" + e.RecordID}
		} else {
			ent.What = AuditReference{Identifier: &Identifier{System: AuditRecordSystem, Value: e.RecordID}}
			if e.Kind != "" {
				ent.Description = "Haven " + e.Kind + " record"
			}
		}
		ev.Entity = append(ev.Entity, ent)
	}
	return ev
}

// auditScope reports whether the token's named scopes give the audit log:
// read and search of AuditEvent, registered for the client by type. It is
// the rule a bulk export applies to each type it exports (exportScopes): a
// wildcard (system/*.rs) does not count, even when the client asked for
// system/AuditEvent.rs through it, because who read whose record is itself
// sensitive, and a client given every clinical type has not thereby been
// given the log.
func auditScope(named []string) bool {
	return exportScopes(named, []string{"AuditEvent"}) == nil
}

// auditParams are the search parameters of AuditEvent.
var auditParams = []string{"_id", "_count", "_cursor", "patient", "agent", "date", "outcome"}

// auditParamDocs describe them in the CapabilityStatement.
var auditParamDocs = map[string]param{
	"_id":     {"_id", "token", "the entry's sequence number in the organisation's log"},
	"_count":  {"_count", "number", "results per page (at most 100); next links page on"},
	"_cursor": {"_cursor", "string", "paging position (a sequence number), as the next link gives it"},
	"patient": {"patient", "reference", "entries about this person: who read or changed their data (one person; Patient/<id> or <id>)"},
	"agent":   {"agent", "reference", "entries by this actor (the id in agent.who.identifier); several, comma-separated, match any"},
	"date":    {"date", "date", "when the entry was recorded: eq, gt, ge, lt, le"},
	"outcome": {"outcome", "token", "0 (success) or 4 (refused or failed); comma-separated matches any"},
}

// auditEventCapability is AuditEvent's entry in the CapabilityStatement:
// exactly the interactions and parameters served here.
func auditEventCapability() capability {
	c := capability{Type: "AuditEvent", Versioning: "no-version", ConditionalDelete: "not-supported",
		Interaction: []interaction{{"read"}, {"search-type"}}}
	for _, p := range auditParams {
		c.SearchParam = append(c.SearchParam, auditParamDocs[p])
	}
	return c
}

// AuditEventWrite answers POST, PUT, PATCH and DELETE on AuditEvent: 405.
// Nothing is read or written, so no token is needed to be told.
func (s *Server) AuditEventWrite(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET")
	writeOutcome(w, http.StatusMethodNotAllowed, "not-supported",
		"AuditEvent is Haven's audit log: it is append-only and written only by Haven, as it records each access; "+
			"entries cannot be created, changed or deleted through the API")
}

// AuditEventRead answers GET /fhir/AuditEvent/{id}: the entry at that
// sequence number of the client's own organisation's log.
func (s *Server) AuditEventRead(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.begin(w, r, false)
	if !ok {
		return
	}
	// An id that is not a sequence number is looked up as -1, which no
	// entry has: the lookup is still authorized and audited (not found).
	e, err := s.care.AuditEntry(r.Context(), p, auditSeq(r.PathValue("id")))
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("ETag", `W/"1"`)
	w.Header().Set("Last-Modified", e.Time.UTC().Format(http.TimeFormat))
	writeResource(w, http.StatusOK, AuditEventFromEntry(e))
}

// auditSeq reads an id as a sequence number in canonical form ("7", not
// "07" or "+7"), or -1.
func auditSeq(id string) int64 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != id {
		return -1
	}
	return n
}

// AuditEventSearch answers GET /fhir/AuditEvent?... Unsupported parameters
// are reported as for every other type (refused under Prefer:
// handling=strict).
func (s *Server) AuditEventSearch(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.begin(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	ignored, ok := unsupportedParams(w, r, q, "AuditEvent", auditParams)
	if !ok {
		return
	}
	b, err := s.searchAudit(r.Context(), p, q)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.answerSearch(w, b, "AuditEvent", q, ignored)
}

// AuditEventSearchForm answers POST /fhir/AuditEvent/_search: the audit
// log search GET would run with the form's parameters, as for every
// searchable type.
func (s *Server) AuditEventSearchForm(w http.ResponseWriter, r *http.Request) {
	if formAsQuery(w, r) {
		s.AuditEventSearch(w, r)
	}
}

// searchAudit runs a search of the audit log whose parameters are all
// supported: one page, oldest first, paged by sequence number.
func (s *Server) searchAudit(ctx context.Context, p haven.Principal, q url.Values) (*Bundle, error) {
	count := defaultCount
	if n := q.Get("_count"); n != "" {
		c, err := strconv.Atoi(n)
		if err != nil || c < 1 {
			return nil, haven.Invalid("_count", "must be a whole number of at least 1")
		}
		count = min(c, maxCount)
	}
	var aq store.AuditQuery
	if v := q.Get("_cursor"); v != "" {
		if aq.FromSeq = auditSeq(v); aq.FromSeq < 0 {
			return nil, haven.Invalid("_cursor", "is not a paging position Haven gave; follow the next link as it is")
		}
	}
	if ref := q.Get("patient"); ref != "" || q.Has("patient") {
		person := strings.TrimPrefix(ref, "Patient/")
		if len(q["patient"]) > 1 || person == "" || strings.ContainsAny(person, "/,") {
			return nil, haven.Invalid("patient", "must be one Patient id or Patient/<id>: an access report is about one person")
		}
		aq.PersonID = person
	}
	for _, v := range q["agent"] {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a == "" {
				return nil, haven.Invalid("agent", "must be actor ids (agent.who.identifier.value), comma-separated")
			}
			aq.Actors = append(aq.Actors, a)
		}
	}
	var empty bool
	var err error
	if aq.Since, aq.Until, empty, err = auditWindow(q["date"]); err != nil {
		return nil, err
	}
	var keep func(audit.Entry) bool
	if v := q["outcome"]; len(v) > 0 {
		codes, err := auditOutcomeCodes(v)
		if err != nil {
			return nil, err
		}
		keep = func(e audit.Entry) bool { return codes[auditOutcome(e.Outcome)] }
	}
	id := int64(-2) // no _id
	if v := q.Get("_id"); v != "" {
		// An _id that is no sequence number matches nothing, but the
		// search is still authorized and audited.
		id = auditSeq(v)
		aq.FromSeq = id
		if id < 0 {
			aq.FromSeq = math.MaxInt64
		}
		count = 1
	}
	if empty {
		// A window that holds no instant: nothing to read, but the
		// client must still be allowed to read the log.
		aq.FromSeq = math.MaxInt64
	}
	aq.Limit = count + 1
	entries, err := s.care.AuditLog(ctx, p, aq, keep)
	if err != nil {
		return nil, err
	}
	if id != -2 {
		entries = slices.DeleteFunc(entries, func(e audit.Entry) bool { return e.Seq != id })
	}
	more := len(entries) > count
	if more {
		entries = entries[:count]
	}
	b := &Bundle{ResourceType: "Bundle", Type: "searchset"}
	if !more && q.Get("_cursor") == "" {
		n := len(entries)
		b.Total = &n
	}
	for _, e := range entries {
		b.Entry = append(b.Entry, BundleEntry{FullURL: s.origin + "/fhir/AuditEvent/" + strconv.FormatInt(e.Seq, 10),
			Resource: AuditEventFromEntry(e), Search: &BundleSearch{Mode: "match"}})
	}
	if more && len(entries) > 0 {
		next := cloneValues(q)
		next.Set("_cursor", strconv.FormatInt(entries[len(entries)-1].Seq+1, 10))
		b.Link = append(b.Link, BundleLink{Relation: "next", URL: s.origin + "/fhir/AuditEvent?" + next.Encode()})
	}
	return b, nil
}

// auditWindow turns date parameters into the store's window [since,
// until): each is a FHIR date search value (checked by dateFilter, the
// parser every date parameter uses, with its messages), and several
// intersect. Entries are recorded to the microsecond, so the bounds are
// rounded up to a microsecond as the store compares them. empty reports a
// window that can hold nothing.
func auditWindow(conds []string) (since, until time.Time, empty bool, err error) {
	hasUntil := false
	for _, cond := range conds {
		if _, err := dateFilter("date", cond); err != nil {
			return since, until, false, err
		}
		prefix, v := "eq", cond
		if len(cond) > 2 && cond[0] >= 'a' && cond[0] <= 'z' {
			prefix, v = cond[:2], cond[2:]
		}
		start, end, _ := dateRange(v)
		var lo, hi time.Time // zero: open
		switch prefix {
		case "eq":
			lo, hi = start, end
		case "gt":
			lo = end
		case "ge":
			lo = start
		case "lt":
			hi = start
		case "le":
			hi = end
		case "sa":
			lo = end
		case "eb":
			hi = start
		default:
			// An entry is an instant, so the prefixes are bounds of one
			// window; ne would be two.
			return since, until, false, haven.Invalid("date", "prefix %s is not supported for AuditEvent; use eq, gt, ge, lt, le, sa or eb", quoteShort(prefix))
		}
		if lo = ceilMicro(lo); lo.After(since) {
			since = lo
		}
		if !hi.IsZero() {
			if hi = ceilMicro(hi); !hasUntil || hi.Before(until) {
				until, hasUntil = hi, true
			}
		}
	}
	// A zero until means "now" to the store; a window closing at or before
	// the beginning of time holds nothing.
	if hasUntil && (until.IsZero() || !until.After(since)) {
		return since, until, true, nil
	}
	return since, until, false, nil
}

func ceilMicro(t time.Time) time.Time {
	c := t.Truncate(time.Microsecond)
	if c.Before(t) {
		c = c.Add(time.Microsecond)
	}
	return c
}

// auditOutcomeCodes reads outcome parameters: audit-event-outcome codes
// (0, 4, 8, 12), optionally with their system, comma-separated.
func auditOutcomeCodes(values []string) (map[string]bool, error) {
	codes := map[string]bool{}
	for _, v := range values {
		for _, tok := range strings.Split(v, ",") {
			system, code, hasSystem := strings.Cut(tok, "|")
			if !hasSystem {
				code, system = tok, auditOutcomeSystem
			}
			switch {
			case system != auditOutcomeSystem:
				return nil, haven.Invalid("outcome", "the outcome system is %s", auditOutcomeSystem)
			case code == "0" || code == "4" || code == "8" || code == "12":
				codes[code] = true
			default:
				return nil, haven.Invalid("outcome", "%s is not an audit-event-outcome code (0, 4, 8 or 12)", quoteShort(code))
			}
		}
	}
	return codes, nil
}
