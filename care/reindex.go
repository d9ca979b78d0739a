package care

import (
	"context"
	"errors"
	"fmt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sealedrow"
)

// indexVersion names the set of blind indexes this version of Haven writes.
// Raise it when indexEntries changes, so that Reindex rebuilds the indexes
// of records written before.
const indexVersion = 3

const (
	kindIndexVersion = haven.Kind("index-version")
	indexVersionID   = "records"
)

// Reindex rebuilds the blind indexes of every tenant whose records were
// indexed by an older version of Haven (before the care-relationship
// indexes, a carer's caseload would look empty). It returns how many
// records were reindexed; tenants already current cost one read each.
func (s *Service) Reindex(ctx context.Context) (int, error) {
	tenants, err := s.st.Tenants(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tenants {
		if haven.ReservedTenantID(t.ID) {
			continue
		}
		p := haven.SystemPrincipal(t.ID, "index upgrade")
		err := s.st.Update(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
			tk, err := s.tenantKey(tx)
			if err != nil {
				return err
			}
			var v int
			ver, err := sealedrow.Get(tx, tk, kindIndexVersion, indexVersionID, &v)
			if err != nil && !errors.Is(err, haven.ErrNotFound) {
				return err
			}
			if v >= indexVersion {
				return nil
			}
			for _, kind := range []haven.Kind{haven.KindPerson, haven.KindCareTeam, haven.KindVisit, haven.KindStaff} {
				for after := ""; ; {
					rows, err := tx.ListKind(kind, after, 500)
					if err != nil {
						return err
					}
					for _, r := range rows {
						f := sealed{row: r}
						if r.PersonID != "" {
							if f.wrapped, err = tx.PersonKey(r.PersonID); err != nil {
								return err
							}
						}
						rec, err := s.open(t.ID, tk, f)
						if err != nil {
							return err
						}
						if err := tx.SetIndex(r.Kind, r.ID, r.PersonID, indexEntries(tk, rec)); err != nil {
							return err
						}
						n++
						after = r.ID
					}
					if len(rows) < 500 {
						break
					}
				}
			}
			_, err = sealedrow.Put(tx, tk, kindIndexVersion, indexVersionID, ver, indexVersion, s.Now())
			return err
		})
		if err != nil {
			return n, fmt.Errorf("reindex tenant %s: %w", t.ID, err)
		}
	}
	return n, nil
}
