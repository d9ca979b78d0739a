// Package demo generates a deterministic synthetic data set for one demo
// care organisation: a Leeds home-care agency with a community nursing team.
// `haven demo` loads it on first run, and tests and benchmarks use it.
//
// Everything is made up but shaped like the real thing. NHS numbers are in
// the 999 range set aside for test data and carry a valid modulus 11 check
// digit; phone numbers are in Ofcom's drama ranges; e-mail addresses use the
// reserved .invalid top-level domain; GP practice codes are ODS-shaped but
// invented. The same Options always give the same Dataset.
package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/havencare/haven"
)

// Defaults for zero Options fields.
const (
	DefaultPeople   = 200
	DefaultStaff    = 24
	DefaultCanaries = 2
	// MaxPeople bounds People: the 999 test range holds about 900,000 valid
	// NHS numbers, and each person needs a distinct one.
	MaxPeople = 500_000
	// MinStaff is the smallest staff Generate makes: an admin, a DPO, a
	// clinician, two coordinators, two nurses and two carers.
	MinStaff = 9
	// EmailDomain is the staff e-mail domain. .invalid is reserved (RFC 2606)
	// and can never receive mail.
	EmailDomain = "demo.haven.invalid"
	// OrganisationName is the demo care organisation's name.
	OrganisationName = "Aire Valley Home Care (demo)"
	// VisitWindow is how far ahead visits are planned.
	VisitWindow = 7 * 24 * time.Hour
)

// Options say how much to generate.
type Options struct {
	// People is how many people receive care, canaries included; 0 means
	// DefaultPeople, and more than MaxPeople means MaxPeople.
	People int
	// Staff is how many staff; 0 means DefaultStaff, and fewer than
	// MinStaff means MinStaff.
	Staff int
	// Seed selects the data set: the same Options give the same Dataset.
	Seed int64
	// Now is the moment the data set is generated for: observations and
	// notes lie before it, visits are planned for the 7 days from it, in its
	// location. The zero Now means time.Now(), which makes the result
	// depend on when it was generated.
	Now time.Time
	// Canaries is how many of the people are canaries (Person.Canary); 0
	// means DefaultCanaries and a negative number means none.
	Canaries int
}

// Dataset is the generated organisation.
type Dataset struct {
	Staff  []haven.Staff
	People []PersonData
}

// PersonData is one person and everything recorded about them.
type PersonData struct {
	Person       haven.Person
	Conditions   []haven.Condition
	Allergies    []haven.Allergy
	Medications  []haven.Medication
	Observations []haven.Observation
	Notes        []haven.Note
	CarePlans    []haven.CarePlan
	CareTeams    []haven.CareTeam
	Visits       []haven.Visit
	// HomeAccess is how to get in; most people receiving home care have
	// one, some don't.
	HomeAccess *haven.HomeAccess
}

// Counts returns how many records of each kind d holds, for a summary.
// Every kind Generate makes has an entry, even when it is zero.
func (d Dataset) Counts() map[haven.Kind]int {
	c := map[haven.Kind]int{haven.KindStaff: len(d.Staff), haven.KindPerson: len(d.People)}
	for _, k := range haven.PersonKinds {
		c[k] = 0
	}
	c[haven.KindHomeAccess] = 0
	for i := range d.People {
		p := &d.People[i]
		c[haven.KindCondition] += len(p.Conditions)
		c[haven.KindAllergy] += len(p.Allergies)
		c[haven.KindMedication] += len(p.Medications)
		c[haven.KindObservation] += len(p.Observations)
		c[haven.KindNote] += len(p.Notes)
		c[haven.KindCarePlan] += len(p.CarePlans)
		c[haven.KindCareTeam] += len(p.CareTeams)
		c[haven.KindVisit] += len(p.Visits)
		if p.HomeAccess != nil {
			c[haven.KindHomeAccess]++
		}
	}
	return c
}

// Records returns every record in d in an order that can be stored as it
// comes: staff, then each person followed by their records and home access.
func (d Dataset) Records() []haven.Record {
	c := d.Counts()
	n := 0
	for _, v := range c {
		n += v
	}
	out := make([]haven.Record, 0, n)
	for i := range d.Staff {
		out = append(out, &d.Staff[i])
	}
	for i := range d.People {
		out = append(out, d.People[i].Records()...)
	}
	return out
}

