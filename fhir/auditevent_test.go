package fhir_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/store"
)

// The AuditEvent tests run on SQLite and, with HAVEN_TEST_POSTGRES_URL
// set, on PostgreSQL: paging and the tenant wall are the store's.
func TestAuditEventSQLite(t *testing.T) { testAuditEvent(t, authtest.Options{People: 3}) }
func TestAuditEventPostgres(t *testing.T) {
	testAuditEvent(t, authtest.Options{People: 3, Postgres: true})
}

// event is one AuditEvent as a test reads it.
type event map[string]any

func (e event) id() string { s, _ := e["id"].(string); return s }

func (e event) str(path string) string {
	var v any = map[string]any(e)
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// subtypes lists the subtype codes as system|code.
func (e event) subtypes() []string {
	var out []string
	st, _ := e["subtype"].([]any)
	for _, c := range st {
		m := c.(map[string]any)
		out = append(out, m["system"].(string)+"|"+m["code"].(string))
	}
	return out
}

// entities lists the entity references.
func (e event) entities() []string {
	var out []string
	en, _ := e["entity"].([]any)
	for i := range en {
		if ref := e.str("entity." + strconv.Itoa(i) + ".what.reference"); ref != "" {
			out = append(out, ref)
		}
	}
	return out
}

// page is one searchset: its AuditEvents, in order, and its next link.
type page struct {
	events []event
	next   string
	total  int // -1 when absent
	raw    string
}

func (a *api) auditSearch(t *testing.T, tok, query string) page {
	t.Helper()
	r := a.do(t, "GET", "/fhir/AuditEvent"+query, tok, "")
	if r.status != 200 || r.body["resourceType"] != "Bundle" || r.body["type"] != "searchset" {
		t.Fatalf("GET /fhir/AuditEvent%s: %d %.500s", query, r.status, r.raw)
	}
	p := page{total: -1, raw: r.raw}
	if n, ok := r.body["total"].(float64); ok {
		p.total = int(n)
	}
	entries, _ := r.body["entry"].([]any)
	for _, x := range entries {
		en := x.(map[string]any)
		if s, _ := en["search"].(map[string]any); s["mode"] != "match" {
			continue
		}
		ev := event(en["resource"].(map[string]any))
		if ev["resourceType"] != "AuditEvent" || en["fullUrl"] != a.base+"/fhir/AuditEvent/"+ev.id() {
			t.Fatalf("entry is not an AuditEvent at its own URL: %v", en)
		}
		p.events = append(p.events, ev)
	}
	links, _ := r.body["link"].([]any)
	for _, l := range links {
		if m := l.(map[string]any); m["relation"] == "next" {
			p.next = strings.TrimPrefix(m["url"].(string), a.base+"/fhir/AuditEvent")
		}
	}
	return p
}

// auditAll follows next links from query to the end and returns every
// event, checking that no id repeats and ids only grow.
func (a *api) auditAll(t *testing.T, tok, query string) []event {
	t.Helper()
	var out []event
	seen := map[string]bool{}
	last := int64(-1)
	for pages := 0; query != ""; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		p := a.auditSearch(t, tok, query)
		if p.next != "" && len(p.events) == 0 {
			t.Fatalf("an empty page with a next link: %s", p.raw)
		}
		for _, e := range p.events {
			seq, err := strconv.ParseInt(e.id(), 10, 64)
			if err != nil || seen[e.id()] || seq <= last {
				t.Fatalf("id %q repeated or out of order (after %d)", e.id(), last)
			}
			seen[e.id()], last = true, seq
			out = append(out, e)
		}
		query = p.next
	}
	return out
}

