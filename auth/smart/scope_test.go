package smart_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/havencare/haven/auth/smart"
)

func TestGrantScopes(t *testing.T) {
	tests := []struct {
		name      string
		requested string
		allowed   []string
		want      []string // nil means invalid_scope
		wantDesc  string
	}{
		{name: "exact v1", requested: "system/Patient.read", allowed: []string{"system/Patient.read"}, want: []string{"system/Patient.read"}},
		{name: "exact v2", requested: "system/Patient.rs", allowed: []string{"system/Patient.rs"}, want: []string{"system/Patient.rs"}},
		{name: "v2 request under v1 read", requested: "system/Patient.rs", allowed: []string{"system/Patient.read"}, want: []string{"system/Patient.rs"}},
		{name: "v1 read under v2 rs", requested: "system/Patient.read", allowed: []string{"system/Patient.rs"}, want: []string{"system/Patient.read"}},
		{name: "subset of v2", requested: "system/Patient.r", allowed: []string{"system/Patient.rs"}, want: []string{"system/Patient.r"}},
		{name: "v1 write is cud", requested: "system/Patient.cud", allowed: []string{"system/Patient.write"}, want: []string{"system/Patient.cud"}},
		{name: "v1 star is cruds", requested: "system/Patient.cruds", allowed: []string{"system/Patient.*"}, want: []string{"system/Patient.cruds"}},
		{name: "union of allowed scopes", requested: "system/Patient.rs", allowed: []string{"system/Patient.r", "system/Patient.s"}, want: []string{"system/Patient.rs"}},
		{name: "wildcard covers a type", requested: "system/Observation.read", allowed: []string{"system/*.read"}, want: []string{"system/Observation.read"}},
		{name: "wildcard covers wildcard", requested: "system/*.rs", allowed: []string{"system/*.read"}, want: []string{"system/*.rs"}},
		{name: "request order kept", requested: "system/Observation.read system/Patient.read", allowed: []string{"system/Patient.read", "system/Observation.read"}, want: []string{"system/Observation.read", "system/Patient.read"}},
		{name: "disallowed scope dropped", requested: "system/Patient.read system/Patient.write", allowed: []string{"system/*.read"}, want: []string{"system/Patient.read"}},
		{name: "other type dropped", requested: "system/Patient.read system/Observation.read", allowed: []string{"system/Patient.read"}, want: []string{"system/Patient.read"}},
		{name: "duplicates collapsed", requested: "system/Patient.read system/Patient.read", allowed: []string{"system/*.read"}, want: []string{"system/Patient.read"}},
		{name: "extra spaces tolerated", requested: "  system/Patient.read   system/Observation.rs ", allowed: []string{"system/*.rs"}, want: []string{"system/Patient.read", "system/Observation.rs"}},
		{name: "search constraint under unconstrained", requested: "system/Observation.rs?category=laboratory", allowed: []string{"system/Observation.rs"}, want: []string{"system/Observation.rs?category=laboratory"}},
		{name: "same search constraint", requested: "system/Observation.rs?category=laboratory", allowed: []string{"system/Observation.rs?category=laboratory"}, want: []string{"system/Observation.rs?category=laboratory"}},

		{name: "more permissions than allowed", requested: "system/Patient.cruds", allowed: []string{"system/Patient.read"}, wantDesc: "none of the requested"},
		{name: "write under read", requested: "system/Patient.write", allowed: []string{"system/*.read"}, wantDesc: "none of the requested"},
		{name: "wildcard request under one type", requested: "system/*.read", allowed: []string{"system/Patient.read"}, wantDesc: "none of the requested"},
		{name: "unconstrained under constrained", requested: "system/Observation.rs", allowed: []string{"system/Observation.rs?category=laboratory"}, wantDesc: "none of the requested"},
		{name: "other constraint", requested: "system/Observation.rs?category=vital-signs", allowed: []string{"system/Observation.rs?category=laboratory"}, wantDesc: "none of the requested"},
		{name: "nothing allowed", requested: "system/Patient.read", allowed: nil, wantDesc: "none of the requested"},
		{name: "malformed allowed entry grants nothing", requested: "system/Patient.read", allowed: []string{"system/Patient.reed"}, wantDesc: "none of the requested"},
		{name: "user scope", requested: "system/Patient.read user/Patient.read", allowed: []string{"system/*.read"}, wantDesc: "only system/"},
		{name: "patient scope", requested: "patient/*.read", allowed: []string{"system/*.read"}, wantDesc: "only system/"},
		{name: "openid", requested: "system/Patient.read openid", allowed: []string{"system/*.read"}, wantDesc: "unsupported scope: openid"},
		{name: "out of order v2", requested: "system/Patient.sr", allowed: []string{"system/*.*"}, wantDesc: "unsupported scope"},
		{name: "repeated v2 letter", requested: "system/Patient.rr", allowed: []string{"system/*.*"}, wantDesc: "unsupported scope"},
		{name: "unknown v2 letter", requested: "system/Patient.rx", allowed: []string{"system/*.*"}, wantDesc: "unsupported scope"},
		{name: "no permissions", requested: "system/Patient.", allowed: []string{"system/*.*"}, wantDesc: "unsupported scope"},
		{name: "no dot", requested: "system/Patient", allowed: []string{"system/*.*"}, wantDesc: "unsupported scope"},
		{name: "lower-case type", requested: "system/patient.read", allowed: []string{"system/*.*"}, wantDesc: "unsupported scope"},
		{name: "v1 with constraint", requested: "system/Observation.read?category=laboratory", allowed: []string{"system/*.*"}, wantDesc: "unsupported scope"},
		{name: "empty constraint", requested: "system/Observation.rs?", allowed: []string{"system/*.*"}, wantDesc: "unsupported scope"},
		{name: "tab separated", requested: "system/Patient.read\tsystem/Observation.read", allowed: []string{"system/*.read"}, wantDesc: "malformed scope"},
		{name: "quote in scope", requested: `system/Patient.read"`, allowed: []string{"system/*.read"}, wantDesc: "malformed scope"},
		{name: "empty", requested: "", allowed: []string{"system/*.read"}, wantDesc: "scope is required"},
		{name: "spaces only", requested: "   ", allowed: []string{"system/*.read"}, wantDesc: "scope is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := smart.GrantScopes(tc.requested, tc.allowed)
			if tc.want != nil {
				if err != nil {
					t.Fatalf("GrantScopes: %v", err)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("granted %q; want invalid_scope", got)
			}
			e := asOAuthError(t, err)
			if e.Code != smart.CodeInvalidScope || e.Status != 400 {
				t.Errorf("got %s/%d, want invalid_scope/400", e.Code, e.Status)
			}
			if !strings.Contains(e.Description, tc.wantDesc) {
				t.Errorf("description %q does not contain %q", e.Description, tc.wantDesc)
			}
		})
	}
}