func (o Options) withDefaults() Options {
	if o.People <= 0 {
		o.People = DefaultPeople
	}
	o.People = min(o.People, MaxPeople)
	if o.Staff == 0 {
		o.Staff = DefaultStaff
	}
	o.Staff = max(o.Staff, MinStaff)
	switch {
	case o.Canaries == 0:
		o.Canaries = DefaultCanaries
	case o.Canaries < 0:
		o.Canaries = 0
	}
	o.Canaries = min(o.Canaries, o.People)
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

// gen holds the state of one Generate call.
type gen struct {
	r     *rand.Rand
	now   time.Time
	loc   *time.Location
	nhs   map[string]bool
	names map[string]bool // people's full names, to keep them mostly distinct
	staff []haven.Staff
	// Indexes into staff by role; carers are grouped into patches.
	carers, nurses, clinicians []int
	patches                    [][]int
	coordinators               int
}

// Generate makes the demo organisation described by opt. It is
// deterministic: the same Options (with the same Now) give the same
// Dataset. Every record passes its Validate method.
func Generate(opt Options) Dataset {
	opt = opt.withDefaults()
	g := &gen{
		r:     rand.New(rand.NewPCG(uint64(opt.Seed), 0x9e3779b97f4a7c15)),
		now:   opt.Now,
		loc:   opt.Now.Location(),
		nhs:   make(map[string]bool, opt.People),
		names: make(map[string]bool, opt.People),
	}
	g.makeStaff(opt.Staff)

	canary := make(map[int]bool, opt.Canaries)
	for _, i := range g.r.Perm(opt.People)[:opt.Canaries] {
		canary[i] = true
	}
	d := Dataset{Staff: g.staff, People: make([]PersonData, opt.People)}
	for i := range d.People {
		d.People[i] = g.person(canary[i])
	}
	return d
}

// --- primitives ---

// id returns a random-looking, deterministic id shaped like a version 4
// UUID: lower-case hex and dashes only.
func (g *gen) id() string {
	hi, lo := g.r.Uint64(), g.r.Uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	var b [36]byte
	const hex = "0123456789abcdef"
	j := 0
	for i := 0; i < 32; i++ {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b[j] = '-'
			j++
		}
		w := hi
		k := i
		if i >= 16 {
			w, k = lo, i-16
		}
		b[j] = hex[(w>>(60-4*k))&0xf]
		j++
	}
	return string(b[:])
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// between returns an int in [lo, hi].
func (g *gen) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

// weighted returns an index of ws chosen with probability proportional to
// its weight, skipping indexes in skip.
func (g *gen) weighted(ws []int, skip map[int]bool) int {
	total := 0
	for i, w := range ws {
		if !skip[i] {
			total += w
		}
	}
	if total == 0 {
		return -1
	}
	n := g.r.IntN(total)
	for i, w := range ws {
		if skip[i] {
			continue
		}
		if n < w {
			return i
		}
		n -= w
	}
	return -1
}

// daysAgo returns the date n days before now.
func (g *gen) daysAgo(n int) haven.Date { return haven.DateOf(g.now.AddDate(0, 0, -n)) }

// pastTime returns a daytime moment between minDays and maxDays days ago.
func (g *gen) pastTime(minDays, maxDays int) time.Time {
	d := g.now.AddDate(0, 0, -g.between(minDays, maxDays))
	t := time.Date(d.Year(), d.Month(), d.Day(), g.between(8, 20), g.between(0, 59), 0, 0, g.loc)
	if !t.Before(g.now) {
		t = g.now.Add(-time.Duration(g.between(30, 600)) * time.Minute).Truncate(time.Minute)
	}
	return t
}

// --- staff ---

func (g *gen) makeStaff(n int) {
	roles := []haven.Role{haven.RoleTenantAdmin, haven.RoleDPO, haven.RoleClinician, haven.RoleCoordinator, haven.RoleCoordinator}
	rest := n - len(roles)
	nurses := max(2, rest/4)
	for i := 0; i < nurses; i++ {
		roles = append(roles, haven.RoleNurse)
	}
	for len(roles) < n {
		roles = append(roles, haven.RoleCarer)
	}
	carers := n - len(roles[:5]) - nurses
	npatch := min(max(carers/4, 1), 4)
	emails := map[string]bool{}
	names := map[string]bool{}
	for _, role := range roles {
		var given, family string
		for try := 0; try < 20; try++ { // a large staff may share a name
			given, family = g.staffName(role)
			if !names[given+" "+family] {
				break
			}
		}
		names[given+" "+family] = true
		email := slug(given) + "." + slug(family)
		for k := 2; emails[email]; k++ {
			email = slug(given) + "." + slug(family) + strconv.Itoa(k)
		}
		emails[email] = true
		s := haven.Staff{
			ID:    g.id(),
			Name:  given + " " + family,
			Role:  role,
			Email: email + "@" + EmailDomain,
		}
		i := len(g.staff)
		switch role {
		case haven.RoleCarer:
			p := len(g.carers) % npatch
			s.Team = teamHomeCare + " team " + string(rune('A'+p))
			s.Service = teamHomeCare
			g.carers = append(g.carers, i)
			if p >= len(g.patches) {
				g.patches = append(g.patches, nil)
			}
			g.patches[p] = append(g.patches[p], i)
		case haven.RoleNurse:
			s.Team, s.Service = teamNursing, teamNursing
			g.nurses = append(g.nurses, i)
		case haven.RoleClinician:
			s.Team, s.Service = teamNursing, teamNursing
			g.clinicians = append(g.clinicians, i)
		case haven.RoleDPO:
			s.Team = "Governance"
		case haven.RoleCoordinator:
			// Coordinators arrange one service each, in turn, so every
			// service has someone to arrange it.
			s.Team = teamOffice
			s.Service = []string{teamHomeCare, teamNursing}[g.coordinators%2]
			g.coordinators++
		default:
			s.Team = teamOffice
		}
		g.staff = append(g.staff, s)
	}
}

func (g *gen) staffName(role haven.Role) (given, family string) {
	female := g.chance(0.8)
	if role == haven.RoleClinician || role == haven.RoleTenantAdmin {
		female = g.chance(0.55)
	}
	return g.name(staffWeights, female, g.chance(0.3))
}

var peopleWeights, staffWeights = func() ([]int, []int) {
	var p, s []int
	for _, c := range communities {
		p = append(p, c.PeopleWeight)
		s = append(s, c.StaffWeight)
	}
	return p, s
}()

// name returns a given and family name from a community chosen by weights;
// one in ten family names comes from another community.
func (g *gen) name(weights []int, female, older bool) (given, family string) {
	c := communities[g.weighted(weights, nil)]
	switch {
	case female && older:
		given = pick(g, c.FemaleOlder)
	case female:
		given = pick(g, c.FemaleYounger)
	case older:
		given = pick(g, c.MaleOlder)
	default:
		given = pick(g, c.MaleYounger)
	}
	fc := c
	if g.chance(0.1) {
		fc = communities[g.weighted(weights, nil)]
	}
	family = pick(g, fc.Surnames)
	// Polish family names ending -ski or -cki take -ska or -cka for women.
	if female && (strings.HasSuffix(family, "ski") || strings.HasSuffix(family, "cki")) {
		family = family[:len(family)-1] + "a"
	}
	return given, family
}

// slug folds a name to the lower-case ASCII letters and hyphens of an
// e-mail local part: "Siân" is "sian", "O'Brien" is "obrien".
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r == '-':
			b.WriteRune(r)
		default:
			if f, ok := foldRune[r]; ok {
				b.WriteRune(f)
			}
		}
	}
	return b.String()
}

