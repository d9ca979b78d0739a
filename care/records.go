package care

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// Meta is what the store knows about a record besides its sealed content.
type Meta struct {
	Version int64
	Updated string // RFC 3339
}

// sealed is a row fetched inside a transaction, with the wrapped person key
// needed to open it after the transaction commits.
type sealed struct {
	row     store.Row
	wrapped []byte // person key; nil for tenant-level records
}

// binding is the associated data a row's ciphertext is bound to: moving a
// ciphertext to another tenant, kind, id or version makes it fail to open.
func binding(tenant string, r store.Row) seal.Binding {
	return seal.Binding{Tenant: tenant, Kind: string(r.Kind), ID: r.ID, Version: r.Version}
}

// seal encrypts rec as row r: under the person's key for records about a
// person, under the tenant key for tenant-level records.
func sealRow(tk *seal.TenantKey, personKey []byte, tenant string, r *store.Row, rec haven.Record) error {
	plain, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode %s: %w", r.Kind, err)
	}
	b := binding(tenant, *r)
	if r.PersonID == "" {
		r.Sealed, err = tk.Seal(b, plain)
		return err
	}
	pk, err := tk.Person(r.PersonID, personKey)
	if err != nil {
		return err
	}
	r.Sealed, err = pk.Seal(b, plain)
	return err
}

// open decrypts and decodes a fetched row.
func (s *Service) open(tenant string, tk *seal.TenantKey, f sealed) (haven.Record, error) {
	var plain []byte
	var err error
	b := binding(tenant, f.row)
	if f.row.PersonID == "" {
		plain, err = tk.Open(b, f.row.Sealed)
	} else {
		var pk *seal.PersonKey
		if pk, err = tk.Person(f.row.PersonID, f.wrapped); err == nil {
			plain, err = pk.Open(b, f.row.Sealed)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s %s: %w", f.row.Kind, f.row.ID, err)
	}
	rec, ok := haven.New(f.row.Kind)
	if !ok {
		return nil, fmt.Errorf("open: unknown kind %q", f.row.Kind)
	}
	if err := json.Unmarshal(plain, rec); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", f.row.Kind, f.row.ID, err)
	}
	return rec, nil
}

// subjectOf is the person_id column for a record: a person's own row is
// filed under the person, so erasure and listing find it with the rest.
func subjectOf(rec haven.Record) string {
	return rec.Subject()
}

// actionFor names the audit action for reading a kind: opening home-access
// details is a reveal, which reviewers look for separately.
func actionFor(k haven.Kind) string {
	if k == haven.KindHomeAccess {
		return ActionReveal
	}
	return ActionRead
}

