package smart_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven/auth/smart"
)

func TestNewConfiguration(t *testing.T) {
	for _, base := range []string{"https://haven.example", "https://haven.example/"} {
		c := smart.NewConfiguration(base)
		if c.TokenEndpoint != tokenURL {
			t.Errorf("base %q: token endpoint %q, want %q", base, c.TokenEndpoint, tokenURL)
		}
	}
	b, err := json.Marshal(smart.NewConfiguration("https://haven.example"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	strs := func(key string) []string {
		var out []string
		list, _ := doc[key].([]any)
		for _, v := range list {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out
	}
	if doc["token_endpoint"] != tokenURL {
		t.Errorf("token_endpoint = %v", doc["token_endpoint"])
	}
	for key, want := range map[string][]string{
		"token_endpoint_auth_methods_supported":            {"private_key_jwt", "none"},
		"token_endpoint_auth_signing_alg_values_supported": {"RS384", "ES384"},
		"grant_types_supported":                            {"client_credentials", "authorization_code"},
		"response_types_supported":                         {"code"},
		"code_challenge_methods_supported":                 {"S256"},
		"capabilities":                                     {"client-confidential-asymmetric", "launch-standalone", "client-public", "permission-user", "permission-v1", "permission-v2"},
	} {
		if got := strs(key); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if doc["authorization_endpoint"] != "https://haven.example/fhir/auth/authorize" {
		t.Errorf("authorization_endpoint = %v", doc["authorization_endpoint"])
	}
	// Every advertised scope must be one a backend client or a staff app
	// can be allowed.
	var system, user []string
	for _, sc := range strs("scopes_supported") {
		if strings.HasPrefix(sc, "user/") {
			user = append(user, sc)
		} else {
			system = append(system, sc)
		}
	}
	if err := smart.ValidateScopes(system); err != nil || len(system) == 0 {
		t.Errorf("scopes_supported %q: %v", system, err)
	}
	if err := smart.ValidateUserScopes(user); err != nil || len(user) == 0 {
		t.Errorf("scopes_supported %q: %v", user, err)
	}
	if _, ok := doc["issuer"]; ok {
		t.Error("issuer published without sso-openid-connect")
	}
}

func TestNewTokenResponse(t *testing.T) {
	r, err := smart.NewTokenResponse("tok", smart.MaxTokenLife, []string{"system/Patient.read", "system/Observation.rs"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	want := `{"access_token":"tok","token_type":"bearer","expires_in":300,"scope":"system/Patient.read system/Observation.rs"}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
	for _, life := range []time.Duration{0, -time.Second, 500 * time.Millisecond, smart.MaxTokenLife + time.Second, time.Hour} {
		if _, err := smart.NewTokenResponse("tok", life, nil); err == nil {
			t.Errorf("life %v accepted", life)
		}
	}
}

func TestErrorJSON(t *testing.T) {
	b, err := json.Marshal(&smart.Error{Code: smart.CodeInvalidClient, Description: "assertion expired", Status: 401})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"error":"invalid_client","error_description":"assertion expired"}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}
