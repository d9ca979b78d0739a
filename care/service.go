// Package care is Haven's record service: the one place where records are
// sealed and opened, where every access is written to the audit log in the
// same transaction as the access, and where the tenant scope is taken from
// the acting principal.
//
// The flow of every call is the same: the principal gives the scope; the
// store runs the unit of work in a transaction confined to that scope; the
// unit of work reads or writes sealed rows and appends one audit entry per
// person touched; only after that transaction commits are ciphertexts
// opened and plaintext handed back. If the audit entry cannot be written,
// the transaction fails and nothing is returned (invariant 5: fail closed).
package care

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sealedrow"
)

// Service is the record service for every tenant of one store.
type Service struct {
	st    store.Store
	keys  *seal.Keyring
	guard *guard.Guard
	// Container carries out the guard's containment (freeze or end a
	// session, lock an account). Package auth provides it; without one,
	// containment is only recorded in alerts.
	Container guard.Container
	// ScopeAllows reports whether an API client's SMART scopes cover an
	// action on a kind; named are those of the scopes its registration
	// gives by type (haven.Principal.NamedScopes). Without it API clients
	// are refused everything.
	ScopeAllows func(scopes, named []string, a policy.Action, k haven.Kind) bool
	// Now is the clock; tests replace it.
	Now func() time.Time

	settings sync.Map // tenant -> openedSettings (see loadSettings)
}

// New returns a service over st whose keys unwrap through kr.
func New(st store.Store, kr *seal.Keyring) *Service {
	return &Service{st: st, keys: kr, guard: guard.New(), Now: time.Now}
}

// Guard is the service's guard (the administrator's unlock forgets an
// account's windows through it).
func (s *Service) Guard() *guard.Guard { return s.guard }

// Store returns the underlying store.
func (s *Service) Store() store.Store { return s.st }

// Actions recorded in the audit log.
const (
	ActionRead      = "read"
	ActionSearch    = "search"
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionDelete    = "delete"
	ActionErase     = "erase"
	ActionReveal    = "reveal" // home-access details
	ActionAuditRead = "audit-query"
	ActionKeyRotate = "key-rotate"
	ActionTenant    = "tenant-create"
)

// Outcomes recorded in the audit log.
const (
	OutcomeOK       = "ok"
	OutcomeNotFound = "not-found"
	OutcomeConflict = "conflict"
	OutcomeDenied   = "denied"
	OutcomeInvalid  = "invalid"
)

// outcomeOf classifies a unit of work's error. Errors with an outcome are
// the caller's answer (not found, conflict, ...) and are recorded; any other
// error is a failure of the store and rolls the whole unit back.
func outcomeOf(err error) (string, bool) {
	var inv *haven.InvalidError
	switch {
	case err == nil:
		return OutcomeOK, true
	case errors.Is(err, haven.ErrNotFound):
		return OutcomeNotFound, true
	case errors.Is(err, haven.ErrConflict):
		return OutcomeConflict, true
	case errors.Is(err, haven.ErrForbidden):
		return OutcomeDenied, true
	case errors.As(err, &inv):
		return OutcomeInvalid, true
	}
	return "", false
}

// touch is one audit entry a unit of work will append: what was accessed.
// purpose, when set, is added to the principal's purpose for this entry (a
// break-glass lease, the visit a reveal was for).
type touch struct {
	kind     haven.Kind
	recordID string
	personID string
	purpose  string
	action   string // when set, this entry's action instead of the unit's
}

// access runs work in a transaction scoped to p's tenant and appends one
// audit entry per touch with the unit's outcome, in the same transaction.
// Work asks policy through f before touching anything; after it returns, the
// guard judges what it did, and any alert is written in the same
// transaction as the audit entries. Containment the guard calls for runs
// after the commit.
//
// Units of work must do every check that can refuse (not found, conflict,
// forbidden, invalid) before their first write, so that a refused unit has
// written nothing when its refusal is recorded. Any other error rolls the
// unit back, audit entries included: then nothing happened, and nothing is
// returned.
func (s *Service) access(ctx context.Context, p haven.Principal, action string, work func(tx store.Tx, f *facts) ([]touch, error)) error {
	var u unit
	err := s.st.Update(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
		if err := u.run(s, tx, p, work); err != nil {
			return err
		}
		return u.record(tx, action)
	})
	return s.finish(ctx, p, action, &u, err)
}

// view is access for units of work that write no records: reads,
// searches, lists. The work and the guard's judgement run in a read-only
// transaction beside the committer, so that reads do not queue behind the
// single writer for their queries and policy checks; then the audit entries
// and alerts are committed through the committer, and only after that
// commit does the caller get anything (invariant 5 holds as in access: if
// the audit entries cannot be written, the call fails and returns nothing).
// A unit that tries to write in a view fails, and nothing of it is kept.
func (s *Service) view(ctx context.Context, p haven.Principal, action string, work func(tx store.Tx, f *facts) ([]touch, error)) error {
	var u unit
	sc := haven.ScopeOf(p)
	err := s.st.View(ctx, sc, func(tx store.Tx) error { return u.run(s, tx, p, work) })
	if err == nil {
		err = s.st.Record(ctx, sc, func(tx store.Tx) error {
			u.f.tx = tx
			return u.record(tx, action)
		})
	}
	return s.finish(ctx, p, action, &u, err)
}

