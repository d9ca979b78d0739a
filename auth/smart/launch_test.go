package smart_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/havencare/haven/auth/smart"
)

func TestGrantUserScopes(t *testing.T) {
	for _, tc := range []struct {
		name, requested string
		allowed         []string
		want            []string // nil: invalid_scope
		wantDesc        string
	}{
		{name: "v2", requested: "user/Patient.rs", allowed: []string{"user/*.cruds"}, want: []string{"user/Patient.rs"}},
		{name: "v1", requested: "user/Patient.read", allowed: []string{"user/Patient.rs"}, want: []string{"user/Patient.read"}},
		{name: "v1 under v1", requested: "user/*.read", allowed: []string{"user/*.read"}, want: []string{"user/*.read"}},
		{name: "launch scopes dropped", requested: "openid fhirUser launch/patient offline_access user/Observation.rs", allowed: []string{"user/*.rs"}, want: []string{"user/Observation.rs"}},
		{name: "more than allowed dropped", requested: "user/Patient.rs user/Condition.cruds", allowed: []string{"user/*.rs"}, want: []string{"user/Patient.rs"}},
		{name: "system scope refuses", requested: "user/Patient.rs system/*.rs", allowed: []string{"user/*.rs"}, wantDesc: "only user/ scopes"},
		{name: "system scope alone", requested: "system/Patient.read", allowed: []string{"user/*.rs"}, wantDesc: "only user/ scopes"},
		{name: "patient scope", requested: "patient/*.rs", allowed: []string{"user/*.rs"}, wantDesc: "only user/ scopes"},
		{name: "system allowed grants nothing", requested: "user/Patient.rs", allowed: []string{"system/*.rs"}, wantDesc: "none of the requested"},
		{name: "only launch scopes", requested: "openid fhirUser", allowed: []string{"user/*.rs"}, wantDesc: "scope is required"},
		{name: "unknown", requested: "user/Patient.rs email", allowed: []string{"user/*.rs"}, wantDesc: "unsupported scope"},
		{name: "malformed", requested: "user/Patient.rs\tuser/Condition.rs", allowed: []string{"user/*.rs"}, wantDesc: "malformed"},
		{name: "empty", requested: "", allowed: []string{"user/*.rs"}, wantDesc: "scope is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := smart.GrantUserScopes(tc.requested, tc.allowed)
			if tc.want != nil {
				if err != nil || !slices.Equal(got, tc.want) {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			e := asOAuthError(t, err)
			if e.Code != smart.CodeInvalidScope || !strings.Contains(e.Description, tc.wantDesc) {
				t.Errorf("got %s %q, want invalid_scope containing %q", e.Code, e.Description, tc.wantDesc)
			}
		})
	}
	if err := smart.ValidateUserScopes([]string{"user/*.cruds", "user/Patient.read"}); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"system/*.rs", "patient/*.rs", "user/patient.rs", "openid"} {
		if smart.ValidateUserScopes([]string{bad}) == nil {
			t.Errorf("%q allowed for a staff app", bad)
		}
	}
}

// FuzzGrantUserScopes: whatever is asked and allowed, only requested user/
// scopes are granted.
func FuzzGrantUserScopes(f *testing.F) {
	f.Add("user/Patient.rs system/*.rs", "user/*.cruds")
	f.Add("openid user/*.read", "user/*.rs system/*.rs")
	f.Fuzz(func(t *testing.T, requested, allowed string) {
		got, err := smart.GrantUserScopes(requested, strings.Fields(allowed))
		if err != nil {
			if e := asOAuthError(t, err); e.Code != smart.CodeInvalidScope {
				t.Fatalf("code %s", e.Code)
			}
			return
		}
		for _, g := range got {
			if !strings.HasPrefix(g, "user/") || !slices.Contains(strings.Split(requested, " "), g) {
				t.Fatalf("granted %q", g)
			}
		}
	})
}

