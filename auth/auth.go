// Package auth is how anyone becomes a principal: staff accounts with a
// password and a second factor (TOTP, passkey or recovery code), passkey-only
// sign-in, server-side sessions with idle and absolute limits, step-up
// re-authentication, throttling and lockout, and SMART Backend Services
// tokens for API clients.
//
// Invariant 1 lives here: a session is either "password only", which opens
// nothing but the factor challenge and factor enrolment, or "multi-factor",
// which is the only state that yields a principal. There is no setting that
// turns the second factor off.
//
// Accounts, sessions, API clients and used assertion ids are stored as
// sealed rows in their tenant's partition, through the same store and keys
// as care records, so the same tenant isolation, encryption at rest and
// audit log apply. Supplier staff live in the supplier partition
// (haven.SupplierPartition), which also holds the sign-in directory that
// maps an e-mail address to its tenant.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// Limits that configuration may lower but never raise.
const (
	MaxIdleTimeout     = 15 * time.Minute
	MaxAbsoluteTimeout = 12 * time.Hour
	// PendingTimeout bounds a password-only session: long enough to find a
	// phone, short enough that a half-signed-in browser is soon useless.
	PendingTimeout = 10 * time.Minute
	// StepUpWindow is how recently a factor must have been confirmed for a
	// sensitive action.
	StepUpWindow = 5 * time.Minute
	// InviteLifetime is how long an enrolment link works.
	InviteLifetime = 72 * time.Hour
	// LockThreshold is NIST SP 800-63B's bound on consecutive failed
	// attempts before an account is locked until an admin unlocks it.
	LockThreshold = 100
	// anonCeremoniesPerAddr bounds open passkey-only sign-ins per address.
	anonCeremoniesPerAddr = 20
	// TOTPIssuer is the name authenticator apps show for Haven's codes.
	TOTPIssuer = "Haven"
)

// Errors callers map to responses.
var (
	// ErrSignIn is the one answer to a failed sign-in, whatever failed:
	// unknown e-mail, wrong password, locked or disabled account. Telling
	// them apart would tell an attacker which accounts exist.
	ErrSignIn = errors.New("the e-mail address, password or code is not right")
	// ErrSession means no valid session: absent, expired, revoked or forged.
	ErrSession = errors.New("not signed in")
	// ErrStepUp means the action needs a factor confirmed in the last
	// StepUpWindow.
	ErrStepUp = errors.New("confirm it is you to continue")
	// ErrInvite means the enrolment link is unknown, used or expired.
	ErrInvite = errors.New("this link has expired or has already been used")

	// errNoPartition: a bearer value named a partition that does not exist.
	errNoPartition = errors.New("auth: no such partition")
)

// ThrottledError says a sign-in attempt was refused without being checked
// because too many attempts failed recently.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts; try again in %d seconds", int(e.RetryAfter.Round(time.Second)/time.Second))
}

// Config is the identity service's configuration.
type Config struct {
	// IdleTimeout and AbsoluteTimeout are capped at MaxIdleTimeout and
	// MaxAbsoluteTimeout; zero means the maximum.
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	// Origin is the browser origin Haven is served on, e.g.
	// "https://haven.example.nhs.uk" or "http://localhost:8080". Passkeys
	// are bound to its host.
	Origin string
	// TokenURL is the SMART token endpoint as clients address it (the aud
	// of their assertions).
	TokenURL string
}

