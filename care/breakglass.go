package care

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sealedrow"
)

const (
	kindLease = haven.Kind("lease")
	// fieldLease finds an account's leases on one person; fieldLeaseReview
	// the leases the data-protection officer has not reviewed yet.
	fieldLease       = "lease.key"
	fieldLeaseReview = "lease.review"
)

// Lease is a break-glass lease: one clinician, one person, one hour, a
// stated reason, and a review by the data-protection officer.
type Lease struct {
	ID        string    `json:"id"`
	Account   string    `json:"account"`
	Role      string    `json:"role"`
	PersonID  string    `json:"personId"`
	Reason    string    `json:"reason"` // sealed: it may describe the person
	Opened    time.Time `json:"opened"`
	Until     time.Time `json:"until"`
	Reviewed  time.Time `json:"reviewed,omitzero"`
	Reviewer  string    `json:"reviewer,omitempty"`
	Finding   string    `json:"finding,omitempty"`   // the reviewer's conclusion
	Justified bool      `json:"justified,omitempty"` // whether the reviewer found it justified
}

func leaseIndex(tk *seal.TenantKey, l *Lease) []store.IndexEntry {
	out := []store.IndexEntry{{Field: fieldLease, Digest: tk.BlindIndex(fieldLease, pair(l.Account, l.PersonID))}}
	if l.Reviewed.IsZero() {
		out = append(out, store.IndexEntry{Field: fieldLeaseReview, Digest: tk.BlindIndex(fieldLeaseReview, "pending")})
	}
	return out
}

// activeLease returns the account's live lease on the person, if any.
func activeLease(tx store.Tx, tk *seal.TenantKey, account, person string, now time.Time) (string, time.Time, error) {
	hits, err := tx.Lookup(fieldLease, tk.BlindIndex(fieldLease, pair(account, person)), 1000)
	if err != nil {
		return "", time.Time{}, err
	}
	var id string
	var until time.Time
	for _, h := range hits {
		var l Lease
		if _, err := sealedrow.Get(tx, tk, kindLease, h.ID, &l); err != nil {
			return "", time.Time{}, err
		}
		if l.Account == account && l.PersonID == person && now.Before(l.Until) && l.Until.After(until) {
			id, until = l.ID, l.Until
		}
	}
	return id, until, nil
}

// BreakGlass opens a lease for a clinician on one person outside their
// relationship. It needs a stated reason and a fresh factor; it is audited
// as break-glass, raises an alert for the data-protection officer, and waits
// in the review queue until reviewed.
func (s *Service) BreakGlass(ctx context.Context, p haven.Principal, personID, reason string) (Lease, error) {
	reason = strings.TrimSpace(reason)
	var l Lease
	err := s.access(ctx, p, ActionBreakGlass, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{kind: haven.KindPerson, recordID: personID, personID: personID}}
		if len(reason) > haven.MaxLongField {
			return t, haven.Invalid("reason", "is longer than %d characters", haven.MaxLongField)
		}
		d, _, _, err := f.decide(policy.BreakGlass, personID, "", reason)
		if err != nil {
			return nil, err
		}
		if !d.Allow {
			if !d.NeedStepUp {
				f.denied++
			}
			return t, &DeniedError{Reason: d.Reason, NeedStepUp: d.NeedStepUp}
		}
		if _, err := tx.PersonKey(personID); err != nil {
			return t, err
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		l = Lease{ID: newTimeID(f.now), Account: p.ID, Role: string(p.Role), PersonID: personID, Reason: reason,
			Opened: f.now.UTC(), Until: d.LeaseUntil.UTC()}
		if _, err := sealedrow.Put(tx, tk, kindLease, l.ID, 0, &l, f.now); err != nil {
			return nil, err
		}
		if err := tx.SetIndex(kindLease, l.ID, "", leaseIndex(tk, &l)); err != nil {
			return nil, err
		}
		f.alerts = append(f.alerts, guard.Finding{Rule: guard.RuleBreakGlass, Level: guard.AlertOnly, PersonID: personID,
			Detail: fmt.Sprintf("break-glass lease %s opened until %s; review it", l.ID, l.Until.Format(time.RFC3339))})
		t[0].purpose = "break-glass lease " + l.ID
		return t, nil
	})
	return l, err
}

// Leases lists break-glass leases for review, newest first; pending only
// when pendingOnly.
func (s *Service) Leases(ctx context.Context, p haven.Principal, pendingOnly bool) ([]Lease, error) {
	var out []Lease
	err := s.view(ctx, p, ActionAuditRead, func(tx store.Tx, f *facts) ([]touch, error) {
		if err := f.authorizeOrg(policy.ReviewAlerts, ""); err != nil {
			return nil, err
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		var rows []store.Row
		if pendingOnly {
			rows, err = markedRows(tx, tk, kindLease, fieldLeaseReview, "pending")
		} else {
			rows, err = tx.ListKind(kindLease, "", maxRelated)
		}
		if err != nil {
			return nil, err
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].ID > rows[j].ID })
		for _, r := range rows {
			var l Lease
			if err := sealedrow.Open(tx, tk, r, &l); err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		return []touch{{kind: kindLease}}, nil
	})
	return out, err
}

// ReviewLease records the data-protection officer's review of a lease.
func (s *Service) ReviewLease(ctx context.Context, p haven.Principal, id string, justified bool, finding string) error {
	finding = strings.TrimSpace(finding)
	return s.access(ctx, p, ActionLeaseReview, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{kind: kindLease, recordID: id}}
		if err := f.authorizeOrg(policy.ReviewAlerts, ""); err != nil {
			return t, err
		}
		if finding == "" || len(finding) > haven.MaxLongField {
			return t, haven.Invalid("finding", "write what the review found (1 to %d characters)", haven.MaxLongField)
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		var l Lease
		v, err := sealedrow.Get(tx, tk, kindLease, id, &l)
		if err != nil {
			return t, err
		}
		t[0].personID = l.PersonID
		if !l.Reviewed.IsZero() {
			return t, fmt.Errorf("lease %s was reviewed by %s: %w", id, l.Reviewer, haven.ErrConflict)
		}
		if l.Account == p.ID {
			return t, &DeniedError{Reason: "a lease is reviewed by someone other than the person who opened it"}
		}
		l.Reviewed, l.Reviewer, l.Finding, l.Justified = f.now.UTC(), p.ID, finding, justified
		if _, err := sealedrow.Put(tx, tk, kindLease, id, v, &l, f.now); err != nil {
			return nil, err
		}
		return t, tx.SetIndex(kindLease, id, "", leaseIndex(tk, &l))
	})
}
