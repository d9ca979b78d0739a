package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/auth/totp"
)

var client = auth.ClientInfo{Addr: "192.0.2.1", Device: "test"}

// onBothStores runs a test on SQLite and on PostgreSQL: identity rows go
// through the same store contract as care records.
func onBothStores(t *testing.T, test func(*testing.T, authtest.Options)) {
	t.Run("sqlite", func(t *testing.T) { test(t, authtest.Options{}) })
	t.Run("postgres", func(t *testing.T) { test(t, authtest.Options{Postgres: true}) })
}

func code(t *testing.T, e *authtest.Env, secret string) string {
	t.Helper()
	c, err := totp.Code(secret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// auditActions returns the actions and outcomes recorded in a partition's
// log about one account, oldest first.
func auditActions(t *testing.T, e *authtest.Env, partition, accountID string) []string {
	t.Helper()
	rows, err := e.DB.SQL().Query(`SELECT action, outcome FROM audit_entries WHERE tenant_id = ? AND record_id = ? ORDER BY seq`, partition, accountID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, o string
		if err := rows.Scan(&a, &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, a+":"+o)
	}
	return out
}

func TestPasswordAloneYieldsNoPrincipal(t *testing.T) {
	onBothStores(t, testPasswordAloneYieldsNoPrincipal)
}

func testPasswordAloneYieldsNoPrincipal(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)
	tok := e.PasswordOnly(t, a)
	sess, err := e.Auth.Authenticate(context.Background(), tok, client)
	if err != nil {
		t.Fatal(err)
	}
	if sess.FullyAuthenticated() || sess.SteppedUp(e.Clock.Now()) {
		t.Fatal("a password-only session counts as multi-factor")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a password-only session produced a principal")
		}
	}()
	sess.Principal("192.0.2.1")
}

func TestTOTPCodeWorksOnce(t *testing.T) { onBothStores(t, testTOTPCodeWorksOnce) }

func testTOTPCodeWorksOnce(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	ctx := context.Background()
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)
	c := code(t, e, a.TOTPSecret)
	s1 := e.PasswordOnly(t, a)
	if _, err := e.Auth.VerifyTOTP(ctx, s1, c, client); err != nil {
		t.Fatalf("first use: %v", err)
	}
	// Same code, same 30 seconds, a second sign-in: refused.
	s2 := e.PasswordOnly(t, a)
	if _, err := e.Auth.VerifyTOTP(ctx, s2, c, client); !errors.Is(err, auth.ErrSignIn) {
		t.Fatalf("replayed code: got %v, want ErrSignIn", err)
	}
	// The code of the step before is older than the last one used: refused.
	prev, _ := totp.Code(a.TOTPSecret, e.Clock.Now().Add(-30*time.Second))
	if _, err := e.Auth.VerifyTOTP(ctx, s2, prev, client); !errors.Is(err, auth.ErrSignIn) {
		t.Fatalf("older code: got %v, want ErrSignIn", err)
	}
	e.Clock.Advance(30 * time.Second)
	if _, err := e.Auth.VerifyTOTP(ctx, s2, code(t, e, a.TOTPSecret), client); err != nil {
		t.Fatalf("next code: %v", err)
	}
}

func TestTOTPOfAnotherAccountIsRefused(t *testing.T) {
	onBothStores(t, testTOTPOfAnotherAccountIsRefused)
}

func testTOTPOfAnotherAccountIsRefused(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	victim := e.EnrolTOTP(t, authtest.North, "victim@north.example", haven.RoleNurse)
	attacker := e.EnrolTOTP(t, authtest.North, "attacker@north.example", haven.RoleCarer)
	tok := e.PasswordOnly(t, victim)
	if _, err := e.Auth.VerifyTOTP(context.Background(), tok, code(t, e, attacker.TOTPSecret), client); !errors.Is(err, auth.ErrSignIn) {
		t.Fatalf("attacker's code on victim's session: got %v, want ErrSignIn", err)
	}
}