// Create stores a new record and returns its version (1).
func (s *Service) Create(ctx context.Context, p haven.Principal, rec haven.Record) (int64, error) {
	if err := rec.Validate(); err != nil {
		return 0, err
	}
	row := store.Row{Kind: rec.Kind(), ID: rec.RecordID(), PersonID: subjectOf(rec), Version: 1, Updated: s.Now().UTC()}
	err := s.access(ctx, p, ActionCreate, func(tx store.Tx) ([]touch, error) {
		t := []touch{{row.Kind, row.ID, row.PersonID}}
		tk, err := s.tenantKey(tx)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Get(row.Kind, row.ID); err == nil {
			return t, fmt.Errorf("create %s %s: %w", row.Kind, row.ID, haven.ErrConflict)
		}
		var personKey []byte
		switch {
		case rec.Kind() == haven.KindPerson:
			if personKey, err = tk.NewPersonKey(row.ID); err != nil {
				return nil, err
			}
		case row.PersonID != "":
			if personKey, err = tx.PersonKey(row.PersonID); err != nil {
				return t, haven.Invalid("personId", "no person %s in this organisation", row.PersonID)
			}
		}
		if err := sealRow(tk, personKey, tx.Tenant(), &row, rec); err != nil {
			return nil, err
		}
		if err := tx.Insert(row); err != nil {
			return t, err
		}
		if rec.Kind() == haven.KindPerson {
			if err := tx.PutPersonKey(row.ID, personKey); err != nil {
				return nil, err
			}
		}
		return t, tx.SetIndex(row.Kind, row.ID, row.PersonID, indexEntries(tk, rec))
	})
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// Update replaces a record whose stored version is expect, and returns the
// new version. A record cannot move to another person.
func (s *Service) Update(ctx context.Context, p haven.Principal, rec haven.Record, expect int64) (int64, error) {
	if err := rec.Validate(); err != nil {
		return 0, err
	}
	row := store.Row{Kind: rec.Kind(), ID: rec.RecordID(), PersonID: subjectOf(rec), Version: expect + 1, Updated: s.Now().UTC()}
	err := s.access(ctx, p, ActionUpdate, func(tx store.Tx) ([]touch, error) {
		t := []touch{{row.Kind, row.ID, row.PersonID}}
		old, err := tx.Get(row.Kind, row.ID)
		if err != nil {
			return t, err
		}
		if old.PersonID != row.PersonID {
			return t, haven.Invalid("personId", "a record cannot be moved to another person")
		}
		if old.Version != expect {
			return t, fmt.Errorf("update %s %s: stored version is %d, not %d: %w", row.Kind, row.ID, old.Version, expect, haven.ErrConflict)
		}
		tk, err := s.tenantKey(tx)
		if err != nil {
			return nil, err
		}
		var personKey []byte
		if row.PersonID != "" {
			if personKey, err = tx.PersonKey(row.PersonID); err != nil {
				return nil, err
			}
		}
		if err := sealRow(tk, personKey, tx.Tenant(), &row, rec); err != nil {
			return nil, err
		}
		if err := tx.Replace(row); err != nil {
			return t, err
		}
		return t, tx.SetIndex(row.Kind, row.ID, row.PersonID, indexEntries(tk, rec))
	})
	if err != nil {
		return 0, err
	}
	return row.Version, nil
}

// Get reads one record. Reading home-access details is audited as a reveal.
func (s *Service) Get(ctx context.Context, p haven.Principal, kind haven.Kind, id string) (haven.Record, Meta, error) {
	var f sealed
	var tk *seal.TenantKey
	err := s.access(ctx, p, actionFor(kind), func(tx store.Tx) ([]touch, error) {
		row, err := tx.Get(kind, id)
		if err != nil {
			return []touch{{kind, id, ""}}, err
		}
		f = sealed{row: row}
		if row.PersonID != "" {
			if f.wrapped, err = tx.PersonKey(row.PersonID); err != nil {
				return nil, err
			}
		}
		if tk, err = s.tenantKey(tx); err != nil {
			return nil, err
		}
		return []touch{{kind, id, row.PersonID}}, nil
	})
	if err != nil {
		return nil, Meta{}, err
	}
	rec, err := s.open(p.TenantID, tk, f)
	if err != nil {
		return nil, Meta{}, err
	}
	return rec, metaOf(f.row), nil
}

func metaOf(r store.Row) Meta {
	return Meta{Version: r.Version, Updated: r.Updated.Format("2006-01-02T15:04:05.000000Z07:00")}
}

// Delete removes one record. People are not deleted but erased (Erase).
func (s *Service) Delete(ctx context.Context, p haven.Principal, kind haven.Kind, id string) error {
	if kind == haven.KindPerson {
		return haven.Invalid("kind", "people are erased, not deleted: use erase")
	}
	return s.access(ctx, p, ActionDelete, func(tx store.Tx) ([]touch, error) {
		row, err := tx.Get(kind, id)
		if err != nil {
			return []touch{{kind, id, ""}}, err
		}
		return []touch{{kind, id, row.PersonID}}, tx.Delete(kind, id)
	})
}

// MaxListResults bounds one page of List.
const MaxListResults = 100

// List reads up to limit records of one kind with ids after after. Each
// record read is one audit entry.
func (s *Service) List(ctx context.Context, p haven.Principal, kind haven.Kind, after string, limit int) ([]haven.Record, error) {
	var fs []sealed
	var tk *seal.TenantKey
	if limit <= 0 || limit > MaxListResults {
		limit = MaxListResults
	}
	err := s.access(ctx, p, actionFor(kind), func(tx store.Tx) ([]touch, error) {
		rows, err := tx.ListKind(kind, after, limit)
		if err != nil {
			return nil, err
		}
		if tk, err = s.tenantKey(tx); err != nil {
			return nil, err
		}
		ts := make([]touch, 0, len(rows))
		fs = make([]sealed, 0, len(rows))
		for _, r := range rows {
			f := sealed{row: r}
			if r.PersonID != "" {
				if f.wrapped, err = tx.PersonKey(r.PersonID); err != nil {
					return nil, err
				}
			}
			fs = append(fs, f)
			ts = append(ts, touch{r.Kind, r.ID, r.PersonID})
		}
		return ts, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]haven.Record, 0, len(fs))
	for _, f := range fs {
		rec, err := s.open(p.TenantID, tk, f)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}