// clientID is the API client id a token was issued to.
func clientID(t *testing.T, a *api, tok string) string {
	t.Helper()
	g, err := a.Auth.AuthenticateToken(context.Background(), tok, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return g.Principal.ID
}

// logOf reads a tenant's audit entries straight from the store (no audit
// entry of its own), optionally those of one actor.
func logOf(t *testing.T, a *api, tenant string, actors ...string) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	err := a.DB.View(context.Background(), haven.ScopeOf(haven.SystemPrincipal(tenant, "test")), func(tx store.Tx) error {
		var err error
		out, err = tx.AuditEntries(store.AuditQuery{Actors: actors, Until: a.Clock.Now().Add(24 * time.Hour)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func findEvent(events []event, match func(event) bool) (event, bool) {
	for _, e := range events {
		if match(e) {
			return e, true
		}
	}
	return nil, false
}

func ids(events []event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.id())
	}
	return out
}

func testAuditEvent(t *testing.T, opt authtest.Options) {
	a := newAPIWith(t, opt)
	writer := a.token(t, authtest.North, "system/*.cruds")
	reader := a.token(t, authtest.North, "system/Patient.rs")
	auditor := a.token(t, authtest.North, "system/AuditEvent.rs")
	readerID, auditorID := clientID(t, a, reader), clientID(t, a, auditor)
	person := realPerson(t, a, authtest.North)

	c := a.do(t, "POST", "/fhir/Condition", writer, sprintf(condition, person))
	if c.status != 201 {
		t.Fatalf("create condition: %d %s", c.status, c.raw)
	}
	condID := c.body["id"].(string)
	// Another client reads the patient (allowed) and the condition (refused:
	// its scopes name Patient only).
	if r := a.do(t, "GET", "/fhir/Patient/"+person, reader, ""); r.status != 200 {
		t.Fatalf("read patient: %d %s", r.status, r.raw)
	}
	a.do(t, "GET", "/fhir/Condition/"+condID, reader, "").outcome(t, http.StatusForbidden)

	isReaders := func(action, outcome string) func(event) bool {
		return func(e event) bool {
			return e.str("agent.0.who.identifier.value") == readerID && slices.Contains(e.subtypes(), "https://haven.example/fhir/CodeSystem/audit-action|"+action) &&
				e.str("outcomeDesc") == outcome
		}
	}

	t.Run("a person's access report", func(t *testing.T) {
		p := a.auditSearch(t, auditor, "?patient="+person)
		read, ok := findEvent(p.events, isReaders("read", "ok"))
		if !ok {
			t.Fatalf("the reader's read of the patient is not in the report: %.2000s", p.raw)
		}
		for path, want := range map[string]string{
			"resourceType":                  "AuditEvent",
			"type.system":                   "http://terminology.hl7.org/CodeSystem/audit-event-type",
			"type.code":                     "rest",
			"action":                        "R",
			"outcome":                       "0",
			"recorded":                      a.Clock.Now().UTC().Format(time.RFC3339Nano),
			"agent.0.who.identifier.system": "https://haven.example/fhir/sid/actor",
			"agent.0.role.0.text":           string(haven.RoleAPIClient),
			"agent.0.requestor":             "true",
			"agent.0.network.address":       "127.0.0.1",
			"agent.0.network.type":          "2",
			"source.observer.display":       "Haven",
			"purposeOfEvent.0.text":         "API: GET /fhir/Patient/" + person,
			"entity.0.what.reference":       "Patient/" + person,
		} {
			if got := read.str(path); got != want {
				t.Errorf("%s = %q, want %q", path, got, want)
			}
		}
		if !slices.Contains(read.subtypes(), "http://hl7.org/fhir/restful-interaction|read") {
			t.Errorf("subtype %v lacks the restful interaction read", read.subtypes())
		}
		// The refused read of the condition: outcome 4, Haven's reason kept.
		denied, ok := findEvent(p.events, isReaders("read", "denied"))
		if !ok {
			t.Fatalf("the refused condition read is not in the report: %.2000s", p.raw)
		}
		if denied.str("outcome") != "4" || !slices.Contains(denied.entities(), "Condition/"+condID) {
			t.Errorf("refused read: outcome %q, entities %v", denied.str("outcome"), denied.entities())
		}
		// Every event of the report is about the person.
		for _, e := range p.events {
			if !slices.Contains(e.entities(), "Patient/"+person) {
				t.Errorf("event %s is not about %s: %v", e.id(), person, e.entities())
			}
		}
		// Reading the report is itself in it, the next time.
		again := a.auditSearch(t, auditor, "?patient="+person)
		self, ok := findEvent(again.events, func(e event) bool {
			return e.str("agent.0.who.identifier.value") == auditorID && slices.Contains(e.subtypes(), "https://haven.example/fhir/CodeSystem/audit-action|audit-query")
		})
		if !ok || self.str("outcome") != "0" || self.str("action") != "R" {
			t.Fatalf("the report's own read is not recorded: %v %.2000s", self, again.raw)
		}

		// Read by id gives the same resource, with an ETag.
		r := a.do(t, "GET", "/fhir/AuditEvent/"+read.id(), auditor, "")
		if r.status != 200 || r.header.Get("ETag") != `W/"1"` || r.body["id"] != read.id() || event(r.body).str("agent.0.who.identifier.value") != readerID {
			t.Errorf("read %s: %d %v %s", read.id(), r.status, r.header, r.raw)
		}
		a.do(t, "GET", "/fhir/AuditEvent/999999999", auditor, "").outcome(t, http.StatusNotFound)
		a.do(t, "GET", "/fhir/AuditEvent/0"+read.id(), auditor, "").outcome(t, http.StatusNotFound) // not canonical
		a.do(t, "GET", "/fhir/AuditEvent/x", auditor, "").outcome(t, http.StatusNotFound)

		// The agent parameter: only the reader's entries.
		byAgent := a.auditAll(t, auditor, "?agent="+url.QueryEscape(readerID))
		if len(byAgent) < 2 {
			t.Errorf("agent search found %d entries", len(byAgent))
		}
		for _, e := range byAgent {
			if e.str("agent.0.who.identifier.value") != readerID {
				t.Errorf("agent search returned %s's entry", e.str("agent.0.who.identifier.value"))
			}
		}
		if _, ok := findEvent(byAgent, isReaders("read", "ok")); !ok {
			t.Errorf("agent search lacks the read")
		}
		// _id finds the one entry, with other filters applied.
		if p := a.auditSearch(t, auditor, "?_id="+read.id()); len(p.events) != 1 || p.events[0].id() != read.id() || p.total != 1 {
			t.Errorf("_id=%s: %v", read.id(), ids(p.events))
		}
		if p := a.auditSearch(t, auditor, "?_id="+read.id()+"&outcome=4"); len(p.events) != 0 {
			t.Errorf("_id with a non-matching outcome: %v", ids(p.events))
		}
		if p := a.auditSearch(t, auditor, "?_id=x"); len(p.events) != 0 || p.total != 0 {
			t.Errorf("_id=x: %v", ids(p.events))
		}
	})

	t.Run("outcome", func(t *testing.T) {
		all := a.auditAll(t, auditor, "?_count=100")
		var refused []string
		for _, e := range all {
			if e.str("outcome") == "4" {
				refused = append(refused, e.id())
			}
		}
		if len(refused) == 0 {
			t.Fatal("no refused entry in the log")
		}
		// Paged one at a time, the outcome filter still finds each.
		got := a.auditAll(t, auditor, "?outcome=4&_count=1")
		if !slices.Equal(ids(got), refused) {
			t.Errorf("outcome=4 paged: %v, want %v", ids(got), refused)
		}
		for _, e := range a.auditAll(t, auditor, "?outcome=http://hl7.org/fhir/audit-event-outcome|0&patient="+person) {
			if e.str("outcome") != "0" || e.str("outcomeDesc") != "ok" {
				t.Errorf("outcome=0 returned %s (%s)", e.str("outcome"), e.str("outcomeDesc"))
			}
		}
		if got := a.auditAll(t, auditor, "?outcome=8,12"); len(got) != 0 {
			t.Errorf("outcome=8,12 matched %v", ids(got))
		}
	})

	t.Run("paging", func(t *testing.T) {
		// Every entry exactly once, in order, from 0: each page adds an
		// entry of its own at the end of the log, which a later page finds.
		got := a.auditAll(t, auditor, "?_count=7")
		for i, e := range got {
			if e.id() != strconv.Itoa(i) {
				t.Fatalf("entry %d has id %s: an entry was skipped or repeated", i, e.id())
			}
		}
		// The last page's own entry is the only one it could not see.
		if n := len(logOf(t, a, authtest.North)); len(got) != n-1 {
			t.Errorf("paged through %d entries; the log holds %d", len(got), n)
		}
		// Paging a person's report finds everything one page showed before.
		before := a.auditSearch(t, auditor, "?patient="+person+"&_count=100")
		paged := a.auditAll(t, auditor, "?patient="+person+"&_count=2")
		for _, id := range ids(before.events) {
			if !slices.Contains(ids(paged), id) {
				t.Errorf("paging the report lost entry %s", id)
			}
		}
		if p := a.auditSearch(t, auditor, "?_count=1000"); len(p.events) != 100 || p.next == "" {
			t.Errorf("_count above 100: %d entries, next %q", len(p.events), p.next)
		}
	})

	t.Run("date", func(t *testing.T) {
		early := a.Clock.Now()
		a.Clock.Advance(2 * time.Minute)
		late := a.Clock.Now()
		if r := a.do(t, "GET", "/fhir/Patient/"+person, reader, ""); r.status != 200 {
			t.Fatalf("read: %d", r.status)
		}
		mid := early.Add(time.Minute).Format(time.RFC3339)
		isLateRead := func(e event) bool {
			return isReaders("read", "ok")(e) && e.str("recorded") == late.UTC().Format(time.RFC3339Nano)
		}
		isEarlyRead := func(e event) bool {
			return isReaders("read", "ok")(e) && e.str("recorded") == early.UTC().Format(time.RFC3339Nano)
		}
		for _, c := range []struct {
			query       string
			early, late bool
			in          func(time.Time) bool
		}{
			{"ge" + mid, false, true, func(r time.Time) bool { return !r.Before(early.Add(time.Minute)) }},
			{"gt" + mid, false, true, func(r time.Time) bool { return r.After(early.Add(time.Minute)) }},
			{"lt" + mid, true, false, func(r time.Time) bool { return r.Before(early.Add(time.Minute)) }},
			{"le" + mid, true, false, func(r time.Time) bool { return !r.After(early.Add(time.Minute)) }},
			{"eq" + early.Format("2006-01-02"), true, true, func(r time.Time) bool { return r.Format("2006-01-02") == early.Format("2006-01-02") }},
			{early.Format("2006-01-02"), true, true, func(r time.Time) bool { return r.Format("2006-01-02") == early.Format("2006-01-02") }},
			{"eq" + late.UTC().Format(time.RFC3339), false, true, func(r time.Time) bool { return r.Equal(late) }},
			{"gt" + late.UTC().Format(time.RFC3339), false, false, func(r time.Time) bool { return r.After(late) }},
			{"le" + early.UTC().Format(time.RFC3339), true, false, func(r time.Time) bool { return !r.After(early) }},
			{"lt2000", false, false, func(r time.Time) bool { return false }},
			{"ge2100", false, false, func(r time.Time) bool { return false }},
		} {
			got := a.auditAll(t, auditor, "?patient="+person+"&date="+url.QueryEscape(c.query))
			if _, ok := findEvent(got, isEarlyRead); ok != c.early {
				t.Errorf("date=%s: early read found %v, want %v", c.query, ok, c.early)
			}
			if _, ok := findEvent(got, isLateRead); ok != c.late {
				t.Errorf("date=%s: late read found %v, want %v", c.query, ok, c.late)
			}
			for _, e := range got {
				r, err := time.Parse(time.RFC3339Nano, e.str("recorded"))
				if err != nil || !c.in(r) {
					t.Errorf("date=%s returned an entry recorded %s", c.query, e.str("recorded"))
				}
			}
		}
		// Two bounds intersect.
		got := a.auditAll(t, auditor, "?patient="+person+"&date=ge"+early.Format("2006-01-02")+"&date=lt"+url.QueryEscape(mid))
		if _, ok := findEvent(got, isEarlyRead); !ok {
			t.Errorf("ge day & lt mid lacks the early read")
		}
		if _, ok := findEvent(got, isLateRead); ok {
			t.Errorf("ge day & lt mid holds the late read")
		}
	})

	t.Run("scope", func(t *testing.T) {
		for _, scopes := range [][]string{
			{"system/Patient.rs"},
			{"system/*.rs"},
			{"system/*.cruds"},
			{"system/*.read"},
			{"system/AuditEvent.r"},
			{"system/AuditEvent.s"},
		} {
			tok := a.token(t, authtest.North, scopes...)
			before := len(logOf(t, a, authtest.North, clientID(t, a, tok)))
			a.do(t, "GET", "/fhir/AuditEvent?patient="+person, tok, "").outcome(t, http.StatusForbidden)
			a.do(t, "GET", "/fhir/AuditEvent", tok, "").outcome(t, http.StatusForbidden)
			a.do(t, "GET", "/fhir/AuditEvent/0", tok, "").outcome(t, http.StatusForbidden)
			// Each refusal is recorded as a refused audit query.
			after := logOf(t, a, authtest.North, clientID(t, a, tok))
			if len(after) != before+3 {
				t.Errorf("%v: %d entries for 3 refused reads of the log", scopes, len(after)-before)
			}
			for _, e := range after[before:] {
				if e.Action != "audit-query" || e.Outcome != "denied" {
					t.Errorf("%v: refused read recorded as %s %s", scopes, e.Action, e.Outcome)
				}
			}
		}
		// The audit scope beside a wildcard, and in SMART v1 form, reads.
		for _, scopes := range [][]string{{"system/*.cruds", "system/AuditEvent.rs"}, {"system/AuditEvent.read"}} {
			tok := a.token(t, authtest.North, scopes...)
			if r := a.do(t, "GET", "/fhir/AuditEvent?_count=1", tok, ""); r.status != 200 {
				t.Errorf("%v: %d %s", scopes, r.status, r.raw)
			}
		}
	})

	t.Run("reading the log is audited", func(t *testing.T) {
		before := logOf(t, a, authtest.North, auditorID)
		a.auditSearch(t, auditor, "?patient="+person)
		if r := a.do(t, "GET", "/fhir/AuditEvent/0", auditor, ""); r.status != 200 {
			t.Fatalf("read 0: %d %s", r.status, r.raw)
		}
		a.do(t, "GET", "/fhir/AuditEvent/999999999", auditor, "").outcome(t, http.StatusNotFound)
		after := logOf(t, a, authtest.North, auditorID)
		if len(after) != len(before)+3 {
			t.Fatalf("%d entries for 3 reads of the log", len(after)-len(before))
		}
		want := []struct{ person, outcome string }{{person, "ok"}, {"", "ok"}, {"", "not-found"}}
		for i, e := range after[len(before):] {
			if e.Action != "audit-query" || e.ActorRole != string(haven.RoleAPIClient) || e.PersonID != want[i].person || e.Outcome != want[i].outcome {
				t.Errorf("entry %d: %+v, want audit-query about %q, %s", i, e, want[i].person, want[i].outcome)
			}
		}
	})

	t.Run("cross-tenant", func(t *testing.T) {
		south := a.token(t, authtest.South, "system/AuditEvent.rs")
		// North's log is longer than south's (north has had the traffic),
		// so north's last ids are ids south's log does not have.
		northLog, southLog := logOf(t, a, authtest.North), logOf(t, a, authtest.South)
		if len(northLog) <= len(southLog)+1 {
			t.Fatalf("precondition: north's log (%d) is not longer than south's (%d)", len(northLog), len(southLog))
		}
		northLast := northLog[len(northLog)-1]
		a.do(t, "GET", "/fhir/AuditEvent/"+strconv.FormatInt(northLast.Seq, 10), south, "").outcome(t, http.StatusNotFound)
		// Ids are per organisation: south's 0 is south's own first entry,
		// never north's.
		r := a.do(t, "GET", "/fhir/AuditEvent/0", south, "")
		if r.status != 200 {
			t.Fatalf("south reads its entry 0: %d %s", r.status, r.raw)
		}
		if got := event(r.body); got.str("recorded") != southLog[0].Time.UTC().Format(time.RFC3339Nano) ||
			(southLog[0].RecordID != "" && !strings.Contains(r.raw, southLog[0].RecordID)) || (northLog[0].RecordID != "" && strings.Contains(r.raw, northLog[0].RecordID)) {
			t.Errorf("south's entry 0 is not south's: %s", r.raw)
		}
		// South's searches never return north's entries.
		if p := a.auditSearch(t, south, "?patient="+person); len(p.events) != 0 || p.total != 0 {
			t.Errorf("south's report on north's person: %v", ids(p.events))
		}
		if p := a.auditSearch(t, south, "?agent="+url.QueryEscape(readerID)); len(p.events) != 0 {
			t.Errorf("south's search by north's client: %v", ids(p.events))
		}
		all := a.auditAll(t, south, "?_count=100")
		if len(all) < len(southLog) {
			t.Errorf("south's search found %d of its %d entries", len(all), len(southLog))
		}
		southID := clientID(t, a, south)
		for _, e := range all {
			raw := jsonOf(e)
			northIDs := []string{readerID, auditorID, condID}
			if e.str("agent.0.who.identifier.value") != southID {
				// South's own queries are recorded with the ids south asked
				// about (north's person, above): that is what south did, not
				// north's data.
				northIDs = append(northIDs, a.People[authtest.North]...)
			}
			for _, north := range northIDs {
				if strings.Contains(raw, north) {
					t.Errorf("south's entry %s names north's %s: %s", e.id(), north, raw)
				}
			}
		}
	})

	t.Run("writes are refused", func(t *testing.T) {
		before := a.do(t, "GET", "/fhir/AuditEvent/0", auditor, "")
		body := `{"resourceType":"AuditEvent","id":"0","type":{"code":"rest"},"recorded":"2026-01-01T00:00:00Z","agent":[{"requestor":true}],"source":{"observer":{"display":"x"}}}`
		for _, req := range []struct{ method, path string }{
			{"POST", "/fhir/AuditEvent"}, {"PUT", "/fhir/AuditEvent/0"}, {"PATCH", "/fhir/AuditEvent/0"}, {"DELETE", "/fhir/AuditEvent/0"},
		} {
			b := body
			if req.method == "DELETE" {
				b = ""
			}
			r := a.do(t, req.method, req.path, auditor, b)
			r.outcome(t, http.StatusMethodNotAllowed)
			if !strings.Contains(r.raw, "append-only") || r.header.Get("Allow") != "GET" {
				t.Errorf("%s %s: %s (Allow %q)", req.method, req.path, r.raw, r.header.Get("Allow"))
			}
		}
		after := a.do(t, "GET", "/fhir/AuditEvent/0", auditor, "")
		if before.status != 200 || before.raw != after.raw {
			t.Errorf("entry 0 changed:\n%s\n%s", before.raw, after.raw)
		}
		// Nor through a transaction.
		tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + body + `,"request":{"method":"POST","url":"AuditEvent"}}]}`
		if r := a.do(t, "POST", "/fhir", writer, tx); r.status < 400 || r.status >= 500 || r.body["resourceType"] != "OperationOutcome" {
			t.Errorf("AuditEvent in a transaction: %d %s", r.status, r.raw)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, q := range []string{
			"?date=yesterday", "?date=2026-13-01", "?date=xx2026", "?date=ge", "?_count=0", "?_count=-1", "?_count=lots",
			"?outcome=7", "?outcome=ok", "?outcome=http://example.org|0", "?patient=", "?patient=Patient/a/b",
			"?patient=" + person + "&patient=" + person, "?patient=a,b", "?agent=", "?agent=,", "?_cursor=abc", "?_cursor=-1",
			// Not UTF-8: PostgreSQL refuses such a string outright.
			"?patient=%FF", "?agent=%FF", "?agent=a%C3",
		} {
			r := a.do(t, "GET", "/fhir/AuditEvent"+q, auditor, "")
			r.outcome(t, http.StatusBadRequest)
		}
		// Unsupported parameters are reported, and refused under strict handling.
		r := a.do(t, "GET", "/fhir/AuditEvent?entity-type=2&_count=1", auditor, "", "Prefer", "handling=strict")
		r.outcome(t, http.StatusBadRequest)
		if !strings.Contains(r.raw, "entity-type") {
			t.Errorf("strict refusal does not name the parameter: %s", r.raw)
		}
		r = a.do(t, "GET", "/fhir/AuditEvent?entity-type=2&_count=1", auditor, "")
		if r.status != 200 || !strings.Contains(r.raw, `"mode":"outcome"`) || !strings.Contains(r.raw, "entity-type") || strings.Contains(r.raw, "entity-type=2") {
			t.Errorf("lenient search: %d %s", r.status, r.raw)
		}
		a.do(t, "GET", "/fhir/AuditEvent", "", "").outcome(t, http.StatusUnauthorized)
		a.do(t, "GET", "/fhir/AuditEvent/0", "", "").outcome(t, http.StatusUnauthorized)
		// Bytes that are not UTF-8, or a NUL, anywhere in the address, on
		// any route: refused as invalid on both stores (PostgreSQL would
		// refuse the string itself, and that was a 500).
		for _, path := range []string{"/fhir/Patient/%FF", "/fhir/Patient/" + person + "/_history/%C3", "/fhir/Patient?family=%FF",
			"/fhir/Patient?%FF=1", "/fhir/AuditEvent/%FF", "/fhir/Patient/%FF/$everything", "/fhir/%FF",
			"/fhir/Patient/a%00b", "/fhir/AuditEvent?patient=%00", "/fhir/AuditEvent?agent=x%00"} {
			r := a.do(t, "GET", path, reader, "")
			r.outcome(t, http.StatusBadRequest)
			if !strings.Contains(r.raw, "UTF-8") {
				t.Errorf("%s: %s", path, r.raw)
			}
		}
		res, err := a.client.Get(a.base + "/sign-in?next=%FF")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("web page with a non-UTF-8 query: %d", res.StatusCode)
		}
		// A NUL spelled inside a resource's JSON: refused or kept, never a
		// failure of the store.
		for _, c := range []struct{ typ, body string }{
			{"Condition", sprintf(condition, "a\\u0000b")},
			{"Patient", `{"resourceType":"Patient","name":[{"family":"a\u0000b"}],"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"943476591\u0000"}]}`},
			{"Patient", `{"resourceType":"Patient","name":[{"family":"Nul\u0000","given":["a\u0000"]}],"telecom":[{"system":"phone","value":"0\u0000"}],"birthDate":"1970-01-01"}`},
			{"Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x\u0000"},"subject":{"reference":"Patient/` + person + `"},"note":[{"text":"\u0000"}]}`},
		} {
			if r := a.do(t, "POST", "/fhir/"+c.typ, writer, c.body); r.status >= 500 {
				t.Errorf("POST %s %.60s: %d %s", c.typ, c.body, r.status, r.raw)
			}
			if r := a.do(t, "POST", "/fhir", writer, `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":`+c.body+`,"request":{"method":"POST","url":"`+c.typ+`"}}]}`); r.status >= 500 {
				t.Errorf("transaction with %.60s: %d %s", c.body, r.status, r.raw)
			}
		}
		// A NUL or a byte that is not UTF-8 in an id inside a Bundle: the
		// store names nothing by it, on both stores (PostgreSQL refused the
		// string: a 500).
		for _, id := range []string{`a\u0000b`, "a\xffb"} {
			tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Condition/` + id + `"}}]}`
			if r := a.do(t, "POST", "/fhir", writer, tx); r.status != http.StatusNotFound && r.status != http.StatusBadRequest {
				t.Errorf("transaction deleting Condition/%q: %d %s", id, r.status, r.raw)
			}
			batch := strings.Replace(tx, `"transaction"`, `"batch"`, 1)
			if r := a.do(t, "POST", "/fhir", writer, batch); r.status != http.StatusOK || strings.Contains(r.raw, `"500`) {
				t.Errorf("batch deleting Condition/%q: %d %s", id, r.status, r.raw)
			}
		}
		// Nor in a token request's form.
		res, err = a.client.PostForm(a.base+"/fhir/auth/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {"\xff"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"\xff.\xff.\xff"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Errorf("token request with non-UTF-8 form values: %d", res.StatusCode)
		}
	})

	t.Run("capability statement", func(t *testing.T) {
		md := a.do(t, "GET", "/fhir/metadata", "", "")
		rest := md.body["rest"].([]any)[0].(map[string]any)
		var found map[string]any
		var names []string
		for _, x := range rest["resource"].([]any) {
			m := x.(map[string]any)
			names = append(names, m["type"].(string))
			if m["type"] == "AuditEvent" {
				found = m
			}
		}
		if found == nil {
			t.Fatalf("AuditEvent not in the CapabilityStatement: %v", names)
		}
		if !slices.IsSorted(names) {
			t.Errorf("resources not in name order: %v", names)
		}
		var inter, params []string
		for _, x := range found["interaction"].([]any) {
			inter = append(inter, x.(map[string]any)["code"].(string))
		}
		for _, x := range found["searchParam"].([]any) {
			params = append(params, x.(map[string]any)["name"].(string))
		}
		slices.Sort(params)
		if !slices.Equal(inter, []string{"read", "search-type"}) {
			t.Errorf("AuditEvent interactions %v", inter)
		}
		if want := []string{"_count", "_cursor", "_id", "agent", "date", "outcome", "patient"}; !slices.Equal(params, want) {
			t.Errorf("AuditEvent search params %v, want %v", params, want)
		}
	})
}
