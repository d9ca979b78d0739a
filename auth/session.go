package auth

import (
	"context"
	"errors"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sealedrow"
)

// Stage is how far a session has got through sign-in.
type Stage string

const (
	// StagePassword: one factor only. It opens the factor challenge and,
	// where allowed, factor enrolment, and nothing else.
	StagePassword Stage = "password"
	// StageMFA: two factors (or a passkey, which is two in one). The only
	// stage that yields a principal.
	StageMFA Stage = "mfa"
)

// ClientInfo describes the browser or client a request came from.
type ClientInfo struct {
	Addr   string // network address
	Device string // user agent, shortened
}

// sessionRecord is a session as stored (sealed) in its partition.
type sessionRecord struct {
	AccountID string    `json:"account"`
	Stage     Stage     `json:"stage"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	FactorAt  time.Time `json:"factor_at,omitzero"` // last factor confirmation
	Device    string    `json:"device"`
	Addr      string    `json:"addr"`
	CSRF      string    `json:"csrf"`
	// Enrolling allows adding a factor with only this session's proof: a
	// new account arriving from its enrolment link, an account that used a
	// recovery code, or an administrator who must add a passkey.
	Enrolling   bool   `json:"enrolling,omitempty"`
	PendingTOTP string `json:"pending_totp,omitempty"`
	// Frozen is set by the guard: the session reaches nothing until its
	// user confirms a factor again, which a thief holding only the cookie
	// cannot do.
	Frozen bool `json:"frozen,omitempty"`
}

// Session is a signed-in (or signing-in) browser.
type Session struct {
	// Token is the cookie value. It is set only on the Session returned
	// when the session was created; it is never stored.
	Token     string
	ID        string // stored row id: SHA-256 of the token
	Partition string
	Account   *Account
	sessionRecord
	version int64
}

// CSRFToken is the session's anti-forgery token for forms.
func (s *Session) CSRFToken() string { return s.CSRF }

// FullyAuthenticated reports whether the session passed multi-factor
// authentication. Only such sessions become principals.
func (s *Session) FullyAuthenticated() bool { return s != nil && s.Stage == StageMFA }

// SteppedUp reports whether a factor was confirmed in the last StepUpWindow.
func (s *Session) SteppedUp(now time.Time) bool {
	return s.FullyAuthenticated() && !s.Frozen && !s.FactorAt.IsZero() && now.Sub(s.FactorAt) < StepUpWindow
}

// Principal is who the session acts as. It panics if the session is not
// fully authenticated: that is a bug in the caller, never a user error.
func (s *Session) Principal(addr string) haven.Principal {
	if !s.FullyAuthenticated() {
		panic("auth: principal of a session without multi-factor authentication")
	}
	return haven.Principal{ID: s.Account.ID, TenantID: s.Account.Tenant(), Role: s.Account.Role, StaffID: s.Account.StaffID,
		ClientAddr: addr, SessionID: s.ID}
}

// expiry is when the session stops working unless used again.
func (s *Service) expiry(r *sessionRecord) time.Time {
	if r.Stage != StageMFA {
		return r.Created.Add(PendingTimeout)
	}
	idle := r.LastSeen.Add(s.cfg.IdleTimeout)
	abs := r.Created.Add(s.cfg.AbsoluteTimeout)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// startSession creates a session for a in tx. Every sign-in step that
// raises a session's assurance calls it and deletes the old session, so a
// session id planted before sign-in is worthless afterwards (fixation).
func (s *Service) startSession(tx store.Tx, tk *seal.TenantKey, a *Account, stage Stage, c ClientInfo) (*Session, error) {
	now := s.Now().UTC()
	tok := newBearer(a.Partition)
	_, id, _ := tok.split()
	ss := &Session{Token: string(tok), ID: id, Partition: a.Partition, Account: a, sessionRecord: sessionRecord{
		AccountID: a.ID, Stage: stage, Created: now, LastSeen: now, Device: c.Device, Addr: c.Addr, CSRF: newSecret(32),
	}}
	if stage == StageMFA {
		ss.FactorAt = now
	}
	v, err := sealedrow.Put(tx, tk, kindSession, id, 0, &ss.sessionRecord, now)
	if err != nil {
		return nil, err
	}
	ss.version = v
	return ss, tx.SetIndex(kindSession, id, "", []store.IndexEntry{{Field: fieldSessionAccount, Digest: tk.BlindIndex(fieldSessionAccount, a.ID)}})
}

func (s *Service) saveSession(tx store.Tx, tk *seal.TenantKey, ss *Session) error {
	v, err := sealedrow.Put(tx, tk, kindSession, ss.ID, ss.version, &ss.sessionRecord, s.Now())
	if err == nil {
		ss.version = v
	}
	return err
}

// loadSession opens a session row and checks that it is live: not
// expired and its account still active. Dead sessions are deleted.
func (s *Service) loadSession(tx store.Tx, tk *seal.TenantKey, id string) (*Session, error) {
	ss := &Session{ID: id, Partition: tx.Tenant()}
	v, err := sealedrow.Get(tx, tk, kindSession, id, &ss.sessionRecord)
	if errors.Is(err, haven.ErrNotFound) {
		return nil, ErrSession
	} else if err != nil {
		return nil, err
	}
	ss.version = v
	now := s.Now()
	if !now.Before(s.expiry(&ss.sessionRecord)) {
		return nil, s.dropSession(tx, id)
	}
	a, err := loadAccount(tx, tk, ss.AccountID)
	if errors.Is(err, haven.ErrNotFound) {
		return nil, s.dropSession(tx, id)
	} else if err != nil {
		return nil, err
	}
	if a.IsLocked() || a.Status == StatusDisabled {
		return nil, s.dropSession(tx, id)
	}
	ss.Account = a.Account
	return ss, nil
}

// dropSession deletes a session and reports ErrSession. The deletion must
// commit, so the caller returns nil from its transaction and ErrSession to
// its own caller.
func (s *Service) dropSession(tx store.Tx, id string) error {
	if err := tx.Delete(kindSession, id); err != nil && !errors.Is(err, haven.ErrNotFound) {
		return err
	}
	return errDropped
}

// errDropped marks a transaction that deleted a dead session: it commits
// the deletion and then answers ErrSession.
var errDropped = errors.New("auth: session dropped")

// session runs fn on the live session named by token inside one
// transaction of its partition.
func (s *Service) session(ctx context.Context, token string, fn func(tx store.Tx, tk *seal.TenantKey, ss *Session) error) error {
	partition, id, ok := bearer(token).split()
	if !ok {
		return ErrSession
	}
	var dropped bool
	err := s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		ss, err := s.loadSession(tx, tk, id)
		if errors.Is(err, errDropped) {
			dropped = true
			return nil
		}
		if err != nil {
			return err
		}
		return fn(tx, tk, ss)
	})
	if dropped || errors.Is(err, errNoPartition) {
		return ErrSession
	}
	return err
}

// Authenticate resolves a session cookie. It returns ErrSession for
// anything but a live session, and records the use (at most once a
// minute, to keep reads from turning into writes).
func (s *Service) Authenticate(ctx context.Context, token string, c ClientInfo) (*Session, error) {
	var out *Session
	err := s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, ss *Session) error {
		now := s.Now().UTC()
		if now.Sub(ss.LastSeen) >= time.Minute || ss.Addr != c.Addr {
			ss.LastSeen, ss.Addr = now, c.Addr
			if err := s.saveSession(tx, tk, ss); err != nil {
				return err
			}
		}
		out = ss
		return nil
	})
	return out, err
}

// SessionInfo is one session as its owner or an admin sees it.
type SessionInfo struct {
	ID        string
	AccountID string
	Name      string
	Stage     Stage
	Created   time.Time
	LastSeen  time.Time
	Device    string
	Addr      string
	Current   bool
}

// Sessions lists the live sessions of the signed-in account.
func (s *Service) Sessions(ctx context.Context, token string) ([]SessionInfo, error) {
	var out []SessionInfo
	err := s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, cur *Session) error {
		var err error
		out, err = s.accountSessions(tx, tk, cur.Account, cur.ID)
		return err
	})
	return out, err
}

func (s *Service) accountSessions(tx store.Tx, tk *seal.TenantKey, a *Account, current string) ([]SessionInfo, error) {
	hits, err := tx.Lookup(fieldSessionAccount, tk.BlindIndex(fieldSessionAccount, a.ID), 1000)
	if err != nil {
		return nil, err
	}
	var out []SessionInfo
	now := s.Now()
	for _, h := range hits {
		var r sessionRecord
		if _, err := sealedrow.Get(tx, tk, kindSession, h.ID, &r); err != nil {
			if errors.Is(err, haven.ErrNotFound) {
				continue
			}
			return nil, err
		}
		if !now.Before(s.expiry(&r)) {
			continue
		}
		out = append(out, SessionInfo{ID: h.ID, AccountID: a.ID, Name: a.Name, Stage: r.Stage, Created: r.Created,
			LastSeen: r.LastSeen, Device: r.Device, Addr: r.Addr, Current: h.ID == current})
	}
	return out, nil
}

// Revoke ends one of the signed-in account's own sessions.
func (s *Service) Revoke(ctx context.Context, token, sessionID string) error {
	return s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, cur *Session) error {
		var r sessionRecord
		if _, err := sealedrow.Get(tx, tk, kindSession, sessionID, &r); err != nil {
			return err
		}
		if r.AccountID != cur.Account.ID {
			return haven.ErrNotFound // not yours: as if it did not exist
		}
		if err := tx.Delete(kindSession, sessionID); err != nil {
			return err
		}
		return s.record(tx, event{actor: cur.Account.ID, role: string(cur.Account.Role), action: ActionRevoke, recordID: cur.Account.ID, addr: cur.Addr})
	})
}

// SignOut ends the session; everywhere also ends every other session of
// the account.
func (s *Service) SignOut(ctx context.Context, token string, everywhere bool) error {
	err := s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, cur *Session) error {
		if everywhere {
			if _, err := s.revokeAccountSessions(tx, tk, cur.Account.ID, ""); err != nil {
				return err
			}
		} else if err := tx.Delete(kindSession, cur.ID); err != nil {
			return err
		}
		return s.record(tx, event{actor: cur.Account.ID, role: string(cur.Account.Role), action: ActionSignOut, recordID: cur.Account.ID, addr: cur.Addr})
	})
	if errors.Is(err, ErrSession) {
		return nil // already signed out
	}
	return err
}

// revokeAccountSessions deletes every session of an account except one.
func (s *Service) revokeAccountSessions(tx store.Tx, tk *seal.TenantKey, accountID, except string) (int, error) {
	hits, err := tx.Lookup(fieldSessionAccount, tk.BlindIndex(fieldSessionAccount, accountID), 10000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, h := range hits {
		if h.ID == except {
			continue
		}
		if err := tx.Delete(kindSession, h.ID); err != nil && !errors.Is(err, haven.ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}

// TenantSessions lists every live session in an admin's tenant.
func (s *Service) TenantSessions(ctx context.Context, by haven.Principal) ([]SessionInfo, error) {
	partition, err := adminPartition(by)
	if err != nil {
		return nil, err
	}
	var out []SessionInfo
	err = s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		return s.eachAccount(tx, tk, func(a *Account) error {
			ss, err := s.accountSessions(tx, tk, a, "")
			out = append(out, ss...)
			return err
		})
	})
	return out, err
}

// RevokeAccountSessions ends every session of one account of an admin's
// tenant (containment of a suspected compromise).
func (s *Service) RevokeAccountSessions(ctx context.Context, by haven.Principal, accountID string) (int, error) {
	partition, err := adminPartition(by)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		if _, err := loadAccount(tx, tk, accountID); err != nil {
			return err
		}
		if n, err = s.revokeAccountSessions(tx, tk, accountID, ""); err != nil {
			return err
		}
		return s.record(tx, event{actor: by.ID, role: string(by.Role), action: ActionRevoke, recordID: accountID, addr: by.ClientAddr})
	})
	return n, err
}

// eachAccount calls fn for every account of the transaction's partition.
func (s *Service) eachAccount(tx store.Tx, tk *seal.TenantKey, fn func(*Account) error) error {
	after := ""
	for {
		rows, err := tx.ListKind(kindAccount, after, 200)
		if err != nil {
			return err
		}
		for _, r := range rows {
			a := &Account{}
			if _, err := sealedrow.Get(tx, tk, kindAccount, r.ID, a); err != nil {
				return err
			}
			if err := fn(a); err != nil {
				return err
			}
			after = r.ID
		}
		if len(rows) < 200 {
			return nil
		}
	}
}