func TestUserPermissions(t *testing.T) {
	got := smart.UserPermissions([]string{"user/Patient.rs", "system/*.cruds", "patient/*.rs", "user/*.read", "user/bad"})
	if !slices.Equal(got, []string{"system/Patient.rs", "system/*.read"}) {
		t.Fatalf("got %q", got)
	}
	// Permits reads system/ scopes only: a user/ scope on its own permits
	// nothing there, so a staff token's scopes never pass a check meant
	// for backend clients (a bulk export's, for one).
	if smart.Permits([]string{"user/Patient.rs"}, "Patient", "r") {
		t.Error("Permits reads a user/ scope as a system/ one")
	}
	if !smart.Permits(smart.UserPermissions([]string{"user/Patient.rs"}), "Patient", "r") || smart.Permits(smart.UserPermissions([]string{"system/Patient.rs"}), "Patient", "r") {
		t.Error("UserPermissions does not carry user/ scopes only")
	}
	if got := smart.OnlyUserScopes([]string{"user/Patient.rs", "system/*.rs"}); !slices.Equal(got, []string{"user/Patient.rs"}) {
		t.Errorf("OnlyUserScopes: %q", got)
	}
	if got := smart.OnlySystemScopes([]string{"user/Patient.rs", "system/*.rs"}); !slices.Equal(got, []string{"system/*.rs"}) {
		t.Errorf("OnlySystemScopes: %q", got)
	}
}