var foldRune = map[rune]rune{
	'á': 'a', 'à': 'a', 'â': 'a', 'ä': 'a', 'ą': 'a', 'é': 'e', 'è': 'e', 'ê': 'e',
	'ë': 'e', 'ę': 'e', 'í': 'i', 'ì': 'i', 'î': 'i', 'ï': 'i', 'ó': 'o', 'ò': 'o',
	'ô': 'o', 'ö': 'o', 'ú': 'u', 'ù': 'u', 'û': 'u', 'ü': 'u', 'ŵ': 'w', 'ŷ': 'y',
	'ç': 'c', 'ć': 'c', 'ł': 'l', 'ń': 'n', 'ś': 's', 'ź': 'z', 'ż': 'z', 'ã': 'a',
	'õ': 'o', 'ñ': 'n', 'ă': 'a', 'ș': 's', 'ş': 's', 'ț': 't', 'ţ': 't', 'ý': 'y',
	'ř': 'r', 'č': 'c', 'š': 's', 'ž': 'z', 'ě': 'e', 'ů': 'u', 'ő': 'o', 'ű': 'u',
}

// --- people ---

// pctx is what the generator knows about the person it is making.
type pctx struct {
	pd       *PersonData
	age      int
	locality int
	homeCare bool
	canary   bool
	calls    int      // home-care calls a day
	slots    []string // the visitSlots those calls are in
	needs    []nursingNeed
	team     []int // staff indexes in the care team
	teamName string
	conds    []int // conditionDefs indexes, active or resolved
	active   map[int]bool
	fill     *strings.Replacer
}

func (g *gen) person(canary bool) PersonData {
	var pd PersonData
	c := &pctx{pd: &pd, canary: canary, active: map[int]bool{}}
	c.homeCare = g.chance(0.8)
	g.makePerson(c)
	g.makeConditions(c)
	g.makeAllergies(c)
	g.makeMedications(c)
	g.makeObservations(c)
	if !c.homeCare && len(c.needs) == 0 {
		c.needs = append(c.needs, pick(g, nursingNeeds))
	} else if c.homeCare && g.chance(0.1) {
		c.needs = append(c.needs, pick(g, nursingNeeds))
	}
	if c.homeCare {
		c.calls = []int{1, 2, 2, 3, 3, 4, 4, 4}[g.r.IntN(8)]
	}
	g.makeCarePlan(c)
	if canary {
		// A canary sits in a service like anyone waiting for a team, so a
		// bulk reader of that service meets it; nobody is assigned to it,
		// so no legitimate visit or caseload ever opens it.
		svc := teamNursing
		if c.homeCare {
			svc = teamHomeCare
		}
		c.pd.CareTeams = append(c.pd.CareTeams, haven.CareTeam{ID: g.id(), PersonID: c.pd.Person.ID, Name: svc + " (awaiting allocation)", Service: svc})
	} else {
		g.makeCareTeam(c)
		g.makeVisits(c)
		g.makeNotes(c)
	}
	if canary || (c.homeCare && g.chance(0.88)) || (!c.homeCare && g.chance(0.5)) {
		g.makeHomeAccess(c)
	}
	return pd
}

