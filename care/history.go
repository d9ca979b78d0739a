package care

import (
	"context"

	"github.com/havencare/haven"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// Version is one version of a record: Found with the record nil and
// Deleted set for the version at which it was deleted.
type Version struct {
	Found
	Deleted bool
}

// History reads up to limit versions of one record, newest first, under
// the same rules as reading it: who may read a record may read what it
// said before. A deleted record's history is still the person's record:
// it is judged by the person the versions are about. One audit entry.
func (s *Service) History(ctx context.Context, p haven.Principal, kind haven.Kind, id string, limit int) ([]Version, error) {
	if limit <= 0 || limit > MaxListResults {
		limit = MaxListResults
	}
	return s.versions(ctx, p, kind, id, func(tx store.Tx) ([]store.Row, error) { return tx.History(kind, id, limit) })
}

// VersionOf reads one version of a record (FHIR vread).
func (s *Service) VersionOf(ctx context.Context, p haven.Principal, kind haven.Kind, id string, version int64) (Version, error) {
	vs, err := s.versions(ctx, p, kind, id, func(tx store.Tx) ([]store.Row, error) {
		r, err := tx.Version(kind, id, version)
		return []store.Row{r}, err
	})
	if err != nil {
		return Version{}, err
	}
	return vs[0], nil
}

func (s *Service) versions(ctx context.Context, p haven.Principal, kind haven.Kind, id string, fetch func(store.Tx) ([]store.Row, error)) ([]Version, error) {
	var rows []store.Row
	var wrapped []byte
	var tk *seal.TenantKey
	err := s.view(ctx, p, actionFor(kind), func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{kind: kind, recordID: id}}
		if !knownKind(kind) {
			return t, haven.Invalid("kind", "%q is not a kind of record", kind)
		}
		var err error
		if rows, err = fetch(tx); err != nil {
			return t, err
		}
		if len(rows) == 0 {
			return t, haven.ErrNotFound
		}
		person := rows[0].PersonID
		t[0].personID = person
		if orgKind(kind) {
			if err := f.authorizeStaff(policy.ReadStaff, kind); err != nil {
				return t, err
			}
		} else {
			_, lease, _, err := f.authorize(readPolicy(kind), person, kind)
			if err != nil {
				return t, err
			}
			t[0].purpose = leasePurpose(lease)
			f.read(person)
		}
		if person != "" {
			if wrapped, err = tx.PersonKey(person); err != nil {
				return nil, err
			}
		}
		tk, err = f.key()
		return t, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(rows))
	for _, r := range rows {
		v := Version{Found: Found{Meta: metaOf(r)}, Deleted: r.Deleted}
		if !r.Deleted {
			rec, err := s.open(haven.ScopeOf(p).Tenant(), tk, sealed{row: r, wrapped: wrapped})
			if err != nil {
				return nil, err
			}
			v.Record = rec
		}
		out = append(out, v)
	}
	return out, nil
}
