package smart_test

import (
	"encoding/json"
	"slices"
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
		"token_endpoint_auth_methods_supported":            {"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": {"RS384", "ES384"},
		"grant_types_supported":                            {"client_credentials"},
		"capabilities":                                     {"client-confidential-asymmetric", "permission-v1", "permission-v2"},
	} {
		if got := strs(key); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	// Every advertised scope must be one a client can be allowed.
	if err := smart.ValidateScopes(strs("scopes_supported")); err != nil || len(strs("scopes_supported")) == 0 {
		t.Errorf("scopes_supported %q: %v", strs("scopes_supported"), err)
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