func TestValidateScopes(t *testing.T) {
	if err := smart.ValidateScopes([]string{"system/*.read", "system/Patient.rs", "system/Observation.rs?category=laboratory", "system/Patient.*"}); err != nil {
		t.Fatalf("valid scopes refused: %v", err)
	}
	for _, bad := range []string{"system/Patient.reed", "user/Patient.read", "openid", "", "system/Patient.read extra"} {
		if err := smart.ValidateScopes([]string{"system/*.read", bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzGrantScopes checks that GrantScopes never panics, only ever grants
// scopes that were requested, and fails only with invalid_scope.
func FuzzGrantScopes(f *testing.F) {
	f.Add("system/Patient.read system/Observation.rs", "system/*.read")
	f.Add("system/Observation.rs?category=x|y", "system/Observation.rs?category=x|y")
	f.Add("user/*.cruds", "system/*.*")
	f.Add("system/*.cruds system/A.c", "system/A.cruds")
	f.Fuzz(func(t *testing.T, requested, allowed string) {
		got, err := smart.GrantScopes(requested, strings.Fields(allowed))
		if err != nil {
			e := asOAuthError(t, err)
			if e.Code != smart.CodeInvalidScope {
				t.Fatalf("code %s", e.Code)
			}
			checkDescription(t, e)
			return
		}
		if len(got) == 0 {
			t.Fatal("no error and nothing granted")
		}
		asked := strings.Split(requested, " ")
		for _, g := range got {
			if !slices.Contains(asked, g) {
				t.Fatalf("granted %q, which was not requested", g)
			}
			if !strings.HasPrefix(g, "system/") {
				t.Fatalf("granted non-system scope %q", g)
			}
		}
	})
}

func TestPermits(t *testing.T) {
	for _, c := range []struct {
		granted  []string
		resource string
		perms    string
		want     bool
	}{
		{[]string{"system/Patient.read"}, "Patient", "r", true},
		{[]string{"system/Patient.read"}, "Patient", "rs", true},
		{[]string{"system/Patient.read"}, "Patient", "c", false},
		{[]string{"system/Patient.rs"}, "Observation", "r", false},
		{[]string{"system/*.read"}, "Observation", "rs", true},
		{[]string{"system/*.write"}, "Observation", "cu", true},
		{[]string{"system/*.write"}, "Observation", "r", false},
		{[]string{"system/Patient.c", "system/Patient.u"}, "Patient", "cu", true},
		{[]string{"system/Patient.rs?identifier=x"}, "Patient", "r", false},
		{[]string{"user/Patient.read"}, "Patient", "r", false},
		{[]string{"system/Patient.read"}, "Patient", "", false},
		{[]string{"system/Patient.read"}, "Patient", "x", false},
		{[]string{"system/*.read"}, "*", "r", false},
		{nil, "Patient", "r", false},
	} {
		if got := smart.Permits(c.granted, c.resource, c.perms); got != c.want {
			t.Errorf("smart.Permits(%v, %s, %s) = %v, want %v", c.granted, c.resource, c.perms, got, c.want)
		}
	}
}

// TestNamedScopes: a scope granted through a wildcard is not named, however
// it was spelled in the request; one the allowed scopes give by type is.
func TestNamedScopes(t *testing.T) {
	for _, c := range []struct {
		name             string
		granted, allowed []string
		want             []string
	}{
		{"asked by name through a wildcard", []string{"system/AuditEvent.rs", "system/Patient.rs"}, []string{"system/*.rs"}, []string{}},
		{"a wildcard granted", []string{"system/*.rs"}, []string{"system/*.rs", "system/Patient.rs"}, []string{}},
		{"allowed by name", []string{"system/AuditEvent.rs", "system/Patient.read"}, []string{"system/AuditEvent.rs", "system/Patient.rs", "system/*.rs"},
			[]string{"system/AuditEvent.rs", "system/Patient.read"}},
		{"named in parts", []string{"system/Patient.rs"}, []string{"system/Patient.r", "system/Patient.s"}, []string{"system/Patient.rs"}},
		{"part only through a wildcard", []string{"system/Patient.rs"}, []string{"system/Patient.r", "system/*.s"}, []string{}},
		{"narrower than allowed", []string{"system/Patient.r"}, []string{"system/Patient.cruds"}, []string{"system/Patient.r"}},
		{"another context", []string{"user/Patient.rs"}, []string{"user/Patient.rs"}, []string{}},
		{"nothing allowed", []string{"system/Patient.rs"}, nil, []string{}},
	} {
		if got := smart.NamedScopes(c.granted, c.allowed); !slices.Equal(got, c.want) {
			t.Errorf("%s: NamedScopes(%v, %v) = %v, want %v", c.name, c.granted, c.allowed, got, c.want)
		}
	}
}