func (g *gen) makePerson(c *pctx) {
	p := &c.pd.Person
	p.ID = g.id()
	p.Canary = c.canary
	p.NHSNumber = g.nhsNumber()

	if g.chance(0.85) {
		// Triangular from 65 to 101, peaking in the early eighties.
		c.age = 65 + int((g.r.Float64()+g.r.Float64())/2*37)
	} else {
		c.age = 18 + int(sqrtish(g.r.Float64())*47)
	}
	born := g.now.AddDate(-c.age, 0, -g.r.IntN(365))
	p.BirthDate = haven.DateOf(born)

	gw := []int{55, 44, 1}
	if c.age >= 65 {
		gw = []int{62, 37, 1}
	}
	gender := []string{"female", "male", "other"}[g.weighted(gw, nil)]
	p.Gender = gender
	female := gender == "female" || (gender == "other" && g.chance(0.5))
	for try := 0; try < 5; try++ {
		p.Given, p.Family = g.name(peopleWeights, female, c.age >= 58)
		if !g.names[p.Given+" "+p.Family] {
			break
		}
	}
	g.names[p.Given+" "+p.Family] = true

	c.locality = g.r.IntN(len(localities))
	loc := localities[c.locality]
	street := fmt.Sprintf("%d %s", g.houseNumber(), pick(g, streets))
	if g.chance(0.2) {
		p.Address.Lines = []string{fmt.Sprintf("Flat %d, %s", g.between(1, 40), pick(g, blocks)), street}
	} else {
		p.Address.Lines = []string{street}
	}
	if loc.Name != loc.Town {
		p.Address.Lines = append(p.Address.Lines, loc.Name)
	}
	p.Address.City = loc.Town
	p.Address.Postcode = loc.Outward + " " + g.inwardCode()

	switch {
	case g.chance(0.12):
		// No phone recorded.
	case c.age >= 65 && g.chance(0.7), c.age < 65 && g.chance(0.2):
		p.Phone = loc.Landline + fmt.Sprintf("%03d", g.r.IntN(1000))
	default:
		p.Phone = fmt.Sprintf("07700 900%03d", g.r.IntN(1000))
	}

	pr := c.locality % len(practiceNames)
	if g.chance(0.2) {
		pr = g.r.IntN(len(practiceNames))
	}
	p.GPPractice = practiceCodes[pr] + " " + practiceNames[pr]

	// How staff refer to the person in notes.
	name := p.Given
	if c.age >= 65 && g.chance(0.6) {
		switch gender {
		case "female":
			name = pick(g, []string{"Mrs", "Mrs", "Mrs", "Miss", "Ms"}) + " " + p.Family
		case "male":
			name = "Mr " + p.Family
		}
	}
	they, their, them, spouse := "they", "their", "them", "partner"
	switch gender {
	case "female":
		they, their, them, spouse = "she", "her", "her", "husband"
	case "male":
		they, their, them, spouse = "he", "his", "him", "wife"
	}
	c.fill = strings.NewReplacer("{name}", name, "{they}", they, "{their}", their, "{them}", them, "{spouse}", spouse)
}

// sqrtish skews u in [0,1) towards 1: younger adults receiving care are
// more often in their forties to sixties than in their twenties.
func sqrtish(u float64) float64 { return 1 - (1-u)*(1-u) }

func (g *gen) houseNumber() int {
	if g.chance(0.7) {
		return g.between(1, 60)
	}
	return g.between(61, 240)
}

// inwardCode returns the second half of a postcode: a digit and two letters
// from the 20 Royal Mail uses there (no C, I, K, M, O or V).
func (g *gen) inwardCode() string {
	const letters = "ABDEFGHJLNPQRSTUWXYZ"
	return string([]byte{byte('0' + g.r.IntN(10)), letters[g.r.IntN(len(letters))], letters[g.r.IntN(len(letters))]})
}

// nhsNumber returns an unused NHS number in the 999 range kept for test
// data, with a valid modulus 11 check digit.
func (g *gen) nhsNumber() string {
	for {
		nine := fmt.Sprintf("999%06d", g.r.IntN(1_000_000))
		check := haven.NHSCheckDigit(nine)
		if check < 0 {
			continue
		}
		n := nine + strconv.Itoa(check)
		if !g.nhs[n] {
			g.nhs[n] = true
			return n
		}
	}
}