// TestBruteForce: at most 10 guesses at one account in any 5 minutes,
// growing delays before that, and a lock after 100 consecutive failures
// that only an admin lifts. Unknown accounts get the same answers.
func TestBruteForce(t *testing.T) {
	e := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)

	guesses := func(email string, window time.Duration) (checked int, throttled int) {
		end := e.Clock.Now().Add(window)
		for e.Clock.Now().Before(end) {
			// Each guess comes from a new address, as a botnet's would.
			c := auth.ClientInfo{Addr: "198.51.100." + string(rune('0'+checked%10))}
			_, err := e.Auth.SignInPassword(ctx, email, "wrong password guess", c)
			var th *auth.ThrottledError
			switch {
			case errors.As(err, &th):
				throttled++
				e.Clock.Advance(th.RetryAfter)
			case errors.Is(err, auth.ErrSignIn):
				checked++
			default:
				t.Fatalf("guess: %v", err)
			}
		}
		return checked, throttled
	}
	for _, email := range []string{a.Email, "nobody@north.example"} {
		checked, throttled := guesses(email, 5*time.Minute)
		if checked > auth.AccountLimit {
			t.Fatalf("%s: %d guesses checked in 5 minutes, want at most %d", email, checked, auth.AccountLimit)
		}
		if throttled == 0 || checked < 4 {
			t.Fatalf("%s: %d checked, %d throttled: the throttle is not shaping guesses", email, checked, throttled)
		}
	}

	// Keep guessing, as slowly as the throttle demands, until the lock.
	for i := 0; i < 2000 && !locked(t, e, a); i++ {
		guesses(a.Email, time.Minute)
	}
	if !locked(t, e, a) {
		t.Fatal("account not locked after sustained guessing")
	}
	// Once locked, even the right password and code do not work.
	e.Clock.Advance(time.Hour)
	if _, err := e.Auth.SignInPassword(ctx, a.Email, authtest.Password, client); !errors.Is(err, auth.ErrSignIn) {
		t.Fatalf("locked account, right password: got %v, want ErrSignIn", err)
	}
	actions := strings.Join(auditActions(t, e, authtest.North, a.ID), " ")
	if !strings.Contains(actions, auth.ActionLockout+":locked") || !strings.Contains(actions, auth.ActionSignInFailed+":denied") {
		t.Fatalf("audit log lacks the failures and the lockout: %s", actions)
	}
	// An admin unlocks it.
	if err := e.Auth.Unlock(ctx, haven.SystemPrincipal(authtest.North, "test"), a.ID); err != nil {
		t.Fatal(err)
	}
	if tok := e.SignIn(t, a); tok == "" {
		t.Fatal("no session after unlock")
	}
}

func locked(t *testing.T, e *authtest.Env, a authtest.Account) bool {
	t.Helper()
	accts, err := e.Auth.Accounts(context.Background(), haven.SystemPrincipal(authtest.North, "test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range accts {
		if x.ID == a.ID {
			return x.Locked
		}
	}
	t.Fatal("account missing")
	return false
}

// TestSessionFixation: every step that raises a session's assurance
// issues a new session id; the old one stops working.
func TestSessionFixation(t *testing.T) { onBothStores(t, testSessionFixation) }

func testSessionFixation(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	ctx := context.Background()
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)
	pending := e.PasswordOnly(t, a)
	full, err := e.Auth.VerifyTOTP(ctx, pending, code(t, e, a.TOTPSecret), client)
	if err != nil {
		t.Fatal(err)
	}
	if full.Token == "" || full.Token == pending {
		t.Fatal("multi-factor session kept the password-stage id")
	}
	if _, err := e.Auth.Authenticate(ctx, pending, client); !errors.Is(err, auth.ErrSession) {
		t.Fatalf("old password-stage id still works: %v", err)
	}
}

func TestSessionTimeouts(t *testing.T) { onBothStores(t, testSessionTimeouts) }

