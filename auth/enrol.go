package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/password"
	"github.com/havencare/haven/auth/totp"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// InviteInfo is what the enrolment page shows about an invitation.
type InviteInfo struct {
	Email, Name string
	Role        haven.Role
	Partition   string
}

// OpenInvite checks an enrolment link without spending it.
func (s *Service) OpenInvite(ctx context.Context, token string) (InviteInfo, error) {
	partition, row, ok := bearer(token).split()
	if !ok {
		return InviteInfo{}, ErrInvite
	}
	var info InviteInfo
	err := s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		a, err := s.inviteAccount(tx, tk, row)
		if err != nil {
			return err
		}
		info = InviteInfo{Email: a.Email, Name: a.Name, Role: a.Role, Partition: partition}
		return nil
	})
	if errors.Is(err, errNoPartition) {
		err = ErrInvite
	}
	return info, err
}

// AcceptInvite spends an enrolment link: it sets the password and returns
// an enrolment session, which can add a first factor and nothing else.
func (s *Service) AcceptInvite(ctx context.Context, token, pw string, c ClientInfo) (*Session, error) {
	info, err := s.OpenInvite(ctx, token)
	if err != nil {
		return nil, err
	}
	local, _, _ := strings.Cut(info.Email, "@")
	if err := password.Check(pw, local, info.Name, "haven"); err != nil {
		return nil, haven.Invalid("password", "%s", err)
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return nil, err
	}
	partition, row, _ := bearer(token).split()
	var out *Session
	err = s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		a, err := s.inviteAccount(tx, tk, row)
		if err != nil {
			return err
		}
		a.Password, a.Invite = hash, nil
		if err := s.saveAccount(tx, tk, &a); err != nil {
			return err
		}
		// The link is spent: drop its index entry.
		if err := tx.SetIndex(kindAccount, a.ID, "", accountIndex(tk, a.Account, "")); err != nil {
			return err
		}
		if out, err = s.startSession(tx, tk, a.Account, StagePassword, c); err != nil {
			return err
		}
		out.Enrolling = true
		if err := s.saveSession(tx, tk, out); err != nil {
			return err
		}
		return s.record(tx, event{actor: a.ID, role: string(a.Role), action: ActionEnrol, recordID: a.ID, outcome: "password-set", addr: c.Addr})
	})
	return out, err
}

// mayChangeFactors is the rule for adding or removing a factor: an
// enrolment session, or a multi-factor session stepped up in the last
// StepUpWindow.
func (s *Service) mayChangeFactors(ss *Session) error {
	if ss.Enrolling && ss.Stage == StagePassword {
		return nil
	}
	if !ss.SteppedUp(s.Now()) {
		return ErrStepUp
	}
	return nil
}

// BeginTOTP makes a new authenticator-app secret for the session's account
// and keeps it, sealed, with the session until a code from it confirms it.
func (s *Service) BeginTOTP(ctx context.Context, token string) (secret, uri string, err error) {
	err = s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, ss *Session) error {
		if err := s.mayChangeFactors(ss); err != nil {
			return err
		}
		if Privileged(ss.Account.Role) {
			return ErrPasskeyRequired
		}
		if secret, uri, err = totp.NewSecret(TOTPIssuer, ss.Account.Email); err != nil {
			return err
		}
		ss.PendingTOTP = secret
		return s.saveSession(tx, tk, ss)
	})
	return secret, uri, err
}

// Enrolled is the result of adding a factor.
type Enrolled struct {
	Session *Session // a new session if the stage changed, else the same
	// RecoveryCodes is set when the account got its first factor: the ten
	// codes, shown once.
	RecoveryCodes []string
}

// ConfirmTOTP checks a code from the pending secret and, if right, makes
// it the account's authenticator app (replacing any older one).
func (s *Service) ConfirmTOTP(ctx context.Context, token, code string, c ClientInfo) (Enrolled, error) {
	var out Enrolled
	var answer error
	err := s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, ss *Session) error {
		if err := s.mayChangeFactors(ss); err != nil {
			return err
		}
		if ss.PendingTOTP == "" {
			return haven.Invalid("code", "start again: no authenticator app is being set up")
		}
		step, ok := totp.Verify(ss.PendingTOTP, code, s.Now(), 0)
		if !ok {
			answer = haven.Invalid("code", "that code is not right; check the time on your phone and enter the current code")
			return nil
		}
		a, err := loadAccount(tx, tk, ss.Account.ID)
		if err != nil {
			return err
		}
		a.TOTP = &TOTPFactor{Secret: ss.PendingTOTP, LastStep: step, Added: s.Now().UTC()}
		ss.PendingTOTP = ""
		out, err = s.factorAdded(tx, tk, ss, &a, "totp", c)
		return err
	})
	if err != nil {
		return Enrolled{}, err
	}
	return out, answer
}

