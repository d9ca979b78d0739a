package care

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/havencare/haven"
	"github.com/havencare/haven/policy"
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

// sealRow encrypts plain, a record's JSON, as row r: under the person's key
// for records about a person, under the tenant key for tenant-level
// records. The JSON is encoded by the caller, before the unit of work, so
// that the single writer only encrypts.
func sealRow(tk *seal.TenantKey, personKey []byte, tenant string, r *store.Row, plain []byte) (err error) {
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

// readAction is the policy action for reading a record of kind k.
func readPolicy(k haven.Kind) policy.Action {
	switch haven.PolicyKind(k) {
	case haven.KindHomeAccess:
		return policy.RevealHomeAccess
	case haven.KindStaff:
		return policy.ListStaff
	}
	return policy.ReadRecord
}

// authorizeWrite asks policy whether p may write rec. Staff records are
// the organisation's (manage-staff); everything else is about a person. A
// coordinator or clinician registering a person, or filing a care team, in
// their own service is judged as in that service.
func (f *facts) authorizeWrite(rec haven.Record) (string, error) {
	if orgKind(rec.Kind()) {
		return "", f.authorizeOrg(policy.ManageStaff, "")
	}
	if f.p.Role == haven.RoleCoordinator || f.p.Role == haven.RoleClinician {
		svc, err := f.myService()
		if err != nil {
			return "", err
		}
		switch r := rec.(type) {
		case *haven.Person:
			if _, err := f.tx.Get(haven.KindPerson, r.ID); errors.Is(err, haven.ErrNotFound) {
				f.newInService = svc != ""
			}
		case *haven.CareTeam:
			// Only a person no service has taken on yet (a new referral)
			// can be filed into one's own service; anyone already in a
			// service is reached through that relationship or not at all,
			// so a care team cannot be used to claim someone.
			if svc != "" && r.Service == svc {
				teams, err := f.tx.ListPerson(r.PersonID, haven.KindCareTeam)
				if err != nil {
					return "", err
				}
				f.newInService = len(teams) == 0
			}
		}
	}
	_, lease, _, err := f.authorize(policy.WriteRecord, rec.Subject(), rec.Kind())
	return lease, err
}

// leasePurpose is the audit purpose of an access made through a lease.
func leasePurpose(lease string) string {
	if lease == "" {
		return ""
	}
	return "break-glass lease " + lease
}

// Create stores a new record and returns its version (1).
func (s *Service) Create(ctx context.Context, p haven.Principal, rec haven.Record) (int64, error) {
	res, err := s.Apply(ctx, p, []Op{{Method: OpCreate, Record: rec}})
	if err != nil {
		return 0, unwrapOp(err)
	}
	return res[0].Version, nil
}

// Update replaces a record whose stored version is expect, and returns the
// new version. A record cannot move to another person.
func (s *Service) Update(ctx context.Context, p haven.Principal, rec haven.Record, expect int64) (int64, error) {
	res, err := s.Apply(ctx, p, []Op{{Method: OpUpdate, Record: rec, Expect: expect}})
	if err != nil {
		return 0, unwrapOp(err)
	}
	return res[0].Version, nil
}

// unwrapOp returns a single op's refusal as it is, without the entry
// number only a unit of many ops needs.
func unwrapOp(err error) error {
	var oe *OpError
	if errors.As(err, &oe) {
		return oe.Err
	}
	return err
}

// Get reads one record. Reading home-access details is a reveal, under its
// own rule; staff records are the organisation's.
func (s *Service) Get(ctx context.Context, p haven.Principal, kind haven.Kind, id string) (haven.Record, Meta, error) {
	var f0 sealed
	var tk *seal.TenantKey
	err := s.view(ctx, p, actionFor(kind), func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{kind: kind, recordID: id}}
		if !knownKind(kind) {
			return t, haven.Invalid("kind", "%q is not a kind of record", kind)
		}
		row, err := tx.Get(kind, id)
		if err != nil {
			return t, err
		}
		t[0].personID = row.PersonID
		if orgKind(kind) {
			if err := f.authorizeStaff(policy.ReadStaff, kind); err != nil {
				return t, err
			}
		} else {
			_, lease, visit, err := f.authorize(readPolicy(kind), row.PersonID, kind)
			if err != nil {
				return t, err
			}
			t[0].purpose = leasePurpose(lease)
			if visit != "" {
				t[0].purpose = "visit " + visit
			}
			f.read(row.PersonID)
		}
		f0 = sealed{row: row}
		if row.PersonID != "" {
			if f0.wrapped, err = tx.PersonKey(row.PersonID); err != nil {
				return nil, err
			}
		}
		if tk, err = f.key(); err != nil {
			return nil, err
		}
		return t, nil
	})
	if err != nil {
		return nil, Meta{}, err
	}
	rec, err := s.open(haven.ScopeOf(p).Tenant(), tk, f0)
	if err != nil {
		return nil, Meta{}, err
	}
	return rec, metaOf(f0.row), nil
}

// orgKind reports whether records of kind k belong to the organisation
// rather than to a person: staff, and the directory resources (external
// practitioners, organisations) judged like staff.
func orgKind(k haven.Kind) bool { return haven.PolicyKind(k) == haven.KindStaff }

// knownKind reports whether k is a kind the record service keeps. The
// identity service and the controls share the table; their rows are never
// reachable through record calls.
func knownKind(k haven.Kind) bool {
	_, ok := haven.New(k)
	return ok
}

func metaOf(r store.Row) Meta {
	return Meta{Version: r.Version, Updated: r.Updated.Format(metaTime)}
}