func testSessionTimeouts(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	ctx := context.Background()
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)

	// Idle: 15 minutes without use ends the session.
	tok := e.SignIn(t, a)
	e.Clock.Advance(14 * time.Minute)
	if _, err := e.Auth.Authenticate(ctx, tok, client); err != nil {
		t.Fatalf("used within the idle limit: %v", err)
	}
	e.Clock.Advance(15*time.Minute + time.Second)
	if _, err := e.Auth.Authenticate(ctx, tok, client); !errors.Is(err, auth.ErrSession) {
		t.Fatalf("idle 15 minutes: got %v, want ErrSession", err)
	}

	// Absolute: 12 hours, however busy.
	tok = e.SignIn(t, a)
	for i := 0; i < 12*6; i++ {
		e.Clock.Advance(10 * time.Minute)
		_, err := e.Auth.Authenticate(ctx, tok, client)
		if i < 12*6-1 && err != nil {
			t.Fatalf("active session ended after %d minutes: %v", (i+1)*10, err)
		}
		if i == 12*6-1 && !errors.Is(err, auth.ErrSession) {
			t.Fatalf("session outlived 12 hours: %v", err)
		}
	}

	// Password-stage sessions last minutes, not hours.
	pending := e.PasswordOnly(t, a)
	e.Clock.Advance(auth.PendingTimeout)
	if _, err := e.Auth.Authenticate(ctx, pending, client); !errors.Is(err, auth.ErrSession) {
		t.Fatalf("password-stage session outlived %v: %v", auth.PendingTimeout, err)
	}
}