var conditionWeights = func() []int {
	ws := make([]int, len(conditionDefs))
	for i, d := range conditionDefs {
		ws[i] = d.Weight
	}
	return ws
}()

// exclusive lists condition codes that a person has at most one of.
var exclusive = [][]string{
	{"44054006", "46635009"},  // type 2, type 1 diabetes
	{"52448006", "26929004"},  // dementia, Alzheimer's disease
	{"35489007", "197480006"}, // depression, anxiety (both take sertraline)
}

func (g *gen) makeConditions(c *pctx) {
	n := g.between(1, 3)
	if c.age >= 65 {
		n = g.between(2, 5)
	}
	skip := map[int]bool{}
	for range n {
		i := g.weighted(conditionWeights, skip)
		if i < 0 {
			break
		}
		skip[i] = true
		def := conditionDefs[i]
		for _, ex := range exclusive {
			if slices.Contains(ex, def.Code) {
				for j, d := range conditionDefs {
					if slices.Contains(ex, d.Code) {
						skip[j] = true
					}
				}
			}
		}
		cond := haven.Condition{ID: g.id(), PersonID: c.pd.Person.ID, Code: def.Code, Display: def.Display, Status: "active"}
		if def.Resolvable && g.chance(0.55) {
			cond.Status = "resolved"
			cond.Onset = g.daysAgo(g.between(20, 700))
		} else {
			// Onset in adult life (for older people, after 45), more often in
			// recent years.
			years := def.OnsetYears
			if years == 0 {
				years = 30
			}
			adult := c.age - 16
			if c.age >= 65 {
				adult = c.age - 45
			}
			years = max(min(years, adult), 1)
			u := g.r.Float64()
			cond.Onset = g.daysAgo(30 + int(u*u*float64(years)*365))
			if def.Resolvable {
				cond.Onset = g.daysAgo(g.between(5, 60))
			}
			c.active[i] = true
			if def.Nursing != nil {
				c.needs = append(c.needs, *def.Nursing)
			}
		}
		c.conds = append(c.conds, i)
		c.pd.Conditions = append(c.pd.Conditions, cond)
	}
}

var allergyWeights = func() []int {
	ws := make([]int, len(allergyDefs))
	for i, d := range allergyDefs {
		ws[i] = d.Weight
	}
	return ws
}()

func (g *gen) makeAllergies(c *pctx) {
	n := []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 3}[g.r.IntN(20)]
	skip := map[int]bool{}
	for range n {
		i := g.weighted(allergyWeights, skip)
		skip[i] = true
		def := allergyDefs[i]
		a := haven.Allergy{ID: g.id(), PersonID: c.pd.Person.ID, Substance: def.Substance}
		if g.chance(0.85) {
			a.Reaction = pick(g, def.Reactions)
			a.Severity = pick(g, def.Severity)
			if a.Reaction == "Anaphylaxis" {
				a.Severity = "severe"
			}
		}
		c.pd.Allergies = append(c.pd.Allergies, a)
	}
}

func (g *gen) makeMedications(c *pctx) {
	seen := map[string]bool{}
	for k, i := range c.conds {
		def := conditionDefs[i]
		cond := c.pd.Conditions[k]
		for j, m := range def.Medicines {
			if seen[m.Name] || (j > 0 && !g.chance(0.6)) {
				continue
			}
			seen[m.Name] = true
			med := haven.Medication{ID: g.id(), PersonID: c.pd.Person.ID, Name: m.Name, Dose: m.Dose, Frequency: m.Frequency, Route: m.Route}
			onset := cond.Onset.Time()
			days := int(g.now.Sub(onset).Hours() / 24)
			if cond.Status == "resolved" {
				med.Start = cond.Onset
				med.End = haven.DateOf(onset.AddDate(0, 0, g.between(3, 7)))
			} else {
				med.Start = haven.DateOf(onset.AddDate(0, 0, g.between(0, max(days/3, 1))))
				if med.Start.After(haven.DateOf(g.now)) {
					med.Start = haven.DateOf(g.now)
				}
			}
			c.pd.Medications = append(c.pd.Medications, med)
		}
	}
}