// Delete removes one record. People are not deleted but erased (Erase).
func (s *Service) Delete(ctx context.Context, p haven.Principal, kind haven.Kind, id string) error {
	if !knownKind(kind) {
		return haven.Invalid("kind", "%q is not a kind of record", kind)
	}
	_, err := s.Apply(ctx, p, []Op{{Method: OpDelete, Kind: kind, ID: id}})
	return unwrapOp(err)
}

// MaxListResults bounds one page of List.
const MaxListResults = 100

// List reads up to limit records of one kind with ids after after, of the
// people the principal may see. Carers, nurses, clinicians and
// coordinators list by relationship (their caseload or service), so a list
// never walks the whole organisation for them; API clients, supplier
// support under a grant and Haven itself list the tenant. Policy decides
// every record; refused ones are left out. Each record returned is one
// audit entry.
func (s *Service) List(ctx context.Context, p haven.Principal, kind haven.Kind, after string, limit int) ([]haven.Record, error) {
	found, err := s.ListFound(ctx, p, kind, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]haven.Record, len(found))
	for i, f := range found {
		out[i] = f.Record
	}
	return out, nil
}

// ListFound is List with each record's version and time.
func (s *Service) ListFound(ctx context.Context, p haven.Principal, kind haven.Kind, after string, limit int) ([]Found, error) {
	found, _, err := s.ListPage(ctx, p, kind, after, limit)
	return found, err
}

// ListPage is ListFound for paging: it also returns the id of the last
// record it read, returned or refused, which the next page starts after,
// or "" when no record is left. A page whose records policy all refused
// is empty and still moves on.
func (s *Service) ListPage(ctx context.Context, p haven.Principal, kind haven.Kind, after string, limit int) ([]Found, string, error) {
	var fs []sealed
	var last string
	var tk *seal.TenantKey
	if limit <= 0 || limit > MaxListResults {
		limit = MaxListResults
	}
	action := actionFor(kind)
	if kind == haven.KindPerson {
		action = ActionList
	}
	err := s.view(ctx, p, action, func(tx store.Tx, f *facts) ([]touch, error) {
		if !knownKind(kind) {
			return nil, haven.Invalid("kind", "%q is not a kind of record", kind)
		}
		var err error
		if tk, err = f.key(); err != nil {
			return nil, err
		}
		if orgKind(kind) {
			if err := f.authorizeStaff(policy.ListStaff, kind); err != nil {
				return nil, err
			}
		}
		rows, err := s.listRows(tx, f, kind, after, limit)
		if err != nil {
			return nil, err
		}
		if len(rows) == limit {
			last = rows[len(rows)-1].ID
		}
		ts := make([]touch, 0, len(rows))
		fs = make([]sealed, 0, len(rows))
		for _, r := range rows {
			if !orgKind(kind) {
				a := readPolicy(kind)
				if kind == haven.KindPerson {
					a = policy.ListPeople
				}
				d, _, _, err := f.decide(a, r.PersonID, kind, "")
				if err != nil {
					return nil, err
				}
				if !d.Allow {
					continue
				}
				f.read(r.PersonID)
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
		return nil, "", err
	}
	found, err := s.openAll(p, tk, fs)
	return found, last, err
}

// listRows fetches the candidate rows of a listing: the whole kind for
// tenant-wide readers and staff records, the related people's rows for
// everyone else.
func (s *Service) listRows(tx store.Tx, f *facts, kind haven.Kind, after string, limit int) ([]store.Row, error) {
	if tenantRead(f.p.Role) || orgKind(kind) {
		return tx.ListKind(kind, after, limit)
	}
	people, err := f.candidates()
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(people))
	for id := range people {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var rows []store.Row
	for _, id := range ids {
		if kind == haven.KindPerson {
			if id <= after {
				continue
			}
			r, err := tx.Get(haven.KindPerson, id)
			if errors.Is(err, haven.ErrNotFound) {
				continue // erased since the index was read
			} else if err != nil {
				return nil, err
			}
			rows = append(rows, r)
		} else {
			rs, err := tx.ListPerson(id, kind)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				if r.ID > after {
					rows = append(rows, r)
				}
			}
		}
		if kind == haven.KindPerson && len(rows) == limit {
			break
		}
	}
	if kind != haven.KindPerson {
		sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
		if len(rows) > limit {
			rows = rows[:limit]
		}
	}
	return rows, nil
}

// NewID returns a new record id: a random (version 4) UUID, which tells
// nothing about the record and cannot be guessed from its neighbours.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Found is a record as read, with its version and time.
type Found struct {
	Record haven.Record
	Meta   Meta
}

// openAll decrypts fetched rows after their unit committed.
func (s *Service) openAll(p haven.Principal, tk *seal.TenantKey, fs []sealed) ([]Found, error) {
	out := make([]Found, 0, len(fs))
	for _, f := range fs {
		rec, err := s.open(haven.ScopeOf(p).Tenant(), tk, f)
		if err != nil {
			return nil, err
		}
		out = append(out, Found{Record: rec, Meta: metaOf(f.row)})
	}
	return out, nil
}

// withKey pairs a fetched row with the wrapped key of its person, if any,
// so it can be opened after the unit commits.
func withKey(tx store.Tx, r store.Row) (sealed, error) {
	fl := sealed{row: r}
	if r.PersonID != "" {
		var err error
		if fl.wrapped, err = tx.PersonKey(r.PersonID); err != nil {
			return sealed{}, err
		}
	}
	return fl, nil
}
