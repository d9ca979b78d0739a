package care

import (
	"context"
	"fmt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// RotationReport says what a key rotation re-wrapped.
type RotationReport struct {
	Tenants    int
	PersonKeys int
}

// RotateTenantKeys gives every tenant's data keyset a new primary key and
// re-wraps every person key under it, one tenant per transaction. Old keys
// stay in the keyset, so data sealed before the rotation stays readable
// while the service keeps running. Call it after rotating the master key
// (seal.LocalKMS.Rotate) so that the tenant keysets are re-wrapped under
// the new master key too.
func (s *Service) RotateTenantKeys(ctx context.Context, progress func(tenant string, done int)) (RotationReport, error) {
	var rep RotationReport
	tenants, err := s.st.Tenants(ctx)
	if err != nil {
		return rep, err
	}
	for _, t := range tenants {
		p := haven.SystemPrincipal(t.ID, "key rotation")
		var n int
		err := s.access(ctx, p, ActionKeyRotate, func(tx store.Tx, f *facts) ([]touch, error) {
			if err := f.authorizeOrg(policy.ManageSettings, ""); err != nil {
				return nil, err
			}
			old, err := tx.TenantKeys()
			if err != nil {
				return nil, err
			}
			w := seal.WrappedTenantKeys{Data: old.Data, Index: old.Index}
			// Re-wrap under the newest master key, then add a tenant key.
			if w, err = s.keys.RewrapTenant(t.ID, w); err != nil {
				return nil, err
			}
			if w, err = s.keys.RotateTenant(t.ID, w); err != nil {
				return nil, err
			}
			tk, err := s.keys.Tenant(t.ID, w)
			if err != nil {
				return nil, err
			}
			n = 0
			err = tx.PersonKeys(func(personID string, wrapped []byte) error {
				nw, err := tk.RewrapPerson(personID, wrapped)
				if err != nil {
					return fmt.Errorf("re-wrap person key: %w", err)
				}
				n++
				if progress != nil && n%500 == 0 {
					progress(t.ID, n)
				}
				return tx.PutPersonKey(personID, nw)
			})
			if err != nil {
				return nil, err
			}
			return nil, tx.SetTenantKeys(store.TenantKeys{Data: w.Data, Index: w.Index})
		})
		if err != nil {
			return rep, fmt.Errorf("rotate keys of tenant %s: %w", t.ID, err)
		}
		if progress != nil {
			progress(t.ID, n)
		}
		rep.Tenants++
		rep.PersonKeys += n
	}
	return rep, nil
}
