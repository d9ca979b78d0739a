package auth

import (
	"context"
	"errors"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/password"
	"github.com/havencare/haven/auth/totp"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// ErrEnrolmentIncomplete is the answer to a right password for an account
// that never enrolled a second factor. Its enrolment link is spent, and a
// password alone must not be enough to enrol a factor (whoever guessed the
// password would enrol theirs), so an admin issues a new link.
var ErrEnrolmentIncomplete = errors.New("this account has not finished setting up a second factor; ask your administrator for a new invitation link")

// ErrPasskeyRequired: administrators and operators confirm with a passkey.
var ErrPasskeyRequired = errors.New("your role must confirm with a passkey")

// SignInPassword is the first step of a password sign-in. On success the
// session is StagePassword: it can confirm a factor and nothing else.
func (s *Service) SignInPassword(ctx context.Context, email, pw string, c ClientInfo) (*Session, error) {
	now := s.Now()
	keys := []string{accountKey(email), addrKey(c.Addr)}
	d, finish := s.throttle.begin(now, keys...)
	if d > 0 {
		return nil, &ThrottledError{RetryAfter: d}
	}
	failed := true
	defer func() { finish(failed) }()
	partition, id, err := s.findAccount(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, haven.ErrNotFound) {
		return nil, err
	}

	// Read the hash in one transaction and verify outside any: Argon2id
	// takes tens of milliseconds, and holding a write transaction that long
	// would stall every other writer.
	hash := ""
	if found {
		err := s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
			a, err := loadAccount(tx, tk, id)
			if err == nil {
				hash = a.Password
			}
			return err
		})
		if errors.Is(err, haven.ErrNotFound) {
			found = false
		} else if err != nil {
			return nil, err
		}
	} else {
		// The same read an existing account costs, so that timing does not
		// tell the two apart.
		_ = s.in(ctx, haven.SupplierPartition, func(tx store.Tx, tk *seal.TenantKey) error {
			_, err := loadAccount(tx, tk, "a-000000000000000000000000")
			return err
		})
	}
	ok, rehash := false, false
	if hash == "" {
		// Spend the same time on unknown accounts, so timing does not
		// reveal which addresses have accounts.
		_, _, _ = password.Verify(password.Dummy(), pw)
	} else {
		ok, rehash, _ = password.Verify(hash, pw)
	}

	if !found {
		err := s.in(ctx, haven.SupplierPartition, func(tx store.Tx, _ *seal.TenantKey) error {
			return s.record(tx, event{action: ActionSignInFailed, outcome: "denied", addr: c.Addr, purpose: "password"})
		})
		if err != nil {
			return nil, err
		}
		return nil, ErrSignIn
	}

	var out *Session
	var answer error
	err = s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		a, err := loadAccount(tx, tk, id)
		if err != nil {
			return err
		}
		ev := event{actor: a.ID, role: string(a.Role), recordID: a.ID, addr: c.Addr, purpose: "password"}
		switch {
		case a.IsLocked() || a.Status == StatusDisabled || !ok:
			answer = ErrSignIn
			ev.action, ev.outcome = ActionSignInFailed, "denied"
			if a.IsLocked() {
				ev.outcome = "locked"
			}
			if !ok && !a.IsLocked() {
				if err := s.countFailure(tx, tk, &a, c); err != nil {
					return err
				}
			}
			return s.record(tx, ev)
		case !a.HasFactor():
			answer = ErrEnrolmentIncomplete
			ev.action, ev.outcome = ActionSignInFailed, "no-factor"
			return s.record(tx, ev)
		}
		if rehash {
			if h, err := password.Hash(pw); err == nil {
				a.Password = h
				if err := s.saveAccount(tx, tk, &a); err != nil {
					return err
				}
			}
		}
		if out, err = s.startSession(tx, tk, a.Account, StagePassword, c); err != nil {
			return err
		}
		ev.action, ev.outcome = ActionSignIn, "first-factor"
		return s.record(tx, ev)
	})
	if err != nil {
		return nil, err
	}
	failed = answer == ErrSignIn
	return out, answer
}

// countFailure adds one consecutive failure to the account and locks it at
// LockThreshold. The caller saves nothing else after it.
func (s *Service) countFailure(tx store.Tx, tk *seal.TenantKey, a *accountRow, c ClientInfo) error {
	a.Failures++
	locking := a.Failures >= LockThreshold && !a.IsLocked()
	if locking {
		a.Locked = s.Now().UTC()
	}
	if err := s.saveAccount(tx, tk, a); err != nil {
		return err
	}
	if locking {
		if _, err := s.revokeAccountSessions(tx, tk, a.ID, ""); err != nil {
			return err
		}
		return s.record(tx, event{actor: a.ID, role: string(a.Role), action: ActionLockout, recordID: a.ID, outcome: "locked", addr: c.Addr})
	}
	return nil
}

