// Package guard watches what each account reads and stops it when the
// pattern looks like theft (invariant 6: a stolen, fully signed-in session
// yields little and is stopped).
//
// The record service (package care) asks policy whether an access is
// allowed, then tells the guard what the access would return. The guard
// keeps, per account, the people it read over a sliding day and the recent
// refusals, probes and searches, and answers with a Verdict: whether to
// refuse this access, and what it found. The caller records each finding as
// an alert in the same transaction as the audit entry, and carries out the
// containment (freeze the session until a factor is confirmed, end it, or
// lock the account) through a Container, which package auth implements.
//
// State is kept in memory per process and seeded from the audit log the
// first time an account is seen, so a restart does not refill budgets.
// Several Haven processes behind one load balancer each hold their own
// windows; docs/security.md says what that means for the bounds.
package guard

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/havencare/haven"
)

// Rule names a detection rule. They appear in alerts and in docs/security.md.
type Rule string

// The rules.
const (
	RuleCanary         Rule = "canary"               // a decoy person's record was opened
	RuleBudgetHour     Rule = "budget-hour"          // more distinct people in an hour than the role's budget
	RuleBudgetDay      Rule = "budget-day"           // ... in a day
	RuleOutside        Rule = "outside-relationship" // repeated refused attempts on people outside the relationship
	RuleProbe          Rule = "id-probing"           // repeated reads of ids that do not exist
	RuleSearchVolume   Rule = "search-volume"        // many searches in a short time
	RuleWideSearch     Rule = "wide-searches"        // several searches matching many people
	RuleUnusualHours   Rule = "unusual-hours"        // access outside the working day
	RuleNewNetwork     Rule = "new-network"          // first access from an unfamiliar network
	RuleHomeAccess     Rule = "home-access-refused"  // a refused attempt to reveal entry details
	RuleBreakGlass     Rule = "break-glass"          // a lease opened outside the relationship
	RuleSupportRequest Rule = "support-request"      // supplier support asked for access
)

// Level is the containment a finding calls for, weakest first.
type Level int

const (
	// AlertOnly records and sends an alert.
	AlertOnly Level = iota
	// Freeze stops the session until its user confirms a factor again: a
	// thief holding only the cookie is stopped, a busy nurse is not.
	Freeze
	// EndSession revokes the session.
	EndSession
	// Lock revokes every session of the account and locks it until an
	// administrator unlocks it.
	Lock
)

func (l Level) String() string {
	switch l {
	case Freeze:
		return "session frozen until a factor is confirmed"
	case EndSession:
		return "session ended"
	case Lock:
		return "account locked and all its sessions ended"
	}
	return "alert only"
}

// Finding is one rule that fired.
type Finding struct {
	Rule   Rule
	Level  Level
	Detail string // for the alert; never personal data
	// PersonID names the person involved where the rule is about one (a
	// canary, a refused home-access reveal, a break-glass lease).
	PersonID string
	// Repeat marks a finding that already raised an alert for this account
	// within the last hour: it still refuses and contains, but the caller
	// need not raise another alert.
	Repeat bool
}

// Verdict is the guard's answer about one access.
type Verdict struct {
	Refuse   bool
	Findings []Finding
}

// Level is the strongest containment the verdict calls for.
func (v Verdict) Level() Level {
	l := AlertOnly
	for _, f := range v.Findings {
		l = max(l, f.Level)
	}
	return l
}

// Access is what one call of the record service is about to do.
type Access struct {
	Time    time.Time
	Tenant  string
	Actor   string
	Role    haven.Role
	Session string
	Addr    string
	// People are the people whose data the access returns.
	People []string
	// Denied counts person-level refusals by policy; Probes, ids that
	// did not exist.
	Denied, Probes int
	// Canary is the id of a decoy person whose record is being opened.
	Canary string
	// Search marks a search, and Matches how many people matched before
	// policy filtered them: a carer's search that matches the whole
	// organisation is wide even if it returns only the caseload.
	Search  bool
	Matches int
}

// Past is one access from the audit log, to seed an account's state.
type Past struct {
	Time     time.Time
	PersonID string
	Addr     string
}

// Contain is what a Container must do.
type Contain struct {
	Tenant  string // the partition of the actor's account
	Actor   string
	Role    haven.Role
	Session string
	Level   Level
}

// Container carries out containment. Package auth implements it.
type Container interface {
	Contain(ctx context.Context, c Contain) error
}

// repeatAfter is how long a rule stays quiet for one account after it
// raised an alert.
const repeatAfter = time.Hour

// Guard holds every account's recent activity.
type Guard struct {
	mu       sync.Mutex
	accounts map[string]*account
}

// New returns an empty guard.
func New() *Guard { return &Guard{accounts: map[string]*account{}} }

type account struct {
	people   *recent // who was read in the last day
	denied   []time.Time
	probes   []time.Time
	searches []time.Time
	wide     []time.Time
	networks map[string]bool
	alerted  map[Rule]time.Time
}

func key(tenant, actor string) string { return tenant + "\x00" + actor }

// Known reports whether the guard has state for the account, so the caller
// knows whether to Seed it first.
func (g *Guard) Known(tenant, actor string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.accounts[key(tenant, actor)]
	return ok
}

// Seed loads an account's recent history (the last day of its successful
// accesses from the audit log). Seeding an account already known does
// nothing, so two requests racing to seed cannot double-count.
func (g *Guard) Seed(tenant, actor string, history []Past) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := key(tenant, actor)
	if _, ok := g.accounts[k]; ok {
		return
	}
	a := newAccount()
	history = slices.SortedStableFunc(slices.Values(history), func(x, y Past) int { return x.Time.Compare(y.Time) })
	for _, h := range history {
		if h.PersonID != "" {
			a.people.add(h.Time, []string{h.PersonID})
		}
		if n := network(h.Addr); n != "" {
			a.networks[n] = true
		}
	}
	g.accounts[k] = a
}

