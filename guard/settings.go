package guard

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"time"

	"github.com/havencare/haven"
)

// Budget is how many distinct people an account may read in a sliding hour
// and a sliding day. Zero means no limit (only the system role has none by
// default).
type Budget struct {
	PerHour int `json:"perHour"`
	PerDay  int `json:"perDay"`
}

// Settings are a tenant's thresholds. Every field has a safe default
// (Defaults); a tenant changes them with `haven admin settings` or the
// settings API, both of which need a tenant administrator with step-up.
type Settings struct {
	// Budgets of distinct people read, by role.
	Budgets map[haven.Role]Budget `json:"budgets"`
	// DeniedLimit is how many refused attempts on people's records (outside
	// the relationship, by policy) an account may make in Window before
	// its session is ended.
	DeniedLimit int `json:"deniedLimit"`
	// ProbeLimit is how many reads of ids that do not exist an account may
	// make in Window before its session is ended: guessing ids is how
	// enumeration looks.
	ProbeLimit int `json:"probeLimit"`
	// SearchLimit is how many searches an account may run in Window, and
	// WideSearch the number of matches from which a search counts as wide;
	// WideSearchLimit wide searches in Window freeze the session until the
	// user confirms a factor.
	SearchLimit     int `json:"searchLimit"`
	WideSearch      int `json:"wideSearch"`
	WideSearchLimit int `json:"wideSearchLimit"`
	// Window is the sliding window of the denied, probe and search rules.
	Window Duration `json:"window"`
	// WorkStart and WorkEnd bound the usual working day, in whole hours of
	// Zone (0–24; WorkStart == WorkEnd means every hour is usual). Access
	// outside it raises an alert, nothing more: care happens at night.
	WorkStart int    `json:"workStart"`
	WorkEnd   int    `json:"workEnd"`
	Zone      string `json:"zone"`
	// NewNetworkAlert raises an alert the first time an account with a
	// history acts from a network it has not used before.
	NewNetworkAlert bool `json:"newNetworkAlert"`
	// HomeAccessLead is how long before a visit starts its home-access
	// details open (policy caps it at policy.MaxHomeAccessLead).
	HomeAccessLead Duration `json:"homeAccessLead"`
	// WebhookURL receives alerts (JSON, no personal data) when set;
	// WebhookSecret signs each delivery (HMAC-SHA256 header).
	WebhookURL    string `json:"webhookUrl,omitempty"`
	WebhookSecret string `json:"webhookSecret,omitempty"`
}

// Upper bounds of the settings: beyond them a rule no longer protects
// anything, so a setting that high is refused rather than obeyed.
const (
	MaxBudget    = 100000
	MaxRuleLimit = 1000
)

// Duration is a time.Duration written as a Go duration string in JSON, so
// settings files and API bodies read "30m", not 1800000000000.
type Duration time.Duration

// MarshalText writes d as "1h0m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (like 30m or 1h): %q", b)
	}
	*d = Duration(v)
	return nil
}

// Defaults are the thresholds a tenant starts with. The budgets follow the
// work of each role: a carer's team covers a patch of perhaps 20–35 people; a
// nurse or clinician a caseload of a few dozen; a coordinator arranges a
// service's visits and opens more; an API client feeds another system. The
// 2022 breach took 82,946 people through one account: each budget bounds
// what one stolen account yields before it is stopped.
func Defaults() Settings {
	return Settings{
		Budgets: map[haven.Role]Budget{
			haven.RoleCarer:           {PerHour: 40, PerDay: 80},
			haven.RoleNurse:           {PerHour: 40, PerDay: 100},
			haven.RoleClinician:       {PerHour: 60, PerDay: 150},
			haven.RoleCoordinator:     {PerHour: 100, PerDay: 300},
			haven.RoleSupplierSupport: {PerHour: 10, PerDay: 20},
			haven.RoleAPIClient:       {PerHour: 2000, PerDay: 10000},
			// The rest read no records by policy; a budget of 1 still
			// bounds them should that ever change by mistake.
			haven.RoleTenantAdmin:      {PerHour: 1, PerDay: 1},
			haven.RoleDPO:              {PerHour: 1, PerDay: 1},
			haven.RoleSupplierOperator: {PerHour: 1, PerDay: 1},
		},
		DeniedLimit:     5,
		ProbeLimit:      10,
		SearchLimit:     60,
		WideSearch:      20,
		WideSearchLimit: 5,
		Window:          Duration(10 * time.Minute),
		WorkStart:       6,
		WorkEnd:         23,
		Zone:            "Europe/London",
		NewNetworkAlert: true,
		HomeAccessLead:  Duration(30 * time.Minute),
	}
}

