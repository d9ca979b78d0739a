package care

import (
	"context"
	"fmt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/store"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoint signs the current head of every tenant's audit log that has
// grown since its last checkpoint. It returns how many were written.
func (s *Service) Checkpoint(ctx context.Context, signer note.Signer) (int, error) {
	tenants, err := s.st.Tenants(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tenants {
		p := haven.SystemPrincipal(t.ID, "audit checkpoint")
		err := s.st.Update(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
			size, err := tx.AuditSize()
			if err != nil {
				return err
			}
			last, err := tx.LatestCheckpoint()
			if err != nil || size == 0 || size == last {
				return err
			}
			signed, _, err := audit.Checkpoint(signer, audit.Origin(t.ID), size, tx.AuditHashes())
			if err != nil {
				return err
			}
			n++
			return tx.PutCheckpoint(size, signed)
		})
		if err != nil {
			return n, fmt.Errorf("checkpoint tenant %s: %w", t.ID, err)
		}
	}
	return n, nil
}

// AccessReport answers the blast-radius questions for the principal's
// tenant: which people's data did these accounts touch in a window, or who
// touched this person's data. Reading the audit log is itself audited.
func (s *Service) AccessReport(ctx context.Context, p haven.Principal, q store.AuditQuery) ([]audit.Entry, error) {
	var out []audit.Entry
	err := s.view(ctx, p, ActionAuditRead, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{personID: q.PersonID}}
		if err := f.authorizeOrg(policy.ReadAudit, q.PersonID); err != nil {
			return t, err
		}
		var err error
		out, err = tx.AuditEntries(q)
		return t, err
	})
	return out, err
}

// PeopleTouched reduces audit entries to the distinct people whose data
// was read or changed successfully, with how many times: the list a
// controller needs for a breach notification.
func PeopleTouched(entries []audit.Entry) map[string]int {
	out := map[string]int{}
	for _, e := range entries {
		if e.PersonID != "" && e.Outcome == OutcomeOK && e.Action != ActionAuditRead {
			out[e.PersonID]++
		}
	}
	return out
}