func TestDescribeScope(t *testing.T) {
	for in, want := range map[string]string{
		"user/Patient.rs":    "Read and search Patient records",
		"user/*.cruds":       "Create, read, update, delete and search records of every kind",
		"user/*.read":        "Read and search records of every kind",
		"user/Observation.c": "Create Observation records",
		"user/Observation.rs?category=laboratory": "Read and search Observation records (only those matching category=laboratory)",
		"nonsense": "nonsense",
	} {
		if got := smart.DescribeScope(in); got != want {
			t.Errorf("DescribeScope(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPKCE uses RFC 7636 appendix B's example.
func TestPKCE(t *testing.T) {
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if smart.S256(verifier) != challenge || !smart.VerifyPKCE(verifier, challenge) {
		t.Fatal("RFC 7636 example does not verify")
	}
	for _, bad := range []struct{ v, c string }{
		{"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", challenge}, // another verifier
		{verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"},  // another challenge
		{challenge, challenge},                                           // plain
		{"short", smart.S256("short")},                                   // verifier too short
		{strings.Repeat("a", 129), smart.S256(strings.Repeat("a", 129))}, // too long
		{strings.Repeat("a", 42) + "+", smart.S256(strings.Repeat("a", 42) + "+")},
		{verifier, ""},
	} {
		if smart.VerifyPKCE(bad.v, bad.c) {
			t.Errorf("VerifyPKCE(%q, %q) accepted", bad.v, bad.c)
		}
	}
	if smart.ValidCodeChallenge(challenge + "=") {
		t.Error("a padded challenge is accepted")
	}
}

func TestValidateRedirectURI(t *testing.T) {
	for _, ok := range []string{"https://app.example/callback", "https://app.example:8443/cb?x=1", "http://127.0.0.1:7777/cb", "http://[::1]/cb", "http://localhost:3000/cb"} {
		if err := smart.ValidateRedirectURI(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/callback", "http://app.example/cb", "https://app.example/cb#frag", "https://user:pw@app.example/cb",
		"javascript:alert(1)", "com.example.app:/cb", "https:///cb", "http://127.0.0.1.evil.example/cb", "https://app.example/c b", "ftp://app.example/cb",
		"https://app.example/" + strings.Repeat("a", 2000)} {
		if smart.ValidateRedirectURI(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAuthorizeRequestCheck(t *testing.T) {
	const aud = "https://haven.example/fhir"
	valid := smart.AuthorizeRequest{ResponseType: "code", ClientID: "north/c-1", RedirectURI: "https://app.example/cb", Scope: "user/*.rs",
		State: "xyz", CodeChallenge: smart.S256(strings.Repeat("v", 43)), CodeChallengeMethod: "S256", Aud: aud}
	if err := valid.Check(aud); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*smart.AuthorizeRequest){
		"no response_type":     func(r *smart.AuthorizeRequest) { r.ResponseType = "" },
		"token response_type":  func(r *smart.AuthorizeRequest) { r.ResponseType = "token" },
		"no state":             func(r *smart.AuthorizeRequest) { r.State = "" },
		"state with a newline": func(r *smart.AuthorizeRequest) { r.State = "a\nb" },
		"no challenge":         func(r *smart.AuthorizeRequest) { r.CodeChallenge = "" },
		"no method":            func(r *smart.AuthorizeRequest) { r.CodeChallengeMethod = "" },
		"plain":                func(r *smart.AuthorizeRequest) { r.CodeChallengeMethod = "plain" },
		"short challenge":      func(r *smart.AuthorizeRequest) { r.CodeChallenge = "abc" },
		"no aud":               func(r *smart.AuthorizeRequest) { r.Aud = "" },
		"other aud":            func(r *smart.AuthorizeRequest) { r.Aud = "https://haven.example/fhir/" },
		"EHR launch":           func(r *smart.AuthorizeRequest) { r.Launch = "abc" },
	} {
		r := valid
		edit(&r)
		if r.Check(aud) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := smart.ParseAuthorizeRequest(url.Values{"redirect_uri": {"https://a.example/1", "https://b.example/2"}}); err == nil {
		t.Error("a repeated redirect_uri is accepted")
	}
	back, _ := smart.ParseAuthorizeRequest(valid.Values())
	if back != valid {
		t.Errorf("Values does not round-trip: %+v", back)
	}
}

func TestParseCodeRequest(t *testing.T) {
	valid := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {"north.abc"}, "redirect_uri": {"https://app.example/cb"},
			"client_id": {"north/c-1"}, "code_verifier": {strings.Repeat("v", 43)}}
	}
	if _, err := smart.ParseCodeRequest(valid()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(url.Values)
		code string
	}{
		{"repeated code", func(v url.Values) { v.Add("code", "x") }, smart.CodeInvalidRequest},
		{"client_credentials", func(v url.Values) { v.Set("grant_type", "client_credentials") }, smart.CodeUnsupportedGrantType},
		{"with an assertion", func(v url.Values) { v.Set("client_assertion", "a.b.c") }, smart.CodeUnauthorizedClient},
		{"with a secret", func(v url.Values) { v.Set("client_secret", "s") }, smart.CodeInvalidRequest},
		{"no client_id", func(v url.Values) { v.Del("client_id") }, smart.CodeInvalidRequest},
		{"no code", func(v url.Values) { v.Del("code") }, smart.CodeInvalidRequest},
		{"no redirect_uri", func(v url.Values) { v.Del("redirect_uri") }, smart.CodeInvalidRequest},
		{"no verifier", func(v url.Values) { v.Del("code_verifier") }, smart.CodeInvalidRequest},
		{"bad verifier", func(v url.Values) { v.Set("code_verifier", "short") }, smart.CodeInvalidGrant},
	} {
		v := valid()
		c.edit(v)
		_, err := smart.ParseCodeRequest(v)
		if e := asOAuthError(t, err); e.Code != c.code {
			t.Errorf("%s: %s, want %s", c.name, e.Code, c.code)
		}
	}
}

func TestRedirectWith(t *testing.T) {
	got := smart.RedirectWith("https://app.example/cb?tenant=a", url.Values{"code": {"c&d"}, "state": {"s"}})
	u, err := url.Parse(got)
	if err != nil || u.Host != "app.example" || u.Path != "/cb" || u.Query().Get("tenant") != "a" || u.Query().Get("code") != "c&d" || u.Query().Get("state") != "s" {
		t.Fatalf("got %s", got)
	}
}