// factorAdded saves an account that just gained a factor, finishes
// enrolment if this was the first, and records it.
func (s *Service) factorAdded(tx store.Tx, tk *seal.TenantKey, ss *Session, a *accountRow, factor string, c ClientInfo) (Enrolled, error) {
	out := Enrolled{Session: ss}
	first := a.Status == StatusInvited
	if first || a.RecoveryLeft() == 0 {
		codes, hashes, err := totp.NewRecoveryCodes()
		if err != nil {
			return out, err
		}
		a.Recovery, out.RecoveryCodes = hashes, codes
	}
	a.Status = StatusActive
	if err := s.saveAccount(tx, tk, a); err != nil {
		return out, err
	}
	if err := s.record(tx, event{actor: a.ID, role: string(a.Role), action: ActionFactorAdd, recordID: a.ID, addr: c.Addr, purpose: factor}); err != nil {
		return out, err
	}
	if ss.Stage == StageMFA {
		return out, s.saveSession(tx, tk, ss)
	}
	// An enrolment session becomes a signed-in one, with a new id.
	if Privileged(a.Role) && factor != "passkey" {
		return out, ErrPasskeyRequired
	}
	if err := tx.Delete(kindSession, ss.ID); err != nil {
		return out, err
	}
	next, err := s.startSession(tx, tk, a.Account, StageMFA, c)
	if err != nil {
		return out, err
	}
	out.Session = next
	return out, s.record(tx, event{actor: a.ID, role: string(a.Role), action: ActionSignIn, recordID: a.ID, addr: c.Addr, purpose: factor})
}

// Factor names one enrolled factor for the account page.
type Factor struct {
	ID   string // "totp" or "passkey:<credential id hex>"
	Kind string // "authenticator app" or "passkey"
	Name string
	Info AccountFactorTimes
}

// AccountFactorTimes says when a factor was added and last used.
type AccountFactorTimes struct{ Added, LastUsed string }

// RemoveFactor removes a factor, after step-up, unless it is the last one
// (or, for administrators, the last passkey).
func (s *Service) RemoveFactor(ctx context.Context, token, factorID string, c ClientInfo) error {
	return s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, ss *Session) error {
		if !ss.SteppedUp(s.Now()) {
			return ErrStepUp
		}
		a, err := loadAccount(tx, tk, ss.Account.ID)
		if err != nil {
			return err
		}
		switch {
		case factorID == "totp" && a.TOTP != nil:
			a.TOTP = nil
		case strings.HasPrefix(factorID, "passkey:"):
			kept := a.Passkeys[:0:0]
			for _, p := range a.Passkeys {
				if passkeyID(p) != factorID {
					kept = append(kept, p)
				}
			}
			if len(kept) == len(a.Passkeys) {
				return haven.ErrNotFound
			}
			a.Passkeys = kept
		default:
			return haven.ErrNotFound
		}
		if !a.HasFactor() {
			return haven.Invalid("factor", "you cannot remove your last second factor; add another one first")
		}
		if Privileged(a.Role) && len(a.Passkeys) == 0 {
			return haven.Invalid("factor", "your role needs a passkey; add another passkey before removing this one")
		}
		if err := s.saveAccount(tx, tk, &a); err != nil {
			return err
		}
		return s.record(tx, event{actor: a.ID, role: string(a.Role), action: ActionFactorRemove, recordID: a.ID, addr: c.Addr, purpose: factorID})
	})
}

// NewRecoveryCodes replaces the account's recovery codes, after step-up.
func (s *Service) NewRecoveryCodes(ctx context.Context, token string, c ClientInfo) ([]string, error) {
	var codes []string
	err := s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, ss *Session) error {
		if !ss.SteppedUp(s.Now()) {
			return ErrStepUp
		}
		a, err := loadAccount(tx, tk, ss.Account.ID)
		if err != nil {
			return err
		}
		var hashes [][]byte
		if codes, hashes, err = totp.NewRecoveryCodes(); err != nil {
			return err
		}
		a.Recovery = hashes
		if err := s.saveAccount(tx, tk, &a); err != nil {
			return err
		}
		return s.record(tx, event{actor: a.ID, role: string(a.Role), action: ActionRecoveryCodes, recordID: a.ID, addr: c.Addr})
	})
	return codes, err
}

// Factors lists the session account's factors.
func Factors(a *Account) []Factor {
	var out []Factor
	if a.TOTP != nil {
		out = append(out, Factor{ID: "totp", Kind: "authenticator app", Name: "Authenticator app",
			Info: AccountFactorTimes{Added: a.TOTP.Added.Format("2 Jan 2006")}})
	}
	for _, p := range a.Passkeys {
		f := Factor{ID: passkeyID(p), Kind: "passkey", Name: p.Name, Info: AccountFactorTimes{Added: p.Added.Format("2 Jan 2006")}}
		if !p.LastUsed.IsZero() {
			f.Info.LastUsed = p.LastUsed.Format("2 Jan 2006 15:04")
		}
		out = append(out, f)
	}
	return out
}