// Forget drops an account's state (an administrator unlocked it).
func (g *Guard) Forget(tenant, actor string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.accounts, key(tenant, actor))
}

func newAccount() *account {
	return &account{people: newRecent(), networks: map[string]bool{}, alerted: map[Rule]time.Time{}}
}

// Observe judges one access against s and records it. People are counted
// only if the access is not refused, so a refused read costs the thief
// nothing but yields nothing either.
func (g *Guard) Observe(x Access, s Settings) Verdict {
	s = s.WithDefaults()
	g.mu.Lock()
	defer g.mu.Unlock()
	k := key(x.Tenant, x.Actor)
	a := g.accounts[k]
	if a == nil {
		a = newAccount()
		g.accounts[k] = a
	}
	now := x.Time
	a.prune(now, time.Duration(s.Window))
	var v Verdict
	fire := func(r Rule, l Level, person, format string, args ...any) {
		f := Finding{Rule: r, Level: l, PersonID: person, Detail: fmt.Sprintf(format, args...)}
		if last, ok := a.alerted[r]; ok && now.Sub(last) < repeatAfter && r != RuleCanary {
			f.Repeat = true
		} else {
			a.alerted[r] = now
		}
		v.Findings = append(v.Findings, f)
	}

	if x.Canary != "" {
		fire(RuleCanary, Lock, x.Canary, "opened the record of a decoy person that no legitimate work touches")
	}

	if b, ok := s.Budgets[x.Role]; ok && len(x.People) > 0 {
		hour, day := a.people.distinct(x.People)
		switch {
		case b.PerDay > 0 && day > b.PerDay:
			fire(RuleBudgetDay, Lock, "", "would have read %d distinct people in 24 hours; the %s budget is %d", day, x.Role, b.PerDay)
		case b.PerHour > 0 && hour > b.PerHour:
			fire(RuleBudgetHour, EndSession, "", "would have read %d distinct people in an hour; the %s budget is %d", hour, x.Role, b.PerHour)
		}
	}

	window := time.Duration(s.Window)
	if x.Denied > 0 {
		a.denied = appendN(a.denied, now, x.Denied)
		if len(a.denied) >= s.DeniedLimit {
			fire(RuleOutside, EndSession, "", "%d refused attempts on people outside the care relationship in %s", len(a.denied), window)
			a.denied = nil
		}
	}
	if x.Probes > 0 {
		a.probes = appendN(a.probes, now, x.Probes)
		if len(a.probes) >= s.ProbeLimit {
			fire(RuleProbe, EndSession, "", "%d reads of record ids that do not exist in %s", len(a.probes), window)
			a.probes = nil
		}
	}
	if x.Search {
		a.searches = append(a.searches, now)
		if x.Matches >= s.WideSearch {
			a.wide = append(a.wide, now)
		}
		switch {
		case len(a.searches) > s.SearchLimit:
			fire(RuleSearchVolume, Freeze, "", "%d searches in %s", len(a.searches), window)
			a.searches, a.wide = nil, nil
		case len(a.wide) >= s.WideSearchLimit:
			fire(RuleWideSearch, Freeze, "", "%d searches matching %d or more people in %s", len(a.wide), s.WideSearch, window)
			a.searches, a.wide = nil, nil
		}
	}

	if s.WorkStart != s.WorkEnd && !x.Time.IsZero() {
		if loc, err := location(s.Zone); err == nil {
			h := x.Time.In(loc).Hour()
			inside := h >= s.WorkStart && h < s.WorkEnd
			if s.WorkStart > s.WorkEnd { // a working day across midnight
				inside = h >= s.WorkStart || h < s.WorkEnd
			}
			if !inside {
				fire(RuleUnusualHours, AlertOnly, "", "access at %02d:00 %s, outside working hours %02d:00–%02d:00", h, s.Zone, s.WorkStart, s.WorkEnd)
			}
		}
	}
	if n := network(x.Addr); n != "" {
		if s.NewNetworkAlert && len(a.networks) > 0 && !a.networks[n] {
			fire(RuleNewNetwork, AlertOnly, "", "first access from network %s", n)
		}
		a.networks[n] = true
	}

	// Anything that ends or freezes the session, or locks the account,
	// also refuses the access that set it off.
	v.Refuse = v.Level() >= Freeze
	if !v.Refuse {
		a.people.add(now, x.People)
	}
	return v
}

func (a *account) prune(now time.Time, window time.Duration) {
	a.people.advance(now)
	a.denied = since(a.denied, now.Add(-window))
	a.probes = since(a.probes, now.Add(-window))
	a.searches = since(a.searches, now.Add(-window))
	a.wide = since(a.wide, now.Add(-window))
}

func since(ts []time.Time, from time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(from) {
		i++
	}
	return ts[i:]
}

func appendN(ts []time.Time, t time.Time, n int) []time.Time {
	for range n {
		ts = append(ts, t)
	}
	return ts
}

// network is the network an address belongs to: its /24 for IPv4 and /48
// for IPv6, which is what a change of place looks like (a phone moving
// between cells inside one carrier network stays within its range less
// often, which is why this rule only alerts).
func network(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil {
		return (&net.IPNet{IP: v4.Mask(net.CIDRMask(24, 32)), Mask: net.CIDRMask(24, 32)}).String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(48, 128)), Mask: net.CIDRMask(48, 128)}).String()
}

// zones holds the time zones loaded so far: time.LoadLocation reads the
// zone database from disk on every call, which was a large share of the
// guard's work per access. Zone names are few (one per tenant at most).
var zones sync.Map // name -> *time.Location

func location(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}
