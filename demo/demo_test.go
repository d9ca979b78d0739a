package demo

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/London without relying on the host's zoneinfo

	"github.com/havencare/haven"
)

// now is a fixed moment for tests: a Tuesday morning, part-way through an
// hour, so that the first day's early calls fall before it.
var now = time.Date(2025, time.March, 11, 9, 17, 0, 0, time.UTC)

func generate(t testing.TB, opt Options) Dataset {
	t.Helper()
	if opt.Now.IsZero() {
		opt.Now = now
	}
	return Generate(opt)
}

func TestEveryRecordValidates(t *testing.T) {
	for _, seed := range []int64{1, 2, 42, -7} {
		d := generate(t, Options{Seed: seed})
		for _, r := range d.Records() {
			if err := r.Validate(); err != nil {
				t.Fatalf("seed %d: %s %s: %v\n%+v", seed, r.Kind(), r.RecordID(), err, r)
			}
		}
	}
}

// Every record also survives Haven's strict decoder, as it would when the
// demo data set is exported and imported again.
func TestEveryRecordDecodes(t *testing.T) {
	d := generate(t, Options{Seed: 3})
	for _, r := range d.Records() {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("%s %s: marshal: %v", r.Kind(), r.RecordID(), err)
		}
		got, err := haven.Decode(r.Kind(), b)
		if err != nil {
			t.Fatalf("%s %s: decode: %v\n%s", r.Kind(), r.RecordID(), err, b)
		}
		b2, _ := json.Marshal(got)
		if string(b) != string(b2) {
			t.Fatalf("%s %s: round trip changed the record\n%s\n%s", r.Kind(), r.RecordID(), b, b2)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a := generate(t, Options{Seed: 99})
	b := generate(t, Options{Seed: 99})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs with the same seed differ")
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("two runs with the same seed encode differently")
	}
}

func TestSeedsDiffer(t *testing.T) {
	a := generate(t, Options{Seed: 1})
	b := generate(t, Options{Seed: 2})
	if a.People[0].Person.ID == b.People[0].Person.ID || a.Staff[0].ID == b.Staff[0].ID {
		t.Fatal("different seeds gave the same ids")
	}
	same := 0
	for i := range a.People {
		if a.People[i].Person.NHSNumber == b.People[i].Person.NHSNumber {
			same++
		}
	}
	if same > 2 {
		t.Fatalf("%d people have the same NHS number under different seeds", same)
	}
}

func TestDefaults(t *testing.T) {
	d := generate(t, Options{})
	if len(d.People) != DefaultPeople {
		t.Errorf("%d people, want %d", len(d.People), DefaultPeople)
	}
	if len(d.Staff) != DefaultStaff {
		t.Errorf("%d staff, want %d", len(d.Staff), DefaultStaff)
	}
	if n := canaries(d); n != DefaultCanaries {
		t.Errorf("%d canaries, want %d", n, DefaultCanaries)
	}
	if n := canaries(generate(t, Options{Canaries: -1})); n != 0 {
		t.Errorf("Canaries -1 gave %d canaries", n)
	}
	big := generate(t, Options{People: 1, Staff: 2000})
	if len(big.Staff) != 2000 {
		t.Errorf("%d staff, want 2000", len(big.Staff))
	}
	small := generate(t, Options{People: 3, Staff: 1, Canaries: 5})
	if len(small.People) != 3 || len(small.Staff) != MinStaff || canaries(small) != 3 {
		t.Errorf("small: %d people, %d staff, %d canaries", len(small.People), len(small.Staff), canaries(small))
	}
}

func canaries(d Dataset) int {
	n := 0
	for _, p := range d.People {
		if p.Person.Canary {
			n++
		}
	}
	return n
}

