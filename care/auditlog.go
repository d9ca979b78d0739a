package care

import (
	"context"
	"fmt"
	"time"

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

// MaxAuditPage bounds the entries one call of AuditLog returns.
const MaxAuditPage = 1000

// AuditLog reads one page of the principal's tenant's audit log: at most
// q.Limit entries (MaxAuditPage when 0 or above it) that match q from q.FromSeq
// on, oldest first, and that keep accepts (nil accepts all). It is
// AccessReport for callers that page through the log (the FHIR AuditEvent
// resource): the same policy action (ReadAudit, about q.PersonID when q
// names one), confined to the tenant by the store, and itself audited as an
// audit-query. A zero q.Until means now by the service's clock, the clock
// the entries were written with.
//
// keep filters on what the store cannot (the FHIR outcome code): the log
// is read in batches from q.FromSeq until the page is full or the log
// ends, so a page is always as full as the matches allow and paging by
// sequence number misses nothing.
func (s *Service) AuditLog(ctx context.Context, p haven.Principal, q store.AuditQuery, keep func(audit.Entry) bool) ([]audit.Entry, error) {
	if q.Limit <= 0 || q.Limit > MaxAuditPage {
		q.Limit = MaxAuditPage
	}
	var out []audit.Entry
	err := s.view(ctx, p, ActionAuditRead, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{personID: q.PersonID}}
		if err := f.authorizeOrg(policy.ReadAudit, q.PersonID); err != nil {
			return t, err
		}
		var err error
		out, err = auditPage(tx, q, f.now, keep)
		return t, err
	})
	return out, err
}

// AuditEntry reads the entry at sequence number seq of the principal's
// tenant's audit log, under the same policy as AuditLog, and audits the
// read. Sequence numbers are per tenant: seq is looked up in the
// principal's own tenant's log only, and one past its end is not found
// (recorded as such).
func (s *Service) AuditEntry(ctx context.Context, p haven.Principal, seq int64) (audit.Entry, error) {
	var out audit.Entry
	err := s.view(ctx, p, ActionAuditRead, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{}}
		if err := f.authorizeOrg(policy.ReadAudit, ""); err != nil {
			return t, err
		}
		if seq < 0 {
			return t, haven.ErrNotFound
		}
		entries, err := auditPage(tx, store.AuditQuery{FromSeq: seq, Limit: 1}, f.now, nil)
		if err != nil {
			return t, err
		}
		if len(entries) == 0 || entries[0].Seq != seq {
			return t, haven.ErrNotFound
		}
		out = entries[0]
		return t, nil
	})
	return out, err
}

// auditPage reads up to q.Limit entries matching q and keep, in batches.
func auditPage(tx store.Tx, q store.AuditQuery, now time.Time, keep func(audit.Entry) bool) ([]audit.Entry, error) {
	if q.Until.IsZero() {
		q.Until = now.Add(time.Minute)
	}
	if !q.Until.After(q.Since) {
		return nil, nil
	}
	batch := q
	if keep != nil {
		batch.Limit = max(q.Limit, 500)
	}
	var out []audit.Entry
	for {
		entries, err := tx.AuditEntries(batch)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if keep == nil || keep(e) {
				out = append(out, e)
				if len(out) == q.Limit {
					return out, nil
				}
			}
		}
		if len(entries) < batch.Limit {
			return out, nil
		}
		batch.FromSeq = entries[len(entries)-1].Seq + 1
	}
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