func TestTimeoutsCannotBeRaised(t *testing.T) {
	e := authtest.New(t, authtest.Options{})
	s, err := auth.New(e.DB, nil, auth.Config{Origin: "http://localhost:8080", IdleTimeout: 8 * time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Config(); c.IdleTimeout != auth.MaxIdleTimeout || c.AbsoluteTimeout != auth.MaxAbsoluteTimeout {
		t.Fatalf("timeouts raised to %v / %v", c.IdleTimeout, c.AbsoluteTimeout)
	}
	s, _ = auth.New(e.DB, nil, auth.Config{Origin: "http://localhost:8080", IdleTimeout: 5 * time.Minute})
	if s.Config().IdleTimeout != 5*time.Minute {
		t.Fatal("a shorter idle timeout was not kept")
	}
}

// TestCookieOfAnotherTenant: a session id only works in the partition
// it was issued in; rewriting the partition prefix finds nothing.
func TestCookieOfAnotherTenant(t *testing.T) { onBothStores(t, testCookieOfAnotherTenant) }

func testCookieOfAnotherTenant(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	ctx := context.Background()
	south := e.EnrolTOTP(t, authtest.South, "sam@south.example", haven.RoleCarer)
	tok := e.SignIn(t, south)
	sess, err := e.Auth.Authenticate(ctx, tok, client)
	if err != nil {
		t.Fatal(err)
	}
	if p := sess.Principal(""); p.TenantID != authtest.South {
		t.Fatalf("south session acts for tenant %q", p.TenantID)
	}
	_, secret, _ := strings.Cut(tok, ".")
	for _, forged := range []string{authtest.North + "." + secret, haven.SupplierPartition + "." + secret, "nowhere." + secret, secret, tok + "x", ""} {
		if _, err := e.Auth.Authenticate(ctx, forged, client); !errors.Is(err, auth.ErrSession) {
			t.Fatalf("forged cookie %q: got %v, want ErrSession", forged, err)
		}
	}
}

func TestInviteLinkWorksOnce(t *testing.T) { onBothStores(t, testInviteLinkWorksOnce) }

func testInviteLinkWorksOnce(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	ctx := context.Background()
	inv := e.Invite(t, authtest.North, "new@north.example", haven.RoleNurse)
	if _, err := e.Auth.AcceptInvite(ctx, inv.Token, "short", client); err == nil {
		t.Fatal("a 5-character password was accepted")
	}
	if _, err := e.Auth.AcceptInvite(ctx, inv.Token, "password1234", client); err == nil {
		t.Fatal("a common password was accepted")
	}
	sess, err := e.Auth.AcceptInvite(ctx, inv.Token, authtest.Password, client)
	if err != nil {
		t.Fatal(err)
	}
	if sess.FullyAuthenticated() || !sess.Enrolling {
		t.Fatal("an enrolment session must be password-stage and enrolling")
	}
	if _, err := e.Auth.AcceptInvite(ctx, inv.Token, authtest.Password, client); !errors.Is(err, auth.ErrInvite) {
		t.Fatalf("second use of the link: got %v, want ErrInvite", err)
	}
	// A right password for an account that never enrolled a factor does
	// not allow enrolling one: the link was the only way in.
	if _, err := e.Auth.SignInPassword(ctx, "new@north.example", authtest.Password, client); !errors.Is(err, auth.ErrEnrolmentIncomplete) {
		t.Fatalf("password sign-in without a factor: got %v", err)
	}
	// A new link ends whatever the old one started: an enrolment session
	// opened with an intercepted link cannot be finished.
	third := e.Invite(t, authtest.North, "third@north.example", haven.RoleNurse)
	intercepted, err := e.Auth.AcceptInvite(ctx, third.Token, authtest.Password, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.ReissueInvite(ctx, haven.SystemPrincipal(authtest.North, "t"), authtest.North, third.AccountID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Auth.BeginTOTP(ctx, intercepted.Token); !errors.Is(err, auth.ErrSession) {
		t.Fatalf("enrolment session of the replaced link: got %v, want ErrSession", err)
	}
	// An expired link does not work.
	late := e.Invite(t, authtest.North, "late@north.example", haven.RoleNurse)
	e.Clock.Advance(auth.InviteLifetime)
	if _, err := e.Auth.AcceptInvite(ctx, late.Token, authtest.Password, client); !errors.Is(err, auth.ErrInvite) {
		t.Fatalf("expired link: got %v", err)
	}
}

func TestRecoveryCodesAreSingleUse(t *testing.T) { onBothStores(t, testRecoveryCodesAreSingleUse) }

func testRecoveryCodesAreSingleUse(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	ctx := context.Background()
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)
	if len(a.RecoveryCodes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(a.RecoveryCodes))
	}
	rc := a.RecoveryCodes[3]
	full, err := e.Auth.VerifyRecoveryCode(ctx, e.PasswordOnly(t, a), strings.ToUpper(rc), client)
	if err != nil || !full.FullyAuthenticated() {
		t.Fatalf("recovery code sign-in: %v", err)
	}
	// Getting in with a recovery code is not confirming a factor: sensitive
	// actions still ask for one.
	if full.SteppedUp(e.Clock.Now()) {
		t.Fatal("a recovery-code sign-in counts as step-up")
	}
	if _, err := e.Auth.NewRecoveryCodes(ctx, full.Token, client); !errors.Is(err, auth.ErrStepUp) {
		t.Fatalf("new recovery codes straight after a recovery sign-in: got %v, want ErrStepUp", err)
	}
	if _, err := e.Auth.VerifyRecoveryCode(ctx, e.PasswordOnly(t, a), rc, client); !errors.Is(err, auth.ErrSignIn) {
		t.Fatalf("second use of a recovery code: got %v", err)
	}
	// A recovery code is not a step-up factor.
	if _, err := e.Auth.VerifyRecoveryCode(ctx, full.Token, a.RecoveryCodes[4], client); err == nil {
		t.Fatal("recovery code accepted for step-up")
	}
}

func TestFactorChangesNeedStepUpAndKeepOne(t *testing.T) {
	e := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)
	tok := e.SignIn(t, a)
	if err := e.Auth.RemoveFactor(ctx, tok, "totp", client); err == nil {
		t.Fatal("removed the only factor")
	}
	e.Clock.Advance(auth.StepUpWindow)
	if err := e.Auth.RemoveFactor(ctx, tok, "totp", client); !errors.Is(err, auth.ErrStepUp) {
		t.Fatalf("factor change without recent confirmation: got %v, want ErrStepUp", err)
	}
	if _, _, err := e.Auth.BeginTOTP(ctx, tok); !errors.Is(err, auth.ErrStepUp) {
		t.Fatalf("new authenticator without step-up: got %v", err)
	}
	if _, err := e.Auth.NewRecoveryCodes(ctx, tok, client); !errors.Is(err, auth.ErrStepUp) {
		t.Fatalf("new recovery codes without step-up: got %v", err)
	}
	sess, err := e.Auth.VerifyTOTP(ctx, tok, code(t, e, a.TOTPSecret), client)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Token != "" || !sess.SteppedUp(e.Clock.Now()) {
		t.Fatal("step-up should confirm the existing session in place")
	}
	if _, err := e.Auth.NewRecoveryCodes(ctx, tok, client); err != nil {
		t.Fatalf("new recovery codes after step-up: %v", err)
	}
	actions := strings.Join(auditActions(t, e, authtest.North, a.ID), " ")
	for _, want := range []string{auth.ActionInvite, auth.ActionEnrol, auth.ActionFactorAdd, auth.ActionSignIn + ":ok", auth.ActionStepUp, auth.ActionRecoveryCodes} {
		if !strings.Contains(actions, want) {
			t.Errorf("audit log lacks %s: %s", want, actions)
		}
	}
}

func TestSessionsListRevokeAndSignOutEverywhere(t *testing.T) {
	onBothStores(t, testSessionsListRevokeAndSignOutEverywhere)
}

func testSessionsListRevokeAndSignOutEverywhere(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	ctx := context.Background()
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)
	phone, laptop := e.SignIn(t, a), e.SignIn(t, a)
	other := e.EnrolTOTP(t, authtest.North, "other@north.example", haven.RoleCarer)
	otherTok := e.SignIn(t, other)

	// Enrolment left a signed-in session too: three in all.
	list, err := e.Auth.Sessions(ctx, laptop)
	if err != nil || len(list) != 3 {
		t.Fatalf("sessions: %v, %d listed, want 3", err, len(list))
	}
	for _, s := range list {
		if s.Current {
			continue
		}
		// Nobody revokes someone else's session by its id.
		if err := e.Auth.Revoke(ctx, otherTok, s.ID); !errors.Is(err, haven.ErrNotFound) {
			t.Fatalf("revoking another account's session: got %v", err)
		}
		if err := e.Auth.Revoke(ctx, laptop, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Auth.Authenticate(ctx, phone, client); !errors.Is(err, auth.ErrSession) {
		t.Fatal("revoked session still works")
	}
	phone = e.SignIn(t, a)
	if err := e.Auth.SignOut(ctx, laptop, true); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{phone, laptop} {
		if _, err := e.Auth.Authenticate(ctx, tok, client); !errors.Is(err, auth.ErrSession) {
			t.Fatal("a session survived sign-out everywhere")
		}
	}
	if _, err := e.Auth.Authenticate(ctx, otherTok, client); err != nil {
		t.Fatal("sign-out everywhere ended another account's session")
	}
	// Tenant admins end any session of their own tenant, and no other.
	south := haven.Principal{ID: "x", TenantID: authtest.South, Role: haven.RoleTenantAdmin}
	if _, err := e.Auth.RevokeAccountSessions(ctx, south, other.ID); !errors.Is(err, haven.ErrNotFound) {
		t.Fatalf("south admin revoking a north account: got %v", err)
	}
	north := haven.Principal{ID: "x", TenantID: authtest.North, Role: haven.RoleTenantAdmin}
	if n, err := e.Auth.RevokeAccountSessions(ctx, north, other.ID); err != nil || n != 2 { // enrolment + sign-in
		t.Fatalf("north admin: %d revoked, %v", n, err)
	}
	if _, err := e.Auth.Authenticate(ctx, otherTok, client); !errors.Is(err, auth.ErrSession) {
		t.Fatal("session survived an admin's revocation")
	}
}

func TestRoleChangeEndsSessions(t *testing.T) { onBothStores(t, testRoleChangeEndsSessions) }

func testRoleChangeEndsSessions(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	ctx := context.Background()
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)
	tok := e.SignIn(t, a)
	admin := haven.Principal{ID: "admin", TenantID: authtest.North, Role: haven.RoleTenantAdmin}
	if err := e.Auth.SetRole(ctx, admin, a.ID, haven.RoleSupplierOperator); err == nil {
		t.Fatal("a tenant admin made someone a supplier operator")
	}
	if err := e.Auth.SetRole(ctx, admin, a.ID, haven.RoleNurse); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.Authenticate(ctx, tok, client); !errors.Is(err, auth.ErrSession) {
		t.Fatal("session kept its old privileges after a role change")
	}
	tok = e.SignIn(t, a)
	sess, _ := e.Auth.Authenticate(ctx, tok, client)
	if sess.Principal("").Role != haven.RoleNurse {
		t.Fatal("new role not in effect")
	}
}

func TestInvitePermissions(t *testing.T) { onBothStores(t, testInvitePermissions) }

func testInvitePermissions(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	ctx := context.Background()
	n := auth.NewAccount{Email: "x@north.example", Name: "X", Role: haven.RoleCarer}
	for _, p := range []haven.Principal{
		{ID: "c", TenantID: authtest.North, Role: haven.RoleCarer},
		{ID: "a", TenantID: authtest.South, Role: haven.RoleTenantAdmin},
		{ID: "s", Role: haven.RoleSupplierSupport},
		{ID: "o", Role: haven.RoleSupplierOperator},
	} {
		if _, err := e.Auth.Invite(ctx, p, authtest.North, n); !errors.Is(err, haven.ErrForbidden) {
			t.Errorf("%s of %q invited into north: %v", p.Role, p.TenantID, err)
		}
	}
	e.Invite(t, authtest.North, "dup@north.example", haven.RoleCarer)
	if _, err := e.Auth.Invite(ctx, haven.SystemPrincipal(authtest.South, "t"), authtest.South, auth.NewAccount{Email: "DUP@north.example", Name: "Dup", Role: haven.RoleCarer}); err == nil {
		t.Fatal("the same e-mail address got two accounts")
	}
}

// TestNoPlaintextSecretsInStore: e-mail addresses, TOTP secrets and
// password hashes are sealed like any personal data.
func TestNoPlaintextSecretsInStore(t *testing.T) {
	e := authtest.New(t, authtest.Options{})
	a := e.EnrolTOTP(t, authtest.North, "findme@north.example", haven.RoleCarer)
	e.SignIn(t, a)
	rows, err := e.DB.SQL().Query(`SELECT sealed FROM records WHERE tenant_id = ?`, authtest.North)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		n++
		for _, secret := range []string{"findme", a.TOTPSecret, "$argon2id$"} {
			if strings.Contains(string(b), secret) {
				t.Fatalf("plaintext %q in a stored row", secret)
			}
		}
	}
	if n == 0 {
		t.Fatal("no rows scanned")
	}
}

