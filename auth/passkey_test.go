package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/auth/totp"
	"github.com/havencare/haven/store"
)

// Tests that try to break the passkey rules: a passkey is two factors in
// one only if it is bound to Haven's origin, verifies the user, answers
// each challenge once, is not a copy, and names the account it belongs to.

const pkOrigin = "http://localhost:8080" // authtest's default origin

var pkClient = auth.ClientInfo{Addr: "198.51.100.7", Device: "passkey test"}

// pkSignIn runs a discoverable passkey sign-in with key's answer bent by o.
func pkSignIn(t *testing.T, env *authtest.Env, key *authtest.SoftKey, o authtest.Answer) (*auth.Session, error) {
	t.Helper()
	ctx := context.Background()
	assertion, ceremony, err := env.Auth.BeginPasskeySignIn(ctx, pkClient)
	if err != nil {
		t.Fatal(err)
	}
	body, err := key.AssertWith(assertion, o)
	if err != nil {
		t.Fatal(err)
	}
	return env.Auth.FinishPasskeySignIn(ctx, ceremony, body, pkClient)
}

// pkConfirm confirms the session with key's passkey (second step of a
// password sign-in, or step-up), the answer bent by o.
func pkConfirm(t *testing.T, env *authtest.Env, token string, key *authtest.SoftKey, o authtest.Answer) (*auth.Session, error) {
	t.Helper()
	ctx := context.Background()
	assertion, err := env.Auth.BeginPasskeyConfirm(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	body, err := key.AssertWith(assertion, o)
	if err != nil {
		t.Fatal(err)
	}
	return env.Auth.FinishPasskeyConfirm(ctx, token, body, pkClient)
}

// pkRefused fails the test unless a passkey sign-in was refused with
// ErrPasskey and no session.
func pkRefused(t *testing.T, what string, s *auth.Session, err error) {
	t.Helper()
	if s != nil || !errors.Is(err, auth.ErrPasskey) {
		t.Fatalf("%s: got session %v, error %v; want ErrPasskey and no session", what, s != nil, err)
	}
}

// pkAudit returns the audit entries of a partition whose actor is the
// account, oldest first.
func pkAudit(t *testing.T, env *authtest.Env, partition, accountID string) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	err := env.DB.Update(context.Background(), haven.ScopeOf(haven.SystemPrincipal(partition, "passkey test")), func(tx store.Tx) error {
		var err error
		out, err = tx.AuditEntries(store.AuditQuery{Actors: []string{accountID}, Until: env.Clock.Now().Add(24 * time.Hour)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pkCount counts a partition's audit entries about an account with this
// action and outcome.
func pkCount(t *testing.T, env *authtest.Env, partition, accountID, action, outcome string) int {
	t.Helper()
	n := 0
	for _, e := range pkAudit(t, env, partition, accountID) {
		if e.Action == action && e.Outcome == outcome {
			n++
		}
	}
	return n
}

func pkAuthenticate(t *testing.T, env *authtest.Env, token string) *auth.Session {
	t.Helper()
	s, err := env.Auth.Authenticate(context.Background(), token, pkClient)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return s
}

func TestPasskeyOnlySignInOfPrivilegedRoles(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	for _, c := range []struct {
		partition string
		role      haven.Role
		tenant    string
	}{
		{authtest.North, haven.RoleTenantAdmin, authtest.North},
		{haven.SupplierPartition, haven.RoleSupplierOperator, ""},
	} {
		t.Run(string(c.role), func(t *testing.T) {
			key := authtest.NewSoftKey(pkOrigin)
			a := env.EnrolPasskey(t, c.partition, string(c.role)+"@haven.example", c.role, key)
			if len(a.RecoveryCodes) != 10 {
				t.Errorf("first factor gave %d recovery codes, want 10", len(a.RecoveryCodes))
			}
			tok := env.SignInPasskey(t, key)
			s := pkAuthenticate(t, env, tok)
			if !s.FullyAuthenticated() || s.Stage != auth.StageMFA {
				t.Fatalf("passkey-only sign-in gave stage %q, want a multi-factor session", s.Stage)
			}
			if !s.SteppedUp(env.Clock.Now()) {
				t.Error("a fresh passkey sign-in should count as a factor just confirmed")
			}
			p := s.Principal(pkClient.Addr)
			if p.ID != a.ID || p.Role != c.role || p.TenantID != c.tenant {
				t.Errorf("principal %+v, want account %s role %s tenant %q", p, a.ID, c.role, c.tenant)
			}
			if n := pkCount(t, env, c.partition, a.ID, auth.ActionSignIn, "ok"); n != 2 { // enrolment, then sign-in
				t.Errorf("%d sign-in entries in the audit log, want 2", n)
			}
		})
	}
}

// TestPasskeyAssertionAnswersOnce: each challenge is answered once, within
// its lifetime. Synced passkeys report no signature counter, so the
// ceremony itself, not the counter, must refuse a replay.
func TestPasskeyAssertionAnswersOnce(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	for i, counting := range []bool{true, false} {
		name := map[bool]string{true: "counting authenticator", false: "synced passkey without counter"}[counting]
		t.Run(name, func(t *testing.T) {
			key := authtest.NewSoftKey(pkOrigin)
			key.NoSignCount = !counting
			key.BackupEligible = !counting
			env.EnrolPasskey(t, authtest.North, fmt.Sprintf("admin%d@north.example", i), haven.RoleTenantAdmin, key)

			assertion, ceremony, err := env.Auth.BeginPasskeySignIn(ctx, pkClient)
			if err != nil {
				t.Fatal(err)
			}
			body, err := key.Assert(assertion)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Auth.FinishPasskeySignIn(ctx, ceremony, body, pkClient); err != nil {
				t.Fatalf("first answer: %v", err)
			}

			// The same body on the same ceremony: the challenge was spent.
			s, err := env.Auth.FinishPasskeySignIn(ctx, ceremony, body, pkClient)
			pkRefused(t, "replay on the same ceremony", s, err)

			// The same body on a new ceremony: the challenge does not match.
			_, ceremony2, err := env.Auth.BeginPasskeySignIn(ctx, pkClient)
			if err != nil {
				t.Fatal(err)
			}
			s, err = env.Auth.FinishPasskeySignIn(ctx, ceremony2, body, pkClient)
			pkRefused(t, "replay on a new ceremony", s, err)

			// A fresh answer to a ceremony left open past its lifetime.
			assertion, ceremony3, err := env.Auth.BeginPasskeySignIn(ctx, pkClient)
			if err != nil {
				t.Fatal(err)
			}
			env.Clock.Advance(5*time.Minute + time.Second)
			body, err = key.Assert(assertion)
			if err != nil {
				t.Fatal(err)
			}
			s, err = env.Auth.FinishPasskeySignIn(ctx, ceremony3, body, pkClient)
			pkRefused(t, "answer to an expired ceremony", s, err)

			// A ceremony id that was never issued.
			s, err = env.Auth.FinishPasskeySignIn(ctx, "made-up", body, pkClient)
			pkRefused(t, "unknown ceremony", s, err)

			// The passkey itself still works.
			env.SignInPasskey(t, key)
		})
	}
}

func TestPasskeyAnswerForAnotherOriginIsRefused(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	key := authtest.NewSoftKey(pkOrigin)
	a := env.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)

	for i, c := range []struct {
		name string
		o    authtest.Answer
	}{
		// A phishing page relays Haven's challenge; the browser writes the
		// page's own origin into the client data.
		{"phishing origin", authtest.Answer{Origin: "https://haven-care-login.example"}},
		{"same host, other port", authtest.Answer{Origin: "http://localhost:8081"}},
		{"same host, other scheme", authtest.Answer{Origin: "https://localhost:8080"}},
		// The authenticator signed for another relying party.
		{"other RP id", authtest.Answer{RPID: "haven-care-login.example"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := pkSignIn(t, env, key, c.o)
			pkRefused(t, "sign-in", s, err)

			tok := env.SignInPasskey(t, key)
			env.Clock.Advance(auth.StepUpWindow + time.Second)
			if _, err := pkConfirm(t, env, tok, key, c.o); err == nil {
				t.Fatal("step-up with an answer for another origin succeeded")
			}
			if pkAuthenticate(t, env, tok).SteppedUp(env.Clock.Now()) {
				t.Fatal("refused step-up left the session stepped up")
			}

			// Registration from the phishing page.
			inv := env.Invite(t, authtest.North, fmt.Sprintf("new%d@north.example", i), haven.RoleTenantAdmin)
			enrol, err := env.Auth.AcceptInvite(ctx, inv.Token, authtest.Password, pkClient)
			if err != nil {
				t.Fatal(err)
			}
			creation, err := env.Auth.BeginPasskeyRegistration(ctx, enrol.Token, "phished")
			if err != nil {
				t.Fatal(err)
			}
			body, err := authtest.NewSoftKey(pkOrigin).RegisterWith(creation, c.o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Auth.FinishPasskeyRegistration(ctx, enrol.Token, body, pkClient); !errors.Is(err, auth.ErrPasskey) {
				t.Fatalf("registration with an answer for another origin: %v, want ErrPasskey", err)
			}
		})
	}
	if n := pkCount(t, env, authtest.North, a.ID, auth.ActionSignInFailed, "denied"); n < 4 {
		t.Errorf("%d refused passkey sign-ins in the audit log, want at least 4", n)
	}
}

func TestPasskeyWithoutUserVerificationIsRefused(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	ctx := context.Background()

	t.Run("sign-in", func(t *testing.T) {
		key := authtest.NewSoftKey(pkOrigin)
		env.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
		key.UserVerified = false
		s, err := pkSignIn(t, env, key, authtest.Answer{})
		pkRefused(t, "sign-in with presence only", s, err)

		key.UserVerified = true
		tok := env.SignInPasskey(t, key)
		env.Clock.Advance(auth.StepUpWindow + time.Second)
		key.UserVerified = false
		if _, err := pkConfirm(t, env, tok, key, authtest.Answer{}); !errors.Is(err, auth.ErrSignIn) {
			t.Fatalf("step-up with presence only: %v, want ErrSignIn", err)
		}
		if pkAuthenticate(t, env, tok).SteppedUp(env.Clock.Now()) {
			t.Fatal("step-up with presence only stepped the session up")
		}
	})

	t.Run("registration", func(t *testing.T) {
		inv := env.Invite(t, authtest.North, "admin2@north.example", haven.RoleTenantAdmin)
		enrol, err := env.Auth.AcceptInvite(ctx, inv.Token, authtest.Password, pkClient)
		if err != nil {
			t.Fatal(err)
		}
		key := authtest.NewSoftKey(pkOrigin)
		key.UserVerified = false
		creation, err := env.Auth.BeginPasskeyRegistration(ctx, enrol.Token, "no PIN")
		if err != nil {
			t.Fatal(err)
		}
		body, err := key.Register(creation)
		if err != nil {
			t.Fatal(err)
		}
		res, err := env.Auth.FinishPasskeyRegistration(ctx, enrol.Token, body, pkClient)
		if !errors.Is(err, auth.ErrPasskey) || res.Session != nil {
			t.Fatalf("registration with presence only: %v, want ErrPasskey", err)
		}
		// No factor was added: the password alone leads nowhere, and the
		// credential cannot sign in.
		if _, err := env.Auth.SignInPassword(ctx, "admin2@north.example", authtest.Password, pkClient); !errors.Is(err, auth.ErrEnrolmentIncomplete) {
			t.Fatalf("password after refused registration: %v, want ErrEnrolmentIncomplete", err)
		}
		key.UserVerified = true
		s, err := pkSignIn(t, env, key, authtest.Answer{})
		pkRefused(t, "sign-in with the refused credential", s, err)

		// The enrolment session survives for a proper attempt.
		creation, err = env.Auth.BeginPasskeyRegistration(ctx, enrol.Token, "with PIN")
		if err != nil {
			t.Fatal(err)
		}
		if body, err = key.Register(creation); err != nil {
			t.Fatal(err)
		}
		res, err = env.Auth.FinishPasskeyRegistration(ctx, enrol.Token, body, pkClient)
		if err != nil || !res.Session.FullyAuthenticated() {
			t.Fatalf("registration with user verification: %v", err)
		}
	})
}

func TestPasskeyClonedAuthenticatorIsRefused(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	key := authtest.NewSoftKey(pkOrigin)
	a := env.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
	env.SignInPasskey(t, key) // counter 1

	// An attacker copies the key; the owner goes on using the original.
	copied := key.Clone()
	tok := env.SignInPasskey(t, key)                      // counter 2
	s, err := pkSignIn(t, env, copied, authtest.Answer{}) // the copy also says 2
	pkRefused(t, "sign-in with a copied authenticator", s, err)
	if n := pkCount(t, env, authtest.North, a.ID, auth.ActionSignInFailed, "cloned-authenticator"); n != 1 {
		t.Fatalf("%d cloned-authenticator entries in the audit log, want 1; log: %v", n, pkAudit(t, env, authtest.North, a.ID))
	}

	// A counter rolled back on the original.
	key.SetCounter(0)
	s, err = pkSignIn(t, env, key, authtest.Answer{})
	pkRefused(t, "sign-in with the counter rolled back", s, err)
	if n := pkCount(t, env, authtest.North, a.ID, auth.ActionSignInFailed, "cloned-authenticator"); n != 2 {
		t.Fatalf("%d cloned-authenticator entries in the audit log, want 2", n)
	}

	// Nor can the copy step a session up.
	env.Clock.Advance(auth.StepUpWindow + time.Second)
	copied.SetCounter(1)
	if _, err := pkConfirm(t, env, tok, copied, authtest.Answer{}); err == nil {
		t.Fatal("step-up with a copied authenticator succeeded")
	}
	if pkAuthenticate(t, env, tok).SteppedUp(env.Clock.Now()) {
		t.Fatal("step-up with a copied authenticator stepped the session up")
	}

	// The counter only moves forward: a higher count works again.
	key.SetCounter(10)
	env.SignInPasskey(t, key)
}

func TestPasskeyCannotNameAnotherAccount(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	attacker := authtest.NewSoftKey(pkOrigin)
	env.EnrolPasskey(t, authtest.North, "carer@north.example", haven.RoleCarer, attacker)
	victimKey := authtest.NewSoftKey(pkOrigin)
	victim := env.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, victimKey)
	otherKey := authtest.NewSoftKey(pkOrigin)
	env.EnrolPasskey(t, authtest.South, "admin@south.example", haven.RoleTenantAdmin, otherKey)
	operatorKey := authtest.NewSoftKey(pkOrigin)
	env.EnrolPasskey(t, haven.SupplierPartition, "operator@haven.example", haven.RoleSupplierOperator, operatorKey)

	victimHandle := victimKey.UserHandle()
	if !bytes.Equal(victimHandle, []byte(authtest.North+"/"+victim.ID)) {
		t.Fatalf("victim's user handle %q", victimHandle)
	}
	victimCred := victimKey.CredentialIDs()[0]
	for _, c := range []struct {
		name string
		o    authtest.Answer
	}{
		{"admin of the same tenant", authtest.Answer{UserHandle: victimHandle}},
		{"admin of the same tenant, claiming the admin's credential id", authtest.Answer{UserHandle: victimHandle, ClaimID: victimCred}},
		{"admin of another tenant", authtest.Answer{UserHandle: otherKey.UserHandle()}},
		{"supplier operator", authtest.Answer{UserHandle: operatorKey.UserHandle()}},
		{"own account id in another tenant", authtest.Answer{UserHandle: []byte(authtest.South + "/" + string(attacker.UserHandle()[len(authtest.North)+1:]))}},
		{"no such account", authtest.Answer{UserHandle: []byte(authtest.North + "/a-000000000000000000000000")}},
		{"malformed handle", authtest.Answer{UserHandle: []byte("admin")}},
		{"no handle", authtest.Answer{NoUserHandle: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := pkSignIn(t, env, attacker, c.o)
			pkRefused(t, c.name, s, err)
		})
	}

	// A tenant that does not exist gets the same answer, so the reply does
	// not tell which tenants exist.
	s, err := pkSignIn(t, env, attacker, authtest.Answer{UserHandle: []byte("nowhere/" + victim.ID)})
	if s != nil || !errors.Is(err, auth.ErrPasskey) {
		t.Fatalf("handle naming an unknown tenant: session %v, error %v, want ErrPasskey", s != nil, err)
	}

	// The victim's passkey still works, and the attacker's is still theirs.
	env.SignInPasskey(t, victimKey)
	tok := env.SignInPasskey(t, attacker)
	if s := pkAuthenticate(t, env, tok); s.Account.Role != haven.RoleCarer {
		t.Fatalf("attacker's own sign-in gave role %s", s.Account.Role)
	}
}

func TestPasskeyOfLockedAccountIsRefused(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	key := authtest.NewSoftKey(pkOrigin)
	a := env.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
	tok := env.SignInPasskey(t, key)

	for i := 0; i < auth.LockThreshold; i++ {
		env.Clock.Advance(auth.ThrottleWindow) // stay clear of the throttle: only the lockout is under test
		_, err := env.Auth.SignInPassword(ctx, a.Email, "wrong horse battery staple", pkClient)
		if !errors.Is(err, auth.ErrSignIn) {
			t.Fatalf("wrong password %d: %v", i+1, err)
		}
	}
	if n := pkCount(t, env, authtest.North, a.ID, auth.ActionLockout, "locked"); n != 1 {
		t.Fatalf("%d lockout entries after %d failures, want 1", n, auth.LockThreshold)
	}
	if _, err := env.Auth.Authenticate(ctx, tok, pkClient); !errors.Is(err, auth.ErrSession) {
		t.Fatalf("session of a locked account: %v, want ErrSession", err)
	}

	before := pkCount(t, env, authtest.North, a.ID, auth.ActionSignInFailed, "denied")
	s, err := pkSignIn(t, env, key, authtest.Answer{})
	pkRefused(t, "passkey of a locked account", s, err)
	if n := pkCount(t, env, authtest.North, a.ID, auth.ActionSignInFailed, "denied"); n != before+1 {
		t.Errorf("refused passkey sign-in of a locked account not audited (%d denied entries, had %d)", n, before)
	}
	if _, err := env.Auth.SignInPassword(ctx, a.Email, authtest.Password, pkClient); !errors.Is(err, auth.ErrSignIn) {
		t.Fatalf("right password of a locked account: %v, want ErrSignIn", err)
	}

	// Once an administrator unlocks it, the passkey works again.
	if err := env.Auth.Unlock(ctx, haven.SystemPrincipal(authtest.North, "passkey test"), a.ID); err != nil {
		t.Fatal(err)
	}
	env.SignInPasskey(t, key)
}

func TestPasskeyAdminPasswordNeedsPasskey(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	key := authtest.NewSoftKey(pkOrigin)
	a := env.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
	otherKey := authtest.NewSoftKey(pkOrigin)
	env.EnrolPasskey(t, authtest.North, "admin2@north.example", haven.RoleTenantAdmin, otherKey)

	pw, err := env.Auth.SignInPassword(ctx, a.Email, authtest.Password, pkClient)
	if err != nil {
		t.Fatal(err)
	}
	if pw.Stage != auth.StagePassword || pw.FullyAuthenticated() {
		t.Fatalf("right password alone gave stage %q", pw.Stage)
	}
	if s := pkAuthenticate(t, env, pw.Token); s.FullyAuthenticated() {
		t.Fatal("password-stage session authenticates as multi-factor")
	}
	// The password stage cannot add a phishable factor, nor use one.
	if _, _, err := env.Auth.BeginTOTP(ctx, pw.Token); err == nil {
		t.Fatal("password-stage session began TOTP enrolment")
	}
	if _, err := env.Auth.VerifyTOTP(ctx, pw.Token, "123456", pkClient); err == nil {
		t.Fatal("password-stage admin session accepted a TOTP code")
	}
	// Nor confirm with another admin's passkey.
	if _, err := pkConfirm(t, env, pw.Token, otherKey, authtest.Answer{IgnoreAllowList: true}); !errors.Is(err, auth.ErrSignIn) {
		t.Fatalf("confirm with another account's passkey: %v, want ErrSignIn", err)
	}

	full, err := pkConfirm(t, env, pw.Token, key, authtest.Answer{})
	if err != nil {
		t.Fatalf("confirm with own passkey: %v", err)
	}
	if !full.FullyAuthenticated() || full.Account.Role != haven.RoleTenantAdmin {
		t.Fatalf("confirmed session: stage %q role %s", full.Stage, full.Account.Role)
	}
	if full.ID == pw.ID || full.Token == "" || full.Token == pw.Token {
		t.Fatal("confirming the passkey kept the password-stage session id")
	}
	if _, err := env.Auth.Authenticate(ctx, pw.Token, pkClient); !errors.Is(err, auth.ErrSession) {
		t.Fatalf("password-stage cookie after confirmation: %v, want ErrSession", err)
	}

	// Even stepped up, an admin cannot enrol an authenticator app.
	if !pkAuthenticate(t, env, full.Token).SteppedUp(env.Clock.Now()) {
		t.Fatal("fresh confirmation did not step the session up")
	}
	if _, _, err := env.Auth.BeginTOTP(ctx, full.Token); !errors.Is(err, auth.ErrPasskeyRequired) {
		t.Fatalf("stepped-up admin BeginTOTP: %v, want ErrPasskeyRequired", err)
	}
	// Nor during enrolment.
	inv := env.Invite(t, authtest.North, "admin3@north.example", haven.RoleTenantAdmin)
	enrol, err := env.Auth.AcceptInvite(ctx, inv.Token, authtest.Password, pkClient)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Auth.BeginTOTP(ctx, enrol.Token); !errors.Is(err, auth.ErrPasskeyRequired) {
		t.Fatalf("enrolling admin BeginTOTP: %v, want ErrPasskeyRequired", err)
	}

	// A recovery code replaces a lost passkey only as far as adding a new
	// one: it does not sign an admin in.
	pw, err = env.Auth.SignInPassword(ctx, a.Email, authtest.Password, pkClient)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := env.Auth.VerifyRecoveryCode(ctx, pw.Token, a.RecoveryCodes[0], pkClient)
	if err != nil {
		t.Fatal(err)
	}
	if rec.FullyAuthenticated() {
		t.Fatal("password and recovery code signed an admin in without a passkey")
	}
}

// TestPasskeyStepUp uses a synced passkey (no signature counter), so that
// nothing but the ceremony stops a replayed confirmation.
func TestPasskeyStepUp(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	key := authtest.NewSoftKey(pkOrigin)
	key.NoSignCount, key.BackupEligible = true, true
	env.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
	tok := env.SignInPasskey(t, key)
	s := pkAuthenticate(t, env, tok)
	if !s.SteppedUp(env.Clock.Now()) {
		t.Fatal("fresh passkey sign-in is not stepped up")
	}
	id := s.ID

	env.Clock.Advance(6 * time.Minute)
	s = pkAuthenticate(t, env, tok)
	if !s.FullyAuthenticated() || s.SteppedUp(env.Clock.Now()) {
		t.Fatalf("after 6 minutes: fully authenticated %v, stepped up %v; want true, false", s.FullyAuthenticated(), s.SteppedUp(env.Clock.Now()))
	}
	if _, err := env.Auth.NewRecoveryCodes(ctx, tok, pkClient); !errors.Is(err, auth.ErrStepUp) {
		t.Fatalf("sensitive action without step-up: %v, want ErrStepUp", err)
	}

	// A confirm ceremony belongs to the session that began it.
	other := env.SignInPasskey(t, key)
	env.Clock.Advance(6 * time.Minute)
	assertion, err := env.Auth.BeginPasskeyConfirm(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	body, err := key.Assert(assertion)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Auth.FinishPasskeyConfirm(ctx, tok, body, pkClient); err == nil {
		t.Fatal("another session's confirmation stepped this one up")
	}

	assertion, err = env.Auth.BeginPasskeyConfirm(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if body, err = key.Assert(assertion); err != nil {
		t.Fatal(err)
	}
	up, err := env.Auth.FinishPasskeyConfirm(ctx, tok, body, pkClient)
	if err != nil {
		t.Fatalf("step-up: %v", err)
	}
	if up.ID != id || !up.SteppedUp(env.Clock.Now()) {
		t.Fatalf("step-up: same id %v, stepped up %v", up.ID == id, up.SteppedUp(env.Clock.Now()))
	}
	s = pkAuthenticate(t, env, tok)
	if s.ID != id || !s.SteppedUp(env.Clock.Now()) {
		t.Fatal("the cookie's session is not the stepped-up one")
	}
	if _, err := env.Auth.NewRecoveryCodes(ctx, tok, pkClient); err != nil {
		t.Fatalf("sensitive action after step-up: %v", err)
	}

	// The confirmation answers once: replayed at once, or later.
	if _, err := env.Auth.FinishPasskeyConfirm(ctx, tok, body, pkClient); err == nil {
		t.Fatal("replayed step-up accepted")
	}
	env.Clock.Advance(6 * time.Minute)
	if _, err := env.Auth.FinishPasskeyConfirm(ctx, tok, body, pkClient); err == nil {
		t.Fatal("replayed step-up accepted after 6 minutes")
	}
	if pkAuthenticate(t, env, tok).SteppedUp(env.Clock.Now()) {
		t.Fatal("replayed step-up stepped the session up")
	}
}

// TestSoftKeyAnswersParse checks the soft authenticator's bodies against
// the library's own parsers, so a failure elsewhere is not the key's.
func TestSoftKeyAnswersParse(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	inv := env.Invite(t, authtest.North, "carer@north.example", haven.RoleCarer)
	enrol, err := env.Auth.AcceptInvite(ctx, inv.Token, authtest.Password, pkClient)
	if err != nil {
		t.Fatal(err)
	}
	creation, err := env.Auth.BeginPasskeyRegistration(ctx, enrol.Token, "soft")
	if err != nil {
		t.Fatal(err)
	}
	key := authtest.NewSoftKey(pkOrigin + "/")
	if key.RPID != "localhost" || key.Origin != pkOrigin {
		t.Fatalf("NewSoftKey: origin %q RP id %q", key.Origin, key.RPID)
	}
	body, err := key.Register(creation)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		t.Fatalf("registration body: %v", err)
	}
	ad := reg.Response.AttestationObject.AuthData
	if reg.Response.AttestationObject.Format != "none" || !ad.Flags.UserPresent() || !ad.Flags.UserVerified() || !ad.Flags.HasAttestedCredentialData() {
		t.Fatalf("registration: fmt %q flags %08b", reg.Response.AttestationObject.Format, ad.Flags)
	}
	if !bytes.Equal(ad.AttData.CredentialID, key.CredentialIDs()[0]) {
		t.Fatal("attested credential id differs from the key's")
	}
	if _, err := env.Auth.FinishPasskeyRegistration(ctx, enrol.Token, body, pkClient); err != nil {
		t.Fatal(err)
	}

	assertion, _, err := env.Auth.BeginPasskeySignIn(ctx, pkClient)
	if err != nil {
		t.Fatal(err)
	}
	for want := uint32(1); want <= 2; want++ {
		body, err = key.Assert(assertion)
		if err != nil {
			t.Fatal(err)
		}
		got, err := protocol.ParseCredentialRequestResponseBytes(body)
		if err != nil {
			t.Fatalf("assertion body: %v", err)
		}
		if got.Response.AuthenticatorData.Counter != want || !bytes.Equal(got.Response.UserHandle, key.UserHandle()) {
			t.Fatalf("assertion %d: counter %d, handle %q", want, got.Response.AuthenticatorData.Counter, got.Response.UserHandle)
		}
	}
	// A credential the options exclude is not registered twice.
	env.SignInPasskey(t, key)
	tok := env.SignInPasskey(t, key)
	creation, err = env.Auth.BeginPasskeyRegistration(ctx, tok, "again")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := key.Register(creation); err == nil {
		t.Fatal("soft key registered a second credential despite excludeCredentials")
	}
}

// TestPromotedAdminNeedsPasskey: someone who enrolled an authenticator app
// and a passkey as a carer and is then made an admin is fully signed in
// only by the passkey; password and app code lead at most to adding one.
func TestPromotedAdminNeedsPasskey(t *testing.T) {
	env := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	a := env.EnrolTOTP(t, authtest.North, "riley@north.example", haven.RoleCarer)
	tok := env.SignIn(t, a)
	key := authtest.NewSoftKey(pkOrigin)
	creation, err := env.Auth.BeginPasskeyRegistration(ctx, tok, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	body, err := key.Register(creation)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Auth.FinishPasskeyRegistration(ctx, tok, body, pkClient); err != nil {
		t.Fatal(err)
	}
	if err := env.Auth.SetRole(ctx, haven.SystemPrincipal(authtest.North, "test"), a.ID, haven.RoleTenantAdmin); err != nil {
		t.Fatal(err)
	}
	pending := env.PasswordOnly(t, a)
	code, _ := totp.Code(a.TOTPSecret, env.Clock.Now())
	s, err := env.Auth.VerifyTOTP(ctx, pending, code, pkClient)
	if err == nil && s.FullyAuthenticated() {
		t.Fatal("a promoted admin signed in fully with password and app code")
	}
	if !errors.Is(err, auth.ErrPasskeyRequired) {
		t.Fatalf("got %v, want ErrPasskeyRequired", err)
	}
	if tok := env.SignInPasskey(t, key); pkAuthenticate(t, env, tok).Account.Role != haven.RoleTenantAdmin {
		t.Fatal("the passkey does not sign the admin in")
	}
}