// WithDefaults fills what s leaves unset from Defaults, so that a stored
// settings record written by an older Haven, or a partial update, never
// leaves a threshold at zero (which would mean "no limit").
func (s Settings) WithDefaults() Settings {
	d := Defaults()
	// A new map: the caller's settings are not changed behind its back.
	budgets := make(map[haven.Role]Budget, len(d.Budgets))
	maps.Copy(budgets, s.Budgets)
	s.Budgets = budgets
	for r, b := range d.Budgets {
		if _, ok := s.Budgets[r]; !ok {
			s.Budgets[r] = b
		}
	}
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt(&s.DeniedLimit, d.DeniedLimit)
	setInt(&s.ProbeLimit, d.ProbeLimit)
	setInt(&s.SearchLimit, d.SearchLimit)
	setInt(&s.WideSearch, d.WideSearch)
	setInt(&s.WideSearchLimit, d.WideSearchLimit)
	if s.Window <= 0 {
		s.Window = d.Window
	}
	if s.Zone == "" {
		s.Zone = d.Zone
	}
	if s.HomeAccessLead <= 0 {
		s.HomeAccessLead = d.HomeAccessLead
	}
	return s
}

// Validate reports settings that cannot be right.
func (s Settings) Validate() error {
	for r, b := range s.Budgets {
		if !r.Valid() {
			return haven.Invalid("budgets", "unknown role %q", r)
		}
		if b.PerHour < 0 || b.PerDay < 0 {
			return haven.Invalid("budgets", "%s: a budget cannot be negative", r)
		}
		if r != haven.RoleSystem && (b.PerHour == 0 || b.PerDay == 0) {
			return haven.Invalid("budgets", "%s: only the system role may have no limit (0)", r)
		}
		if b.PerDay < b.PerHour {
			return haven.Invalid("budgets", "%s: the daily budget is smaller than the hourly one", r)
		}
		if b.PerDay > MaxBudget {
			return haven.Invalid("budgets", "%s: at most %d people a day; a larger budget is no limit at all", r, MaxBudget)
		}
	}
	for _, l := range []struct {
		name string
		v    int
	}{{"deniedLimit", s.DeniedLimit}, {"probeLimit", s.ProbeLimit}, {"searchLimit", s.SearchLimit}, {"wideSearch", s.WideSearch}, {"wideSearchLimit", s.WideSearchLimit}} {
		if l.v > MaxRuleLimit {
			return haven.Invalid(l.name, "at most %d; a larger value switches the rule off", MaxRuleLimit)
		}
	}
	if s.WorkStart < 0 || s.WorkStart > 24 || s.WorkEnd < 0 || s.WorkEnd > 24 {
		return haven.Invalid("workStart", "working hours are whole hours from 0 to 24")
	}
	if _, err := time.LoadLocation(s.Zone); err != nil {
		return haven.Invalid("zone", "unknown time zone %q", s.Zone)
	}
	if s.Window < Duration(time.Minute) || s.Window > Duration(24*time.Hour) {
		return haven.Invalid("window", "must be between 1m and 24h")
	}
	if s.HomeAccessLead > Duration(2*time.Hour) {
		return haven.Invalid("homeAccessLead", "at most 2h, so a visit does not become standing access")
	}
	if s.WebhookURL != "" {
		if err := validWebhook(s.WebhookURL); err != nil {
			return err
		}
		if len(s.WebhookSecret) < 16 {
			return haven.Invalid("webhookSecret", "a webhook needs a signing secret of at least 16 characters")
		}
	}
	return nil
}

// validWebhook accepts https URLs, and plain http only to a loopback host
// (a local relay, and tests): alerts name accounts and rules, and must not
// cross a network in the clear.
func validWebhook(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return haven.Invalid("webhookUrl", "not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return haven.Invalid("webhookUrl", "must be https (plain http only to loopback)")
}