// TestConcurrentGuessesAreThrottled: guesses sent all at once cannot slip
// past the limit before the first failure is recorded.
func TestConcurrentGuessesAreThrottled(t *testing.T) {
	e := authtest.New(t, authtest.Options{})
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)
	const n = 40
	results := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		go func(i int) {
			<-start
			_, err := e.Auth.SignInPassword(context.Background(), a.Email, "wrong guess number "+string(rune('a'+i%26)), auth.ClientInfo{Addr: "203.0.113." + string(rune('0'+i%10))})
			results <- err
		}(i)
	}
	close(start)
	checked := 0
	for i := 0; i < n; i++ {
		err := <-results
		var th *auth.ThrottledError
		switch {
		case errors.Is(err, auth.ErrSignIn):
			checked++
		case errors.As(err, &th):
		default:
			t.Fatalf("guess: %v", err)
		}
	}
	if checked > auth.AccountLimit {
		t.Fatalf("%d of %d simultaneous guesses were checked, want at most %d", checked, n, auth.AccountLimit)
	}
}

// TestPasskeySignInFloodIsContained: one address starting passkey sign-ins
// and never finishing them is capped, and cannot block other addresses or
// the ceremonies of signed-in sessions.
func TestPasskeySignInFloodIsContained(t *testing.T) {
	e := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	flooder := auth.ClientInfo{Addr: "203.0.113.66"}
	refused := 0
	for i := 0; i < 200; i++ {
		if _, _, err := e.Auth.BeginPasskeySignIn(ctx, flooder); err != nil {
			refused++
		}
	}
	if refused < 150 {
		t.Fatalf("only %d of 200 unfinished passkey sign-ins from one address were refused", refused)
	}
	if _, _, err := e.Auth.BeginPasskeySignIn(ctx, auth.ClientInfo{Addr: "192.0.2.44"}); err != nil {
		t.Fatalf("another address cannot start a passkey sign-in: %v", err)
	}
	a := e.EnrolTOTP(t, authtest.North, "pat@north.example", haven.RoleCarer)
	if _, err := e.Auth.BeginPasskeyRegistration(ctx, e.SignIn(t, a), "laptop"); err != nil {
		t.Fatalf("a signed-in session cannot add a passkey during the flood: %v", err)
	}
}