func TestNHSNumbers(t *testing.T) {
	d := generate(t, Options{People: 2000, Seed: 5})
	seen := map[string]bool{}
	for _, p := range d.People {
		n := p.Person.NHSNumber
		if !haven.ValidNHSNumber(n) {
			t.Errorf("%s is not a valid NHS number", n)
		}
		if !strings.HasPrefix(n, "999") {
			t.Errorf("%s is outside the 999 test range", n)
		}
		if seen[n] {
			t.Errorf("%s is used twice", n)
		}
		seen[n] = true
	}
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestIDs(t *testing.T) {
	d := generate(t, Options{Seed: 8})
	seen := map[string]bool{}
	for _, r := range d.Records() {
		id := r.RecordID()
		if !idPattern.MatchString(id) {
			t.Fatalf("%s id %q is not UUID-shaped lower-case hex", r.Kind(), id)
		}
		if seen[id] {
			t.Fatalf("id %s is used twice", id)
		}
		seen[id] = true
	}
}

func TestReferences(t *testing.T) {
	d := generate(t, Options{Seed: 11})
	staff := map[string]haven.Staff{}
	for _, s := range d.Staff {
		staff[s.ID] = s
	}
	for _, p := range d.People {
		id := p.Person.ID
		for _, r := range p.Records() {
			if r.Subject() != id {
				t.Fatalf("%s %s is about %s, filed under %s", r.Kind(), r.RecordID(), r.Subject(), id)
			}
		}
		for _, n := range p.Notes {
			if _, ok := staff[n.AuthorID]; !ok {
				t.Errorf("note %s has unknown author %s", n.ID, n.AuthorID)
			}
			if !n.At.Before(now) {
				t.Errorf("note %s is dated %s, not before now", n.ID, n.At)
			}
		}
		for _, o := range p.Observations {
			if !o.At.Before(now) {
				t.Errorf("observation %s is dated %s, not before now", o.ID, o.At)
			}
		}
		for _, c := range p.Conditions {
			if c.Onset.After(haven.DateOf(now)) || p.Person.BirthDate.After(c.Onset) {
				t.Errorf("condition %s onset %s is outside the person's life (born %s)", c.ID, c.Onset, p.Person.BirthDate)
			}
		}
	}
}

func TestVisitsAndCareTeams(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{
		now,
		// The week the clocks go forward, in local time.
		time.Date(2025, time.March, 27, 18, 40, 0, 0, london),
		// Just before midnight, when the first day has no calls left.
		time.Date(2025, time.October, 24, 23, 59, 0, 0, london),
	} {
		d := generate(t, Options{Seed: 21, Now: at})
		staff := map[string]haven.Staff{}
		for _, s := range d.Staff {
			staff[s.ID] = s
		}
		end := at.Add(7 * 24 * time.Hour)
		visits, withHomeAccess, homeCare := 0, 0, 0
		for _, p := range d.People {
			if p.Person.Canary {
				continue
			}
			if len(p.CareTeams) != 1 {
				t.Fatalf("%s has %d care teams", p.Person.ID, len(p.CareTeams))
			}
			team := p.CareTeams[0].StaffIDs
			if len(team) < 2 || len(team) > 4 {
				t.Errorf("care team of %d for %s", len(team), p.Person.ID)
			}
			for _, s := range team {
				if r := staff[s].Role; r != haven.RoleCarer && r != haven.RoleNurse {
					t.Errorf("care team member %s is a %s", s, r)
				}
			}
			if len(p.Visits) == 0 {
				t.Errorf("%s has no visits", p.Person.ID)
			}
			perDay := map[string]int{}
			for _, v := range p.Visits {
				visits++
				if !slices.Contains(team, v.StaffID) {
					t.Errorf("visit %s by %s, who is not in the care team", v.ID, v.StaffID)
				}
				if r := staff[v.StaffID].Role; r != haven.RoleCarer && r != haven.RoleNurse {
					t.Errorf("visit %s by a %s", v.ID, r)
				}
				if v.Start.Before(at) || !v.Start.Before(end) || v.End.After(end) {
					t.Errorf("visit %s %s–%s is outside [%s, %s)", v.ID, v.Start, v.End, at, end)
				}
				if m := v.End.Sub(v.Start); m < 30*time.Minute || m > 60*time.Minute {
					t.Errorf("visit %s lasts %s", v.ID, m)
				}
				if v.Status != "planned" || len(v.Tasks) == 0 {
					t.Errorf("visit %s: status %q, %d tasks", v.ID, v.Status, len(v.Tasks))
				}
				if staff[v.StaffID].Role == haven.RoleCarer {
					perDay[v.Start.Format(time.DateOnly)]++
				}
			}
			for day, n := range perDay {
				if n > 4 {
					t.Errorf("%s has %d home-care calls on %s", p.Person.ID, n, day)
				}
			}
			if len(perDay) > 0 {
				homeCare++
				if p.HomeAccess != nil {
					withHomeAccess++
				}
			}
			if !slices.IsSortedFunc(p.Visits, func(a, b haven.Visit) int { return a.Start.Compare(b.Start) }) {
				t.Errorf("%s's visits are not in time order", p.Person.ID)
			}
		}
		if visits < len(d.People)*7 {
			t.Errorf("only %d visits for %d people in a week", visits, len(d.People))
		}
		if withHomeAccess*10 < homeCare*7 || withHomeAccess == homeCare {
			t.Errorf("%d of %d home-care people have home access; want most but not all", withHomeAccess, homeCare)
		}
	}
}

func TestCanaries(t *testing.T) {
	d := generate(t, Options{Seed: 4, Canaries: 5})
	ids := map[string]bool{}
	for _, p := range d.People {
		if !p.Person.Canary {
			continue
		}
		ids[p.Person.ID] = true
		if len(p.Visits) != 0 || len(p.Notes) != 0 {
			t.Errorf("canary %s has %d visits, %d notes", p.Person.ID, len(p.Visits), len(p.Notes))
		}
		// In a service, so bulk readers of the service meet it, but with
		// nobody on its team, so no caseload includes it.
		if len(p.CareTeams) != 1 || p.CareTeams[0].Service == "" || len(p.CareTeams[0].StaffIDs) != 0 {
			t.Errorf("canary %s has care teams %+v, want one unstaffed team in a service", p.Person.ID, p.CareTeams)
		}
		if len(p.Conditions) == 0 || len(p.CarePlans) == 0 {
			t.Errorf("canary %s does not look like an ordinary person", p.Person.ID)
		}
	}
	if len(ids) != 5 {
		t.Fatalf("%d canaries, want 5", len(ids))
	}
}

func TestStaff(t *testing.T) {
	d := generate(t, Options{Seed: 6})
	roles := map[haven.Role]int{}
	emails := map[string]bool{}
	emailPattern := regexp.MustCompile(`^[a-z-]+\.[a-z-]+[0-9]*@demo\.haven\.invalid$`)
	for _, s := range d.Staff {
		roles[s.Role]++
		if !emailPattern.MatchString(s.Email) {
			t.Errorf("email %q", s.Email)
		}
		if emails[s.Email] {
			t.Errorf("email %q used twice", s.Email)
		}
		emails[s.Email] = true
	}
	want := map[haven.Role]int{haven.RoleTenantAdmin: 1, haven.RoleDPO: 1, haven.RoleClinician: 1, haven.RoleCoordinator: 2}
	for r, n := range want {
		if roles[r] != n {
			t.Errorf("%d %s, want %d", roles[r], r, n)
		}
	}
	if roles[haven.RoleNurse] < 2 || roles[haven.RoleCarer] <= roles[haven.RoleNurse] {
		t.Errorf("%d carers and %d nurses: want mostly carers, some nurses", roles[haven.RoleCarer], roles[haven.RoleNurse])
	}
	for _, r := range haven.TenantRoles {
		if roles[r] == 0 {
			t.Errorf("no staff with role %s", r)
		}
	}
}

// Person details look like UK data and stay inside the ranges set aside for
// fiction.
func TestPeopleLookRight(t *testing.T) {
	d := generate(t, Options{Seed: 12, People: 1000})
	postcode := regexp.MustCompile(`^LS[0-9]{1,2} [0-9][ABD-HJLNP-UW-Z]{2}$`)
	older, homeAccessWithLetter := 0, 0
	for _, p := range d.People {
		pp := p.Person
		if !postcode.MatchString(pp.Address.Postcode) {
			t.Errorf("postcode %q", pp.Address.Postcode)
		}
		if pp.Phone != "" {
			n := haven.NormalizePhone(pp.Phone)
			if !(strings.HasPrefix(n, "07700900") || strings.HasPrefix(n, "01134960") || strings.HasPrefix(n, "01632960")) || len(n) != 11 {
				t.Errorf("phone %q is not in an Ofcom drama range", pp.Phone)
			}
		}
		age := now.Year() - pp.BirthDate.Time().Year()
		if age < 17 || age > 102 {
			t.Errorf("age %d", age)
		}
		if age >= 65 {
			older++
		}
		if !regexp.MustCompile(`^B869[0-9]{2} `).MatchString(pp.GPPractice) {
			t.Errorf("GP practice %q", pp.GPPractice)
		}
		if h := p.HomeAccess; h != nil && h.KeySafeCode != "" {
			if !regexp.MustCompile(`^[A-Z]?[0-9]{4,6}$`).MatchString(h.KeySafeCode) {
				t.Errorf("key safe code %q", h.KeySafeCode)
			}
			if h.KeySafeCode[0] > '9' {
				homeAccessWithLetter++
			}
		}
		for _, m := range p.Medications {
			if !m.End.IsZero() && m.Start.After(m.End) {
				t.Errorf("medication %s ends before it starts", m.ID)
			}
		}
	}
	if older < 700 || older > 950 {
		t.Errorf("%d of 1000 people are 65 or over; want most", older)
	}
	if homeAccessWithLetter == 0 {
		t.Error("no key-safe code has a letter")
	}
}

func TestCounts(t *testing.T) {
	d := generate(t, Options{Seed: 13})
	c := d.Counts()
	total := 0
	for _, n := range c {
		total += n
	}
	if total != len(d.Records()) {
		t.Errorf("counts add to %d, records %d", total, len(d.Records()))
	}
	for _, k := range append([]haven.Kind{haven.KindPerson, haven.KindStaff, haven.KindHomeAccess}, haven.PersonKinds...) {
		if c[k] == 0 {
			t.Errorf("no %s records", k)
		}
	}
	if c[haven.KindCarePlan] != len(d.People) {
		t.Errorf("%d care plans for %d people", c[haven.KindCarePlan], len(d.People))
	}
}

// The word lists hold no duplicates, and names that reach an e-mail
// address fold to ASCII letters.
func TestWordLists(t *testing.T) {
	given, family := map[string]bool{}, map[string]bool{}
	ascii := regexp.MustCompile(`^[a-z-]+$`)
	check := func(where string, list []string, all map[string]bool) {
		t.Helper()
		if len(list) == 0 {
			t.Errorf("%s is empty", where)
		}
		seen := map[string]bool{}
		for _, s := range list {
			if seen[s] {
				t.Errorf("%s lists %q twice", where, s)
			}
			seen[s] = true
			all[s] = true
			if !ascii.MatchString(slug(s)) {
				t.Errorf("%s: %q folds to %q", where, s, slug(s))
			}
		}
	}
	for _, c := range communities {
		check(c.Name+" female older", c.FemaleOlder, given)
		check(c.Name+" female younger", c.FemaleYounger, given)
		check(c.Name+" male older", c.MaleOlder, given)
		check(c.Name+" male younger", c.MaleYounger, given)
		check(c.Name+" surnames", c.Surnames, family)
	}
	check("streets", streets, map[string]bool{})
	if len(given) < 140 || len(family) < 190 {
		t.Errorf("%d given names and %d family names; want about 150 and 200", len(given), len(family))
	}
	if len(practiceCodes) != len(practiceNames) {
		t.Error("practice codes and names differ in length")
	}
}

func BenchmarkGenerate1000(b *testing.B) {
	for b.Loop() {
		Generate(Options{People: 1000, Seed: 1, Now: now})
	}
}

func ExampleGenerate() {
	d := Generate(Options{Seed: 1, Now: now})
	c := d.Counts()
	fmt.Println(len(d.People), "people,", len(d.Staff), "staff,", c[haven.KindCarePlan], "care plans")
	// Output: 200 people, 24 staff, 200 care plans
}