// unit is one call of the record service between its work and its audit
// entries.
type unit struct {
	p       haven.Principal
	f       *facts
	touches []touch
	outcome string
	verdict guard.Verdict
	workErr error // the refusal the caller gets, recorded as the outcome
}

// run does the work and has the guard judge it. An error returned is a
// failure of the store: nothing is recorded and the call fails.
func (u *unit) run(s *Service, tx store.Tx, p haven.Principal, work func(tx store.Tx, f *facts) ([]touch, error)) error {
	u.p, u.f = p, s.newFacts(tx, p)
	touches, err := work(tx, u.f)
	outcome, recordable := outcomeOf(err)
	if !recordable {
		return err
	}
	if errors.Is(err, haven.ErrNotFound) {
		u.f.probes++
	}
	v, jerr := u.f.judge()
	if jerr != nil {
		return jerr
	}
	// Only reads add people, and reads write nothing, so a refusal
	// here never has a write to undo: writes are refused (canaries)
	// by authorize before they happen.
	if v.Refuse && err == nil {
		err, outcome = ErrContained, OutcomeDenied
	}
	u.touches, u.outcome, u.verdict, u.workErr = touches, outcome, v, err
	return nil
}

// record writes the unit's alerts and its audit entries, one per touch.
func (u *unit) record(tx store.Tx, action string) error {
	f, p := u.f, u.p
	if err := f.raise(append(f.alerts, u.verdict.Findings...)); err != nil {
		return err
	}
	touches := u.touches
	if len(touches) == 0 {
		touches = []touch{{}}
	}
	now := f.s.Now()
	for _, t := range touches {
		purpose := p.Purpose
		switch {
		case t.purpose != "" && purpose != "":
			purpose += "; " + t.purpose
		case t.purpose != "":
			purpose = t.purpose
		}
		if err := tx.AppendAudit(audit.Entry{
			Time:       now,
			Actor:      p.ID,
			ActorRole:  string(p.Role),
			Action:     cmp.Or(t.action, action),
			Kind:       string(t.kind),
			RecordID:   t.recordID,
			PersonID:   t.personID,
			Purpose:    purpose,
			Outcome:    u.outcome,
			ClientAddr: p.ClientAddr,
		}); err != nil {
			return err
		}
	}
	return nil
}

// finish turns the transaction's error into the caller's, and carries out
// the containment the guard called for once its alerts are committed.
func (s *Service) finish(ctx context.Context, p haven.Principal, action string, u *unit, err error) error {
	if err != nil {
		if errors.Is(err, store.ErrNoScope) {
			return fmt.Errorf("%s: %w", action, haven.ErrForbidden)
		}
		return fmt.Errorf("%s: %w", action, err)
	}
	if l := u.verdict.Level(); l > guard.AlertOnly && s.Container != nil {
		c := guard.Contain{Tenant: haven.PartitionOf(p.TenantID), Actor: p.ID, Role: p.Role, Session: p.SessionID, Level: l}
		if err := s.Container.Contain(ctx, c); err != nil {
			return fmt.Errorf("%s: containment failed: %w", action, err)
		}
	}
	return u.workErr
}

// tenantKey returns the open tenant key for the transaction's tenant.
func (s *Service) tenantKey(tx store.Tx) (*seal.TenantKey, error) {
	w, err := tx.TenantKeys()
	if err != nil {
		return nil, err
	}
	return s.keys.Tenant(tx.Tenant(), seal.WrappedTenantKeys{Data: w.Data, Index: w.Index})
}

// CreateTenant registers a care organisation and makes its keys.
func (s *Service) CreateTenant(ctx context.Context, t haven.Tenant) error {
	if !haven.ValidTenantID(t.ID) {
		return haven.Invalid("tenant", "a tenant id is 1 to 40 lower-case letters, digits or hyphens, starting with a letter or digit")
	}
	if t.Name == "" {
		return haven.Invalid("tenant", "a tenant needs a name")
	}
	return s.createPartition(ctx, t)
}

// EnsureSupplierPartition creates the supplier's own partition (staff
// accounts and the sign-in directory) if it does not exist yet.
func (s *Service) EnsureSupplierPartition(ctx context.Context) error {
	ts, err := s.st.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == haven.SupplierPartition {
			return nil
		}
	}
	return s.createPartition(ctx, haven.Tenant{ID: haven.SupplierPartition, Name: "Supplier staff"})
}

func (s *Service) createPartition(ctx context.Context, t haven.Tenant) error {
	if t.Created.IsZero() {
		t.Created = s.Now().UTC()
	}
	w, err := s.keys.NewTenant(t.ID)
	if err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	if err := s.st.CreateTenant(ctx, t, store.TenantKeys{Data: w.Data, Index: w.Index}); err != nil {
		return err
	}
	return s.access(ctx, haven.SystemPrincipal(t.ID, "tenant on-boarding"), ActionTenant, func(tx store.Tx, f *facts) ([]touch, error) {
		// A new tenant's records are indexed by this version as they are
		// written; Reindex has nothing to rebuild.
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		_, err = sealedrow.Put(tx, tk, kindIndexVersion, indexVersionID, 0, indexVersion, s.Now())
		return nil, err
	})
}
