package care

import (
	"context"
	"sort"

	"github.com/havencare/haven"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// Compartment reads a person's records of the given kinds, or of every
// kind when none are given (their whole record for a subject access
// request or a FHIR $everything), the person's own record first. Home
// access is never part of it. Policy decides each kind, as for
// PersonRecord; kinds the principal may not read are left out. It is one
// audit entry, on the person: their record was read.
func (s *Service) Compartment(ctx context.Context, p haven.Principal, personID string, kinds ...haven.Kind) ([]Found, error) {
	var rows []store.Row
	var wrapped []byte
	var tk *seal.TenantKey
	t := []touch{{kind: haven.KindPerson, recordID: personID, personID: personID}}
	err := s.view(ctx, p, ActionRead, func(tx store.Tx, f *facts) ([]touch, error) {
		var err error
		if wrapped, err = tx.PersonKey(personID); err != nil {
			return t, err
		}
		_, lease, _, err := f.authorize(policy.ReadRecord, personID, haven.KindPerson)
		if err != nil {
			return t, err
		}
		t[0].purpose = leasePurpose(lease)
		f.read(personID)
		all, err := tx.ListPerson(personID, kinds...)
		if err != nil {
			return nil, err
		}
		allowed := map[haven.Kind]bool{}
		for _, r := range all {
			if r.Kind == haven.KindHomeAccess {
				continue
			}
			ok, seen := allowed[r.Kind]
			if !seen {
				d, _, _, err := f.decide(policy.ReadRecord, personID, r.Kind, "")
				if err != nil {
					return nil, err
				}
				ok = d.Allow
				allowed[r.Kind] = ok
			}
			if ok {
				rows = append(rows, r)
			}
		}
		if !hasPerson(rows) && (len(kinds) == 0 || kinds[0] == haven.KindPerson) {
			return t, haven.ErrNotFound
		}
		tk, err = f.key()
		return t, err
	})
	if err != nil {
		return nil, err
	}
	// The person first, then by kind and id as the store lists them.
	sort.SliceStable(rows, func(i, j int) bool {
		return rows[i].Kind == haven.KindPerson && rows[j].Kind != haven.KindPerson
	})
	fs := make([]sealed, len(rows))
	for i, r := range rows {
		fs[i] = sealed{row: r, wrapped: wrapped}
	}
	return s.openAll(p, tk, fs)
}

// FindByIdentifier finds records of kind whose business identifier
// (system|value) is exactly identifier, through the blind index, of the
// people the principal may see: up to limit of those whose id sorts after
// after, in id order, and whether more match. Each match is an audit entry.
func (s *Service) FindByIdentifier(ctx context.Context, p haven.Principal, kind haven.Kind, identifier, after string, limit int) ([]Found, bool, error) {
	if limit <= 0 || limit > MaxSearchResults {
		limit = MaxSearchResults
	}
	var fs []sealed
	var more bool
	var tk *seal.TenantKey
	err := s.view(ctx, p, ActionSearch, func(tx store.Tx, f *facts) ([]touch, error) {
		var err error
		if tk, err = f.key(); err != nil {
			return nil, err
		}
		if orgKind(kind) {
			if err := f.authorizeStaff(policy.ListStaff, kind); err != nil {
				return nil, err
			}
		}
		hits, err := tx.Lookup(FieldIdentifier, tk.BlindIndex(FieldIdentifier, identifier), maxIndexHits+1)
		if err != nil {
			return nil, err
		}
		if len(hits) > maxIndexHits {
			return nil, haven.Invalid("identifier", "too many records carry this identifier to page through them")
		}
		var ts []touch
		for _, h := range hits {
			if h.Kind != kind || h.ID <= after {
				continue
			}
			if !orgKind(kind) {
				d, _, _, err := f.decide(policy.ReadRecord, h.PersonID, kind, "")
				if err != nil {
					return nil, err
				}
				if !d.Allow {
					continue
				}
			}
			if len(fs) == limit {
				more = true
				break
			}
			if !orgKind(kind) {
				f.read(h.PersonID)
			}
			r, err := tx.Get(h.Kind, h.ID)
			if err != nil {
				return nil, err
			}
			fl, err := withKey(tx, r)
			if err != nil {
				return nil, err
			}
			fs = append(fs, fl)
			ts = append(ts, touch{kind: r.Kind, recordID: r.ID, personID: r.PersonID})
		}
		return ts, nil
	})
	if err != nil {
		return nil, false, err
	}
	found, err := s.openAll(p, tk, fs)
	return found, more, err
}