// confirmed moves a session on after a factor was confirmed: a
// password-stage session is replaced by a new multi-factor one (new id),
// or by an enrolment session if the account must still add a passkey; a
// multi-factor session is stepped up in place.
func (s *Service) confirmed(tx store.Tx, tk *seal.TenantKey, ss *Session, a *accountRow, factor string, c ClientInfo, recovery bool) (*Session, error) {
	a.Failures = 0
	a.LastSeen = s.Now().UTC()
	if err := s.saveAccount(tx, tk, a); err != nil {
		return nil, err
	}
	s.throttle.clear(accountKey(a.Email))
	ev := event{actor: a.ID, role: string(a.Role), recordID: a.ID, addr: c.Addr, purpose: factor}
	if ss.Stage == StageMFA {
		// A confirmed factor also thaws a session the guard froze.
		ss.FactorAt, ss.Frozen = s.Now().UTC(), false
		if err := s.saveSession(tx, tk, ss); err != nil {
			return nil, err
		}
		ev.action = ActionStepUp
		return ss, s.record(tx, ev)
	}
	if err := tx.Delete(kindSession, ss.ID); err != nil {
		return nil, err
	}
	stage := StageMFA
	// Administrators are fully signed in only by a passkey. Any other
	// route (an authenticator app kept from before a promotion, a
	// recovery code) leads only to adding one.
	mustAddPasskey := Privileged(a.Role) && (factor != "passkey" || recovery)
	if mustAddPasskey {
		stage = StagePassword
	}
	next, err := s.startSession(tx, tk, a.Account, stage, c)
	if err != nil {
		return nil, err
	}
	if recovery {
		// A recovery code replaces a lost factor to get in; it does not
		// count as confirming one for sensitive actions.
		next.FactorAt = time.Time{}
		if err := s.saveSession(tx, tk, next); err != nil {
			return nil, err
		}
	}
	if mustAddPasskey {
		next.Enrolling = true
		if err := s.saveSession(tx, tk, next); err != nil {
			return nil, err
		}
		ev.action, ev.outcome = ActionSignIn, "passkey-required"
	} else {
		ev.action = ActionSignIn
	}
	return next, s.record(tx, ev)
}

// factorAttempt runs check on the account behind a session, counting a
// failure (throttle, consecutive count, audit) when it returns false. The
// failure is committed even though the caller gets an error.
func (s *Service) factorAttempt(ctx context.Context, token string, c ClientInfo, factor string,
	check func(ss *Session, a *accountRow) (ok bool, err error), recovery bool) (*Session, error) {
	now := s.Now()
	var out *Session
	var answer error
	err := s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, ss *Session) error {
		a, err := loadAccount(tx, tk, ss.Account.ID)
		if err != nil {
			return err
		}
		keys := []string{accountKey(a.Email), addrKey(c.Addr)}
		if d := s.throttle.wait(now, keys...); d > 0 {
			answer = &ThrottledError{RetryAfter: d}
			return nil
		}
		ok, err := check(ss, &a)
		outcome := "denied"
		if errors.Is(err, errCloned) {
			ok, err, outcome = false, nil, "cloned-authenticator"
		}
		if err != nil {
			var inv *haven.InvalidError
			if errors.As(err, &inv) || errors.Is(err, ErrPasskeyRequired) {
				answer = err
				return nil
			}
			return err
		}
		if !ok {
			answer = ErrSignIn
			s.throttle.fail(now, keys...)
			if err := s.countFailure(tx, tk, &a, c); err != nil {
				return err
			}
			return s.record(tx, event{actor: a.ID, role: string(a.Role), action: ActionSignInFailed, recordID: a.ID, outcome: outcome, addr: c.Addr, purpose: factor})
		}
		out, err = s.confirmed(tx, tk, ss, &a, factor, c, recovery)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, answer
}

// VerifyTOTP confirms an authenticator-app code: the second step of a
// password sign-in, or a step-up in a signed-in session. Each code works
// once, and codes older than the last one used never work again.
func (s *Service) VerifyTOTP(ctx context.Context, token, code string, c ClientInfo) (*Session, error) {
	return s.factorAttempt(ctx, token, c, "totp", func(ss *Session, a *accountRow) (bool, error) {
		if a.TOTP == nil {
			return false, haven.Invalid("code", "this account has no authenticator app; use a passkey or a recovery code")
		}
		if Privileged(a.Role) && (ss.Stage == StageMFA || len(a.Passkeys) > 0) {
			return false, ErrPasskeyRequired
		}
		step, ok := totp.Verify(a.TOTP.Secret, code, s.Now(), a.TOTP.LastStep)
		if ok {
			a.TOTP.LastStep = step
		}
		return ok, nil
	}, false)
}

// VerifyRecoveryCode spends one recovery code in place of a factor. It
// works only as the second step of a sign-in, not for step-up: a code is
// for when the usual factor is lost.
func (s *Service) VerifyRecoveryCode(ctx context.Context, token, code string, c ClientInfo) (*Session, error) {
	return s.factorAttempt(ctx, token, c, "recovery-code", func(ss *Session, a *accountRow) (bool, error) {
		if ss.Stage != StagePassword {
			return false, haven.Invalid("code", "recovery codes are for signing in when you have lost your usual factor")
		}
		i := totp.MatchRecoveryCode(a.Recovery, code)
		if i < 0 {
			return false, nil
		}
		a.Recovery[i] = nil
		return true, nil
	}, true)
}