// Service is the identity service.
type Service struct {
	st       store.Store
	keys     *seal.Keyring
	cfg      Config
	wa       *webauthn.WebAuthn
	throttle *throttle
	// cer holds ceremonies of signed-in or signing-in sessions, keyed by
	// session; anon holds passkey-only sign-ins, which anyone can start,
	// capped per address so that a flood cannot crowd out the others.
	cer  *ceremonies
	anon *ceremonies
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New returns the identity service over st.
func New(st store.Store, kr *seal.Keyring, cfg Config) (*Service, error) {
	if cfg.IdleTimeout <= 0 || cfg.IdleTimeout > MaxIdleTimeout {
		cfg.IdleTimeout = MaxIdleTimeout
	}
	if cfg.AbsoluteTimeout <= 0 || cfg.AbsoluteTimeout > MaxAbsoluteTimeout {
		cfg.AbsoluteTimeout = MaxAbsoluteTimeout
	}
	wa, err := newWebAuthn(cfg.Origin)
	if err != nil {
		return nil, err
	}
	return &Service{st: st, keys: kr, cfg: cfg, wa: wa, throttle: newThrottle(), cer: newCeremonies(0), anon: newCeremonies(anonCeremoniesPerAddr), Now: time.Now}, nil
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Row kinds of the identity service. They share the records table with
// care records but are never returned by the record service, whose kinds
// are fixed.
const (
	kindAccount = haven.Kind("account")
	kindSession = haven.Kind("session")
	kindClient  = haven.Kind("api-client")
	kindToken   = haven.Kind("access-token")
	kindJTI     = haven.Kind("assertion-id")
)

// Blind-index fields.
const (
	fieldEmail          = "account.email"
	fieldInvite         = "account.invite"
	fieldStaff          = "account.staff"
	fieldSessionAccount = "session.account"
	fieldDirectory      = "directory.email" // in the supplier partition
)

// Audit actions of the identity service.
const (
	ActionInvite        = "invite"
	ActionEnrol         = "enrol"
	ActionSignIn        = "sign-in"
	ActionSignInFailed  = "sign-in-failed"
	ActionStepUp        = "step-up"
	ActionLockout       = "lockout"
	ActionUnlock        = "unlock"
	ActionFactorAdd     = "factor-add"
	ActionFactorRemove  = "factor-remove"
	ActionRecoveryCodes = "recovery-codes"
	ActionSignOut       = "sign-out"
	ActionRevoke        = "session-revoke"
	ActionRoleChange    = "role-change"
	ActionClientAdd     = "client-register"
	ActionClientRemove  = "client-remove"
	ActionTokenIssue    = "token-issue"
	ActionTokenRefused  = "token-refused"
)

// in runs fn in a transaction confined to partition, acting as Haven
// itself: the identity service works before there is a principal.
func (s *Service) in(ctx context.Context, partition string, fn func(tx store.Tx, tk *seal.TenantKey) error) error {
	return s.within(ctx, s.st.Update, partition, fn)
}

// look is in for work that only reads: a read-only transaction beside the
// committer (checking a bearer token must not queue behind the writer).
func (s *Service) look(ctx context.Context, partition string, fn func(tx store.Tx, tk *seal.TenantKey) error) error {
	return s.within(ctx, s.st.View, partition, fn)
}

func (s *Service) within(ctx context.Context, txn func(context.Context, haven.Scope, func(store.Tx) error) error, partition string, fn func(tx store.Tx, tk *seal.TenantKey) error) error {
	p := haven.SystemPrincipal(partition, "identity")
	return txn(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
		w, err := tx.TenantKeys()
		if errors.Is(err, haven.ErrNotFound) {
			return errNoPartition
		} else if err != nil {
			return err
		}
		tk, err := s.keys.Tenant(tx.Tenant(), seal.WrappedTenantKeys{Data: w.Data, Index: w.Index})
		if err != nil {
			return err
		}
		return fn(tx, tk)
	})
}

// event is one identity audit entry.
type event struct {
	actor, role, action, recordID, outcome, addr, purpose string
}

func (s *Service) record(tx store.Tx, e event) error {
	if e.outcome == "" {
		e.outcome = "ok"
	}
	if e.actor == "" {
		e.actor = "anonymous"
	}
	err := tx.AppendAudit(audit.Entry{
		Time:       s.Now(),
		Actor:      e.actor,
		ActorRole:  e.role,
		Action:     e.action,
		Kind:       "account",
		RecordID:   e.recordID,
		Purpose:    e.purpose,
		Outcome:    e.outcome,
		ClientAddr: e.addr,
	})
	return err
}

// newSecret returns n random bytes, base64url-encoded without padding.
func newSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newID returns a random identifier with a readable prefix.
func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// bearer is a secret handed to a browser or client: "<partition>.<secret>".
// The partition says where to look; only the SHA-256 of the whole value is
// stored, so a copy of the database yields no usable session or token.
type bearer string

func newBearer(partition string) bearer {
	return bearer(partition + "." + newSecret(32)) // 256 bits
}

// split returns the partition and the row id of a bearer value.
func (b bearer) split() (partition, rowID string, ok bool) {
	i := strings.LastIndexByte(string(b), '.')
	if i <= 0 || len(b)-i-1 != 43 {
		return "", "", false
	}
	partition = string(b[:i])
	if partition != haven.SupplierPartition && !haven.ValidTenantID(partition) {
		return "", "", false
	}
	sum := sha256.Sum256([]byte(b))
	return partition, hex.EncodeToString(sum[:]), true
}

// normEmail is the form e-mail addresses are compared and indexed in.
func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }
