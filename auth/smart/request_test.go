package smart_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/havencare/haven/auth/smart"
)

func TestParseRequest(t *testing.T) {
	valid := func() url.Values {
		return url.Values{
			"grant_type":            {"client_credentials"},
			"scope":                 {"system/Patient.read system/Observation.rs"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {"header.payload.signature"},
		}
	}
	edit := func(f func(url.Values)) url.Values {
		v := valid()
		f(v)
		return v
	}
	tests := []struct {
		name     string
		form     url.Values
		wantCode string // "" to accept
		wantDesc string
	}{
		{name: "valid", form: valid()},
		{name: "valid with client_id", form: edit(func(v url.Values) { v.Set("client_id", "c1") })},
		{name: "missing grant_type", form: edit(func(v url.Values) { v.Del("grant_type") }), wantCode: smart.CodeInvalidRequest, wantDesc: "grant_type is required"},
		{name: "empty grant_type", form: edit(func(v url.Values) { v.Set("grant_type", "") }), wantCode: smart.CodeInvalidRequest, wantDesc: "grant_type is required"},
		{name: "authorization_code", form: edit(func(v url.Values) { v.Set("grant_type", "authorization_code") }), wantCode: smart.CodeUnsupportedGrantType},
		{name: "password", form: edit(func(v url.Values) { v.Set("grant_type", "password") }), wantCode: smart.CodeUnsupportedGrantType},
		{name: "repeated grant_type", form: edit(func(v url.Values) { v.Add("grant_type", "client_credentials") }), wantCode: smart.CodeInvalidRequest, wantDesc: "repeated"},
		{name: "repeated assertion", form: edit(func(v url.Values) { v.Add("client_assertion", "x.y.z") }), wantCode: smart.CodeInvalidRequest, wantDesc: "repeated"},
		{name: "repeated scope", form: edit(func(v url.Values) { v.Add("scope", "system/Patient.read") }), wantCode: smart.CodeInvalidRequest, wantDesc: "repeated"},
		{name: "no client authentication", form: edit(func(v url.Values) { v.Del("client_assertion"); v.Del("client_assertion_type") }), wantCode: smart.CodeInvalidClient},
		{name: "missing assertion type", form: edit(func(v url.Values) { v.Del("client_assertion_type") }), wantCode: smart.CodeInvalidRequest, wantDesc: "client_assertion_type is required"},
		{name: "wrong assertion type", form: edit(func(v url.Values) {
			v.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
		}), wantCode: smart.CodeInvalidClient},
		{name: "missing assertion", form: edit(func(v url.Values) { v.Del("client_assertion") }), wantCode: smart.CodeInvalidRequest, wantDesc: "client_assertion is required"},
		{name: "client_secret too", form: edit(func(v url.Values) { v.Set("client_secret", "s3cret") }), wantCode: smart.CodeInvalidRequest, wantDesc: "client_secret"},
		{name: "oversized assertion", form: edit(func(v url.Values) { v.Set("client_assertion", strings.Repeat("a", 16<<10+1)) }), wantCode: smart.CodeInvalidRequest, wantDesc: "too long"},
		{name: "missing scope", form: edit(func(v url.Values) { v.Del("scope") }), wantCode: smart.CodeInvalidRequest, wantDesc: "scope is required"},
		{name: "blank scope", form: edit(func(v url.Values) { v.Set("scope", "   ") }), wantCode: smart.CodeInvalidRequest, wantDesc: "scope is required"},
		{name: "oversized scope", form: edit(func(v url.Values) { v.Set("scope", strings.Repeat("system/Patient.read ", 300)) }), wantCode: smart.CodeInvalidScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := smart.ParseRequest(tc.form)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("ParseRequest: %v", err)
				}
				if req.Assertion != tc.form.Get("client_assertion") || req.Scope != tc.form.Get("scope") || req.ClientID != tc.form.Get("client_id") {
					t.Fatalf("got %+v", req)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %s", tc.wantCode)
			}
			e := asOAuthError(t, err)
			if e.Code != tc.wantCode {
				t.Errorf("code %s, want %s (%s)", e.Code, tc.wantCode, e.Description)
			}
			wantStatus := 400
			if tc.wantCode == smart.CodeInvalidClient {
				wantStatus = 401
			}
			if e.Status != wantStatus {
				t.Errorf("status %d, want %d", e.Status, wantStatus)
			}
			if !strings.Contains(e.Description, tc.wantDesc) {
				t.Errorf("description %q does not contain %q", e.Description, tc.wantDesc)
			}
		})
	}
}