func TestDisabledAccountCannotSignIn(t *testing.T) { onBothStores(t, testDisabledAccountCannotSignIn) }

func testDisabledAccountCannotSignIn(t *testing.T, opt authtest.Options) {
	e := authtest.New(t, opt)
	ctx := context.Background()
	a := e.EnrolTOTP(t, authtest.North, "leaver@north.example", haven.RoleCarer)
	tok := e.SignIn(t, a)
	admin := haven.Principal{ID: "admin", TenantID: authtest.North, Role: haven.RoleTenantAdmin}
	if err := e.Auth.Disable(ctx, haven.Principal{ID: "x", TenantID: authtest.South, Role: haven.RoleTenantAdmin}, a.ID); !errors.Is(err, haven.ErrNotFound) {
		t.Fatalf("another tenant's admin disabling: got %v", err)
	}
	if err := e.Auth.Disable(ctx, admin, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.Authenticate(ctx, tok, client); !errors.Is(err, auth.ErrSession) {
		t.Fatal("a disabled account's session still works")
	}
	if _, err := e.Auth.SignInPassword(ctx, a.Email, authtest.Password, client); !errors.Is(err, auth.ErrSignIn) {
		t.Fatalf("disabled account signing in: got %v", err)
	}
}

// TestAccountLinkedToStaffRecord: an account can be linked to the staff
// record care teams and visits name, one account per record, and its
// principal carries that link.
func TestAccountLinkedToStaffRecord(t *testing.T) {
	e := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	sys := haven.SystemPrincipal(authtest.North, "test")
	inv, err := e.Auth.Invite(ctx, sys, authtest.North, auth.NewAccount{Email: "kim@north.example", Name: "Kim", Role: haven.RoleCarer, StaffID: "staff-17"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.Invite(ctx, sys, authtest.North, auth.NewAccount{Email: "kim2@north.example", Name: "Kim 2", Role: haven.RoleCarer, StaffID: "staff-17"}); err == nil {
		t.Fatal("two accounts linked to one staff record")
	}
	if _, err := e.Auth.Invite(ctx, haven.SystemPrincipal("", "t"), haven.SupplierPartition, auth.NewAccount{Email: "op@haven.example", Name: "Op", Role: haven.RoleSupplierSupport, StaffID: "staff-1"}); err == nil {
		t.Fatal("a supplier account linked to a tenant's staff record")
	}
	sess, err := e.Auth.AcceptInvite(ctx, inv.Token, authtest.Password, client)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, _ := e.Auth.BeginTOTP(ctx, sess.Token)
	c, _ := totp.Code(secret, e.Clock.Now())
	res, err := e.Auth.ConfirmTOTP(ctx, sess.Token, c, client)
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Session.Principal(""); p.StaffID != "staff-17" || p.TenantID != authtest.North {
		t.Fatalf("principal %+v", p)
	}
}