func (g *gen) makeObservations(c *pctx) {
	has := func(code string) bool {
		for i := range c.active {
			if conditionDefs[i].Code == code {
				return true
			}
		}
		return false
	}
	// The person's usual values, which each reading varies around.
	sys := float64(g.between(112, 142))
	if has("38341003") {
		sys += float64(g.between(8, 22))
	}
	dia := float64(g.between(64, 86))
	pulse := float64(g.between(62, 86))
	af := has("49436004")
	weight := 45 + g.r.Float64()*35
	if c.pd.Person.Gender == "male" {
		weight += 12
	}
	spo2 := float64(g.between(95, 99))
	copd := has("13645005")
	if copd {
		spo2 = float64(g.between(89, 94))
	}
	diabetic := has("44054006") || has("46635009")
	febrile := has("68566005") || has("233604007")

	// Which measurements this person has taken.
	keys := map[string]bool{}
	for i := range c.active {
		for _, k := range conditionDefs[i].Observes {
			keys[k] = true
		}
	}
	if g.chance(0.5) {
		keys["bp"] = true
	}
	if g.chance(0.4) {
		keys["weight"] = true
	}
	if len(keys) == 0 {
		keys["bp"] = true
	}
	order := []string{"bp", "pulse", "spo2", "resp", "temp", "weight", "glucose"}

	sessions := g.between(1, 6)
	times := make([]time.Time, sessions)
	for i := range times {
		times[i] = g.pastTime(1, 120)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for si, at := range times {
		add := func(key string, v float64) {
			def := observationDefs[key]
			c.pd.Observations = append(c.pd.Observations, haven.Observation{
				ID: g.id(), PersonID: c.pd.Person.ID, Code: def.Code, Display: def.Display,
				Value: v, Unit: def.Unit, At: at,
			})
		}
		unwell := febrile && si == len(times)-1
		for _, k := range order {
			if !keys[k] {
				continue
			}
			switch k {
			case "bp":
				add("systolic", sys+float64(g.between(-10, 10)))
				add("diastolic", dia+float64(g.between(-6, 6)))
			case "pulse":
				v := pulse + float64(g.between(-6, 6))
				if af {
					v += float64(g.between(0, 30))
				}
				if unwell {
					v += 15
				}
				add("pulse", v)
			case "spo2":
				v := min(spo2+float64(g.between(-1, 1)), 100)
				if unwell {
					v -= 3
				}
				add("spo2", v)
			case "resp":
				add("resp", float64(g.between(14, 20)))
			case "temp":
				v := 36.2 + float64(g.r.IntN(10))/10
				if unwell {
					v = 37.9 + float64(g.r.IntN(8))/10
				}
				add("temp", round1(v))
			case "weight":
				add("weight", round1(weight+g.r.Float64()*3-1.5))
			case "glucose":
				v := 4.8 + g.r.Float64()*2.4
				if diabetic {
					v = 5 + g.r.Float64()*8
				}
				add("glucose", round1(v))
			}
		}
		if unwell || (copd && g.chance(0.5)) {
			def := observationDefs["resp"]
			v := float64(g.between(18, 24))
			c.pd.Observations = append(c.pd.Observations, haven.Observation{
				ID: g.id(), PersonID: c.pd.Person.ID, Code: def.Code, Display: def.Display, Value: v, Unit: def.Unit, At: at,
			})
		}
	}
}

func round1(v float64) float64 { return float64(int(v*10+0.5)) / 10 }

func (g *gen) makeCarePlan(c *pctx) {
	title := homeCarePlanTitle
	if !c.homeCare {
		title = nursingPlanTitle
	}
	goals := []string{baseGoals[0]}
	for _, i := range g.r.Perm(len(baseGoals) - 1)[:g.between(1, 2)] {
		goals = append(goals, baseGoals[i+1])
	}
	var acts []string
	if c.homeCare {
		for _, i := range g.r.Perm(len(baseActivities))[:g.between(2, 4)] {
			acts = append(acts, baseActivities[i])
		}
	}
	for _, i := range c.conds {
		if !c.active[i] {
			continue
		}
		for _, s := range conditionDefs[i].Goals {
			if !slices.Contains(goals, s) && len(goals) < 6 {
				goals = append(goals, s)
			}
		}
		for _, s := range conditionDefs[i].Activities {
			if !slices.Contains(acts, s) && len(acts) < 9 {
				acts = append(acts, s)
			}
		}
	}
	for _, n := range c.needs {
		a := "Community nurse to " + lowerFirst(n.Task)
		if len(acts) < 10 && !slices.Contains(acts, a) {
			acts = append(acts, a)
		}
	}
	if len(acts) == 0 {
		acts = append(acts, baseActivities[0])
	}
	for i := range goals {
		goals[i] = c.fill.Replace(goals[i])
	}
	for i := range acts {
		acts[i] = c.fill.Replace(acts[i])
	}
	start := g.between(20, 900)
	plan := haven.CarePlan{
		ID: g.id(), PersonID: c.pd.Person.ID, Title: title, Goals: goals, Activities: acts,
		Start: g.daysAgo(start),
	}
	// Reviewed every six months; the next review is due soon or a little
	// overdue.
	months := 6
	for start-months*30 > 21 {
		months += 6
	}
	plan.Review = haven.DateOf(plan.Start.Time().AddDate(0, months, 0))
	c.pd.CarePlans = append(c.pd.CarePlans, plan)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// takeFrom appends up to n staff indexes from pool (in random order) that
// are not already in team.
func (g *gen) takeFrom(team []int, pool []int, n int) []int {
	for _, k := range g.r.Perm(len(pool)) {
		if n == 0 {
			break
		}
		if !slices.Contains(team, pool[k]) {
			team = append(team, pool[k])
			n--
		}
	}
	return team
}

func (g *gen) makeCareTeam(c *pctx) {
	var team []int
	name := "Community nursing team"
	if c.homeCare {
		patch := c.locality % len(g.patches)
		n := 2
		if c.calls >= 3 {
			n = 3
		}
		if c.calls == 4 && len(c.needs) == 0 && g.chance(0.3) {
			n = 4
		}
		team = g.takeFrom(team, g.patches[patch], n)
		team = g.takeFrom(team, g.carers, n-len(team))
		name = teamHomeCare + " team " + string(rune('A'+patch))
		if len(c.needs) > 0 {
			team = g.takeFrom(team, g.nurses, 1)
			name += " with community nursing"
		}
	} else {
		team = g.takeFrom(team, g.nurses, 2)
	}
	c.team = team
	c.teamName = name
	svc := teamNursing
	if c.homeCare {
		svc = teamHomeCare
	}
	ct := haven.CareTeam{ID: g.id(), PersonID: c.pd.Person.ID, Name: name, Service: svc}
	for _, i := range team {
		ct.StaffIDs = append(ct.StaffIDs, g.staff[i].ID)
	}
	c.pd.CareTeams = append(c.pd.CareTeams, ct)
}

// slotsFor returns which of visitSlots a package of n calls a day uses.
func (g *gen) slotsFor(n int) []int {
	switch n {
	case 1:
		return []int{0}
	case 2:
		return pick(g, [][]int{{0, 2}, {0, 3}, {0, 2}})
	case 3:
		return pick(g, [][]int{{0, 1, 2}, {0, 1, 3}, {0, 2, 3}})
	}
	return []int{0, 1, 2, 3}
}

func (g *gen) makeVisits(c *pctx) {
	end := g.now.Add(VisitWindow)
	var carers, nurses []int
	for _, i := range c.team {
		if g.staff[i].Role == haven.RoleNurse {
			nurses = append(nurses, i)
		} else {
			carers = append(carers, i)
		}
	}
	add := func(staff int, start time.Time, minutes int, tasks []string) {
		if start.Before(g.now) || start.Add(time.Duration(minutes)*time.Minute).After(end) {
			return
		}
		c.pd.Visits = append(c.pd.Visits, haven.Visit{
			ID: g.id(), PersonID: c.pd.Person.ID, StaffID: g.staff[staff].ID,
			Start: start, End: start.Add(time.Duration(minutes) * time.Minute),
			Status: "planned", Tasks: slices.Clone(tasks),
		})
	}
	y, m, d := g.now.Date()

	if c.homeCare && len(carers) > 0 {
		// The package: the same calls at about the same times every day.
		type call struct {
			slot    visitSlot
			offset  int // minutes after the slot's earliest start
			minutes int
			tasks   []string
		}
		var calls []call
		for _, si := range g.slotsFor(c.calls) {
			s := visitSlots[si]
			cl := call{slot: s, offset: 15 * g.r.IntN(4), minutes: 30}
			switch s.Name {
			case "morning":
				cl.minutes = pick(g, []int{45, 45, 60})
			case "tea":
				cl.minutes = pick(g, []int{30, 45})
			}
			cl.tasks = slices.Clone(s.Tasks)
			for _, k := range g.r.Perm(len(s.Extras))[:g.between(0, 2)] {
				if !slices.Contains(cl.tasks, s.Extras[k]) {
					cl.tasks = append(cl.tasks, s.Extras[k])
				}
			}
			calls = append(calls, cl)
			c.slots = append(c.slots, s.Name)
		}
		for day := 0; day <= 7; day++ {
			date := time.Date(y, m, d+day, 0, 0, 0, 0, g.loc)
			weekend := date.Weekday() == time.Saturday || date.Weekday() == time.Sunday
			for ci, cl := range calls {
				// The main carer does weekday mornings and lunches, the
				// second the rest; sometimes someone else covers.
				who := 0
				if weekend || ci >= 2 {
					who = 1
				}
				if g.chance(0.15) {
					who = g.r.IntN(len(carers))
				}
				start := time.Date(y, m, d+day, cl.slot.Hour, cl.slot.Minute+cl.offset, 0, 0, g.loc)
				add(carers[who%len(carers)], start, cl.minutes, cl.tasks)
			}
		}
	}
	if len(nurses) > 0 {
		for _, n := range c.needs {
			phase := g.r.IntN(n.Days)
			for day := 0; day <= 7; day++ {
				if (day+phase)%n.Days != 0 {
					continue
				}
				tasks := []string{n.Task}
				if n.Calls >= 2 {
					add(pick(g, nurses), time.Date(y, m, d+day, 8, 15*g.r.IntN(4), 0, 0, g.loc), 30, tasks)
					add(pick(g, nurses), time.Date(y, m, d+day, 17, 15*g.r.IntN(4), 0, 0, g.loc), 30, tasks)
					continue
				}
				start := time.Date(y, m, d+day, g.between(9, 14), 15*g.r.IntN(4), 0, 0, g.loc)
				add(pick(g, nurses), start, n.Minutes, tasks)
			}
		}
	}
	slices.SortStableFunc(c.pd.Visits, func(a, b haven.Visit) int { return a.Start.Compare(b.Start) })
}

func (g *gen) makeNotes(c *pctx) {
	var carers, nurses []int
	for _, i := range c.team {
		if g.staff[i].Role == haven.RoleNurse {
			nurses = append(nurses, i)
		} else {
			carers = append(carers, i)
		}
	}
	note := func(author int, at time.Time, text string) {
		c.pd.Notes = append(c.pd.Notes, haven.Note{
			ID: g.id(), PersonID: c.pd.Person.ID, AuthorID: g.staff[author].ID, At: at, Text: c.fill.Replace(text),
		})
	}
	if c.homeCare && len(carers) > 0 {
		ts := slices.DeleteFunc(applicable(c, careNotes), func(t noteTemplate) bool {
			return t.Slot != "" && !slices.Contains(c.slots, t.Slot)
		})
		for _, k := range g.r.Perm(len(ts))[:min(len(ts), g.between(2, 5))] {
			note(pick(g, carers), g.noteTime(ts[k].Slot, 1, 14), ts[k].Text)
		}
	}
	if len(nurses) > 0 {
		for _, n := range c.needs {
			note(pick(g, nurses), g.noteTime("", 1, n.Days+1), n.Note)
		}
		if ts := applicable(c, nurseNotes); g.chance(0.4) && len(ts) > 0 {
			note(pick(g, nurses), g.noteTime("", 7, 60), pick(g, ts).Text)
		}
	}
	if ts := applicable(c, clinicianNotes); len(g.clinicians) > 0 && g.chance(0.3) && len(ts) > 0 {
		note(pick(g, g.clinicians), g.noteTime("", 7, 180), pick(g, ts).Text)
	}
	slices.SortStableFunc(c.pd.Notes, func(a, b haven.Note) int { return a.At.Compare(b.At) })
}

// applicable returns the templates that fit the person's active conditions.
func applicable(c *pctx, ts []noteTemplate) []noteTemplate {
	var out []noteTemplate
	for _, t := range ts {
		ok := len(t.Requires) == 0
		for _, i := range c.conds {
			if c.active[i] && slices.Contains(t.Requires, conditionDefs[i].Code) {
				ok = true
			}
		}
		if ok {
			out = append(out, t)
		}
	}
	return out
}

// noteTime returns a moment between minDays and maxDays ago during the
// named visit slot (or the working day), a little after the call began.
func (g *gen) noteTime(slot string, minDays, maxDays int) time.Time {
	hour, minute := g.between(9, 16), g.between(0, 59)
	for _, s := range visitSlots {
		if s.Name == slot {
			hour, minute = s.Hour, s.Minute+g.between(20, 75)
		}
	}
	d := g.now.AddDate(0, 0, -g.between(minDays, maxDays))
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, g.loc)
}

func (g *gen) makeHomeAccess(c *pctx) {
	h := &haven.HomeAccess{ID: g.id(), PersonID: c.pd.Person.ID}
	if g.chance(0.1) {
		h.EntryInstructions = fmt.Sprintf("Door entry system: press %d and wait; %s will buzz you in. Spare key held by the scheme manager.",
			g.between(1, 40), c.fill.Replace("{name}"))
	} else {
		h.KeySafeCode = g.keySafeCode()
		if g.chance(0.9) {
			h.EntryInstructions = pick(g, entryInstructions)
		}
	}
	switch {
	case g.chance(0.4):
	case g.chance(0.7):
		h.Hazards = c.fill.Replace(pick(g, hazardsList))
	default:
		i := g.r.Perm(len(hazardsList))
		h.Hazards = c.fill.Replace(hazardsList[i[0]] + " " + hazardsList[i[1]])
	}
	c.pd.HomeAccess = h
}

// keySafeCode returns 4 to 6 digits, sometimes after a letter ("C1947"),
// as the common push-button key safes use.
func (g *gen) keySafeCode() string {
	n := g.between(4, 6)
	b := make([]byte, 0, 7)
	if g.chance(0.2) {
		b = append(b, "ABCDEFGHJKLMNPRSTUVWXYZ"[g.r.IntN(23)])
	}
	for range n {
		b = append(b, byte('0'+g.r.IntN(10)))
	}
	return string(b)
}
