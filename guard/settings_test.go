package guard

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
)

func TestDefaultsAreValid(t *testing.T) {
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Fatalf("Defaults() does not validate: %v", err)
	}
	for _, r := range []haven.Role{haven.RoleCarer, haven.RoleNurse, haven.RoleClinician, haven.RoleCoordinator,
		haven.RoleTenantAdmin, haven.RoleDPO, haven.RoleSupplierSupport, haven.RoleSupplierOperator, haven.RoleAPIClient} {
		if b, ok := d.Budgets[r]; !ok || b.PerHour <= 0 || b.PerDay <= 0 {
			t.Errorf("default budget of %s = %+v (present %v), want a limit", r, b, ok)
		}
	}
	if _, ok := d.Budgets[haven.RoleSystem]; ok {
		t.Error("the system role has a default budget")
	}
	// Each call builds its own map, so changing one tenant's settings
	// cannot change the defaults.
	d.Budgets[haven.RoleCarer] = Budget{PerHour: 1, PerDay: 1}
	if Defaults().Budgets[haven.RoleCarer] == d.Budgets[haven.RoleCarer] {
		t.Error("Defaults() shares its budget map between calls")
	}
}

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Settings
		want func(*Settings) // changes to Defaults()
	}{
		{"zero settings are the defaults", Settings{}, func(*Settings) {}},
		{"set fields are kept", Settings{
			Budgets:     map[haven.Role]Budget{haven.RoleCarer: {PerHour: 5, PerDay: 9}, haven.RoleSystem: {PerHour: 0, PerDay: 0}},
			DeniedLimit: 3, ProbeLimit: 4, SearchLimit: 5, WideSearch: 6, WideSearchLimit: 7,
			Window: Duration(time.Hour), Zone: "Europe/Paris", HomeAccessLead: Duration(time.Hour),
			WorkStart: 7, WorkEnd: 19, NewNetworkAlert: true, WebhookURL: "https://hooks.example/h", WebhookSecret: "0123456789abcdef",
		}, func(s *Settings) {
			s.Budgets[haven.RoleCarer] = Budget{PerHour: 5, PerDay: 9}
			s.Budgets[haven.RoleSystem] = Budget{}
			s.DeniedLimit, s.ProbeLimit, s.SearchLimit, s.WideSearch, s.WideSearchLimit = 3, 4, 5, 6, 7
			s.Window, s.Zone, s.HomeAccessLead = Duration(time.Hour), "Europe/Paris", Duration(time.Hour)
			s.WorkStart, s.WorkEnd = 7, 19
			s.WebhookURL, s.WebhookSecret = "https://hooks.example/h", "0123456789abcdef"
		}},
		{"negative thresholds are filled", Settings{
			DeniedLimit: -1, ProbeLimit: -1, SearchLimit: -1, WideSearch: -1, WideSearchLimit: -1,
			Window: Duration(-time.Minute), HomeAccessLead: Duration(-time.Minute),
		}, func(*Settings) {}},
		{"missing roles are filled, present ones kept", Settings{
			Budgets: map[haven.Role]Budget{haven.RoleNurse: {PerHour: 2, PerDay: 3}},
		}, func(s *Settings) { s.Budgets[haven.RoleNurse] = Budget{PerHour: 2, PerDay: 3} }},
		// The working day and the network alert have meaningful zero
		// values (every hour usual; off) and are left alone.
		{"working hours and network alert are left alone", Settings{WorkStart: 0, WorkEnd: 0, NewNetworkAlert: false},
			func(s *Settings) { s.WorkStart, s.WorkEnd, s.NewNetworkAlert = 0, 0, false }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := Defaults()
			// The zero value's working day and network alert stay zero.
			want.WorkStart, want.WorkEnd, want.NewNetworkAlert = tc.in.WorkStart, tc.in.WorkEnd, tc.in.NewNetworkAlert
			tc.want(&want)
			if got := tc.in.WithDefaults(); !reflect.DeepEqual(got, want) {
				t.Errorf("WithDefaults() =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestWithDefaultsLeavesReceiverAlone: WithDefaults has a value receiver
// and returns the filled settings, so a caller's own value stays as it was.
// Writing the missing roles into the caller's budget map would also make
// Observe (which calls it before taking its lock) race when goroutines
// share one partial Settings.
func TestWithDefaultsLeavesReceiverAlone(t *testing.T) {
	in := Settings{Budgets: map[haven.Role]Budget{haven.RoleCarer: {PerHour: 5, PerDay: 9}}}
	in.WithDefaults()
	if len(in.Budgets) != 1 {
		t.Errorf("WithDefaults changed its receiver: budgets now %v", in.Budgets)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Settings)
		field string // "" means valid
	}{
		{"defaults", func(*Settings) {}, ""},
		{"system without limit", func(s *Settings) { s.Budgets[haven.RoleSystem] = Budget{} }, ""},
		{"equal hourly and daily", func(s *Settings) { s.Budgets[haven.RoleCarer] = Budget{PerHour: 10, PerDay: 10} }, ""},
		{"negative hourly budget", func(s *Settings) { s.Budgets[haven.RoleCarer] = Budget{PerHour: -1, PerDay: 10} }, "budgets"},
		{"negative daily budget", func(s *Settings) { s.Budgets[haven.RoleCarer] = Budget{PerHour: 1, PerDay: -10} }, "budgets"},
		{"negative system budget", func(s *Settings) { s.Budgets[haven.RoleSystem] = Budget{PerHour: -1} }, "budgets"},
		{"zero hourly budget for a carer", func(s *Settings) { s.Budgets[haven.RoleCarer] = Budget{PerHour: 0, PerDay: 10} }, "budgets"},
		{"zero daily budget for a nurse", func(s *Settings) { s.Budgets[haven.RoleNurse] = Budget{PerHour: 10, PerDay: 0} }, "budgets"},
		{"no limit for an API client", func(s *Settings) { s.Budgets[haven.RoleAPIClient] = Budget{} }, "budgets"},
		{"no limit for supplier support", func(s *Settings) { s.Budgets[haven.RoleSupplierSupport] = Budget{} }, "budgets"},
		{"daily below hourly", func(s *Settings) { s.Budgets[haven.RoleCarer] = Budget{PerHour: 10, PerDay: 9} }, "budgets"},
		{"the largest daily budget", func(s *Settings) { s.Budgets[haven.RoleAPIClient] = Budget{PerHour: MaxBudget, PerDay: MaxBudget} }, ""},
		{"a daily budget beyond the largest", func(s *Settings) { s.Budgets[haven.RoleAPIClient] = Budget{PerHour: 10, PerDay: MaxBudget + 1} }, "budgets"},
		{"the largest rule limit", func(s *Settings) {
			s.DeniedLimit, s.ProbeLimit, s.SearchLimit = MaxRuleLimit, MaxRuleLimit, MaxRuleLimit
		}, ""},
		{"denied limit beyond the largest", func(s *Settings) { s.DeniedLimit = MaxRuleLimit + 1 }, "deniedLimit"},
		{"probe limit beyond the largest", func(s *Settings) { s.ProbeLimit = MaxRuleLimit + 1 }, "probeLimit"},
		{"search limit beyond the largest", func(s *Settings) { s.SearchLimit = MaxRuleLimit + 1 }, "searchLimit"},
		{"wide search beyond the largest", func(s *Settings) { s.WideSearch = MaxRuleLimit + 1 }, "wideSearch"},
		{"wide search limit beyond the largest", func(s *Settings) { s.WideSearchLimit = MaxRuleLimit + 1 }, "wideSearchLimit"},
		{"unknown role", func(s *Settings) { s.Budgets["janitor"] = Budget{PerHour: 1, PerDay: 1} }, "budgets"},
		{"bad zone", func(s *Settings) { s.Zone = "Mars/Olympus_Mons" }, "zone"},
		{"another real zone", func(s *Settings) { s.Zone = "America/New_York" }, ""},
		{"work start below 0", func(s *Settings) { s.WorkStart = -1 }, "workStart"},
		{"work start above 24", func(s *Settings) { s.WorkStart = 25 }, "workStart"},
		{"work end above 24", func(s *Settings) { s.WorkEnd = 25 }, "workStart"},
		{"work end 24", func(s *Settings) { s.WorkEnd = 24 }, ""},
		{"night shift", func(s *Settings) { s.WorkStart, s.WorkEnd = 20, 8 }, ""},
		{"window below a minute", func(s *Settings) { s.Window = Duration(59 * time.Second) }, "window"},
		{"window of a minute", func(s *Settings) { s.Window = Duration(time.Minute) }, ""},
		{"window of a day", func(s *Settings) { s.Window = Duration(24 * time.Hour) }, ""},
		{"window over a day", func(s *Settings) { s.Window = Duration(24*time.Hour + time.Second) }, "window"},
		{"home-access lead of 2h", func(s *Settings) { s.HomeAccessLead = Duration(2 * time.Hour) }, ""},
		{"home-access lead over 2h", func(s *Settings) { s.HomeAccessLead = Duration(2*time.Hour + time.Minute) }, "homeAccessLead"},
		{"https webhook", webhook("https://hooks.example.org/haven", "0123456789abcdef"), ""},
		{"http webhook to 127.0.0.1", webhook("http://127.0.0.1:9000/alerts", "0123456789abcdef"), ""},
		{"http webhook to another loopback address", webhook("http://127.8.9.10/alerts", "0123456789abcdef"), ""},
		{"http webhook to localhost", webhook("http://localhost:9000/alerts", "0123456789abcdef"), ""},
		{"http webhook to [::1]", webhook("http://[::1]:9000/alerts", "0123456789abcdef"), ""},
		{"http webhook elsewhere", webhook("http://hooks.example.org/haven", "0123456789abcdef"), "webhookUrl"},
		{"http webhook to a private address", webhook("http://10.0.0.1/haven", "0123456789abcdef"), "webhookUrl"},
		{"http webhook to a name starting with localhost", webhook("http://localhost.example.org/haven", "0123456789abcdef"), "webhookUrl"},
		{"http webhook with loopback as user info", webhook("http://127.0.0.1@hooks.example.org/haven", "0123456789abcdef"), "webhookUrl"},
		{"another scheme", webhook("ftp://hooks.example.org/haven", "0123456789abcdef"), "webhookUrl"},
		{"relative webhook", webhook("/alerts", "0123456789abcdef"), "webhookUrl"},
		{"https without host", webhook("https:///alerts", "0123456789abcdef"), "webhookUrl"},
		{"unparseable webhook", webhook("https://hooks example.org/%zz", "0123456789abcdef"), "webhookUrl"},
		{"webhook without a secret", webhook("https://hooks.example.org/haven", ""), "webhookSecret"},
		{"webhook with a 15-character secret", webhook("https://hooks.example.org/haven", "0123456789abcde"), "webhookSecret"},
		{"a secret without a webhook", webhook("", "x"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Defaults()
			tc.edit(&s)
			err := s.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var inv *haven.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Validate() = %v, want an invalid %s", err, tc.field)
			}
			if inv.Field != tc.field {
				t.Errorf("Validate() faults %q (%v), want %q", inv.Field, err, tc.field)
			}
		})
	}
}

func webhook(u, secret string) func(*Settings) {
	return func(s *Settings) { s.WebhookURL, s.WebhookSecret = u, secret }
}

func TestDurationJSON(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, 10 * time.Minute, 90 * time.Minute, 24 * time.Hour, 1500 * time.Millisecond} {
		b, err := json.Marshal(Duration(d))
		if err != nil {
			t.Fatal(err)
		}
		if want := `"` + d.String() + `"`; string(b) != want {
			t.Errorf("Marshal(%s) = %s, want %s", d, b, want)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back) != d {
			t.Errorf("Unmarshal(%s) = %s, %v; want %s", b, time.Duration(back), err, d)
		}
	}

	reads := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{`"30m"`, 30 * time.Minute, false},
		{`"1h30m"`, 90 * time.Minute, false},
		{`"soon"`, 0, true},
		{`""`, 0, true},
		{`600`, 0, true}, // nanoseconds as a number are not accepted
	}
	for _, r := range reads {
		var d Duration
		err := json.Unmarshal([]byte(r.in), &d)
		if (err != nil) != r.wantErr || time.Duration(d) != r.want {
			t.Errorf("Unmarshal(%s) = %s, %v; want %s, error %v", r.in, time.Duration(d), err, r.want, r.wantErr)
		}
	}

	// Whole settings round-trip, with the durations written as strings.
	s := Defaults()
	s.WebhookURL, s.WebhookSecret = "https://hooks.example.org/haven", "0123456789abcdef"
	s.Window, s.HomeAccessLead = Duration(10*time.Minute), Duration(30*time.Minute)
	s.Budgets[haven.RoleCarer] = Budget{PerHour: 30, PerDay: 60}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"window":"10m0s"`, `"homeAccessLead":"30m0s"`, `"carer":{"perHour":30,"perDay":60}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("settings JSON lacks %s: %s", want, b)
		}
	}
	var back Settings
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", back, s)
	}
	if err := json.Unmarshal([]byte(`{"window":"ten minutes"}`), &back); err == nil {
		t.Error("a settings body with a bad duration was accepted")
	}
}
