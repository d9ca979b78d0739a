package fhir_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/authtest"
)

// Scope enforcement at the API, on both stores: what a token's scopes
// reach, whatever the request spells.
func TestScopesSQLite(t *testing.T) { testScopes(t, authtest.Options{People: 3}) }

func TestScopesPostgres(t *testing.T) { testScopes(t, authtest.Options{People: 3, Postgres: true}) }

func testScopes(t *testing.T, opt authtest.Options) {
	a := newAPIWith(t, opt)

	// A client registered for the wildcard may ask for system/AuditEvent.rs
	// or system/Patient.rs by name, and gets a token spelled so; only its
	// registration says whether those were given by type, and the audit
	// log and bulk export are reached only by scopes given by type.
	t.Run("asked by name through a wildcard", func(t *testing.T) {
		wild := a.register(t, authtest.North, "system/*.rs")
		audit := a.clientToken(t, wild, "system/AuditEvent.rs")
		a.do(t, "GET", "/fhir/AuditEvent?_count=1", audit, "").outcome(t, http.StatusForbidden)
		a.do(t, "GET", "/fhir/AuditEvent/0", audit, "").outcome(t, http.StatusForbidden)
		patients := a.clientToken(t, wild, "system/Patient.rs")
		a.do(t, "GET", "/fhir/$export?_type=Patient", patients, "", "Prefer", "respond-async").outcome(t, http.StatusForbidden)
		a.do(t, "GET", "/fhir/$export", patients, "", "Prefer", "respond-async").outcome(t, http.StatusForbidden)
		// The wildcard still reads and searches.
		if r := a.do(t, "GET", "/fhir/Patient?_count=1", patients, ""); r.status != http.StatusOK {
			t.Errorf("search under system/*.rs: %d %s", r.status, r.raw)
		}

		// Registered by type beside the wildcard, the same requests work.
		named := a.register(t, authtest.North, "system/*.rs", "system/AuditEvent.rs", "system/Patient.rs")
		if r := a.do(t, "GET", "/fhir/AuditEvent?_count=1", a.clientToken(t, named, "system/AuditEvent.rs"), ""); r.status != http.StatusOK {
			t.Errorf("audit log under a registered system/AuditEvent.rs: %d %s", r.status, r.raw)
		}
		if r := a.do(t, "GET", "/fhir/$export?_type=Patient", a.clientToken(t, named, "system/Patient.rs"), "", "Prefer", "respond-async"); r.status != http.StatusAccepted {
			t.Errorf("export under a registered system/Patient.rs: %d %s", r.status, r.raw)
		}
	})

	// SMART v2 gives deleting its own permission: create, read and update
	// do not include it.
	t.Run("delete needs d", func(t *testing.T) {
		person := realPerson(t, a, authtest.North)
		for _, c := range []struct {
			scope string
			want  int
		}{
			{"system/Condition.cru", http.StatusForbidden},
			{"system/Condition.cud", http.StatusNoContent},
			{"system/Condition.cruds", http.StatusNoContent},
		} {
			tok := a.token(t, authtest.North, c.scope)
			created := a.do(t, "POST", "/fhir/Condition", tok, sprintf(condition, person))
			if created.status != http.StatusCreated {
				t.Fatalf("%s: create: %d %s", c.scope, created.status, created.raw)
			}
			id, _ := created.body["id"].(string)
			if r := a.do(t, "DELETE", "/fhir/Condition/"+id, tok, ""); r.status != c.want {
				t.Errorf("%s: DELETE: %d %s, want %d", c.scope, r.status, r.raw, c.want)
			}
			kept := a.do(t, "GET", "/fhir/Condition/"+id, a.token(t, authtest.North, "system/Condition.rs"), "").status == http.StatusOK
			if kept != (c.want == http.StatusForbidden) {
				t.Errorf("%s: record still there after DELETE: %v", c.scope, kept)
			}
		}
	})

	// The organisation's own records are one policy action whatever their
	// type; the scope is asked about the type read, and reading one needs
	// its r, listing it its s.
	t.Run("staff and directory types need their own scope", func(t *testing.T) {
		roleID := "6f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
		if _, err := a.Care.Create(context.Background(), haven.SystemPrincipal(authtest.North, "test"),
			&haven.Resource{ID: roleID, Type: "PractitionerRole", Body: []byte(`{"resourceType":"PractitionerRole","active":true}`)}); err != nil {
			t.Fatal(err)
		}
		role, staff := "/fhir/PractitionerRole/"+roleID, "/fhir/Practitioner/"+a.Data[authtest.North].Staff[0].ID
		byIdentifier := "/fhir/PractitionerRole?identifier=https://example.org/roles|1"
		for _, c := range []struct {
			scope   string
			allowed []string
		}{
			{"system/Organization.s", nil},
			{"system/Organization.rs", nil},
			{"system/Practitioner.s", []string{"/fhir/Practitioner?_count=1"}},
			{"system/Practitioner.r", []string{staff}},
			{"system/PractitionerRole.r", []string{role, role + "/_history"}},
			{"system/PractitionerRole.s", []string{"/fhir/PractitionerRole?_count=1", byIdentifier}},
		} {
			tok := a.token(t, authtest.North, c.scope)
			for _, path := range []string{role, role + "/_history", staff, "/fhir/Practitioner?_count=1", "/fhir/PractitionerRole?_count=1", byIdentifier} {
				want := http.StatusForbidden
				if slices.Contains(c.allowed, path) {
					want = http.StatusOK
				}
				if r := a.do(t, "GET", path, tok, ""); r.status != want {
					t.Errorf("%s: GET %s: %d %.200s, want %d", c.scope, path, r.status, r.raw, want)
				}
			}
		}
	})
}

// TestBearerChallenge: the scheme is case-insensitive (RFC 9110 section
// 11.1), and a request with no token is challenged without an error code,
// which is for a token that failed (RFC 6750 section 3.1).
func TestBearerChallenge(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/Patient.rs")
	for _, scheme := range []string{"bearer ", "BEARER "} {
		if r := a.do(t, "GET", "/fhir/Patient?_count=1", "", "", "Authorization", scheme+tok); r.status != http.StatusOK {
			t.Errorf("scheme %q: %d %s", scheme, r.status, r.raw)
		}
	}
	for _, c := range []struct{ authorization, challenge string }{
		{"", `Bearer realm="haven"`},
		{"Basic dXNlcjpwYXNz", `Bearer realm="haven"`},
		{"Bearer north.not-a-token", `Bearer realm="haven", error="invalid_token"`},
	} {
		r := a.do(t, "GET", "/fhir/Patient", "", "", "Authorization", c.authorization)
		r.outcome(t, http.StatusUnauthorized)
		if got := r.header.Get("WWW-Authenticate"); got != c.challenge {
			t.Errorf("Authorization %q: WWW-Authenticate %q, want %q", c.authorization, got, c.challenge)
		}
	}
}
