package care

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/store"
)

// Op is one write in a unit of work: a create or update of Record, or a
// delete of Kind/ID.
type Op struct {
	Method Method
	Record haven.Record // create, update
	Expect int64        // update: the version it replaces
	Kind   haven.Kind   // delete
	ID     string       // delete
	// IfNoneExist makes a create conditional (FHIR's If-None-Exist): it
	// is refused with ErrExists if a record of its kind that the principal
	// may see already carries this identifier: a person's NHS number, or
	// another record's identifier as system|value. The caller looked
	// before the unit; a create made meanwhile by another request is seen
	// only here, where units of a tenant are applied one at a time.
	IfNoneExist string
}

// Method is what an Op does.
type Method string

// The methods of an Op.
const (
	OpCreate Method = "create"
	OpUpdate Method = "update"
	OpDelete Method = "delete"
	// OpPut creates the record, or replaces it whatever its version, or
	// leaves it be when it already holds exactly this: how an import is
	// run again without making copies or new versions.
	OpPut Method = "put"
)

// Applied is the result of one Op: the record's new version and time.
type Applied struct {
	Kind    haven.Kind
	ID      string
	Version int64 // the deletion tombstone's version for a delete
	Meta    Meta
	// Created is set when a put created the record; Unchanged when it
	// found it already as given and wrote nothing.
	Created, Unchanged bool
}

// OpError says which Op of a unit refused, and why. It unwraps to the
// refusal (haven.ErrNotFound, haven.ErrConflict, a DeniedError, an
// InvalidError...).
type OpError struct {
	Index int
	Err   error
}

func (e *OpError) Error() string { return fmt.Sprintf("entry %d: %v", e.Index, e.Err) }
func (e *OpError) Unwrap() error { return e.Err }

// MaxOps bounds one unit of work: a transaction Bundle or one imported
// patient's record.
const MaxOps = 2000

// Apply runs ops as one unit: either every op is applied or none is.
// Every op is checked (validity, policy, existence, versions) before the
// first is written, so a refusal writes nothing but its audit entries: one
// per op, each with the unit's outcome. A person created by an earlier op
// of the unit may be the subject of later ones (a transaction Bundle that
// registers a patient with their conditions).
func (s *Service) Apply(ctx context.Context, p haven.Principal, ops []Op) ([]Applied, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	if len(ops) > MaxOps {
		return nil, haven.Invalid("entry", "%d writes in one unit; the limit is %d", len(ops), MaxOps)
	}
	now := s.Now().UTC()
	rows := make([]store.Row, len(ops))
	// Each record's JSON, encoded here rather than in the unit: the unit
	// runs on the store's single writer, which should only encrypt.
	plains := make([][]byte, len(ops))
	for i, op := range ops {
		switch op.Method {
		case OpCreate, OpUpdate, OpPut:
			if op.Record == nil {
				return nil, &OpError{i, haven.Invalid("record", "is required")}
			}
			if err := op.Record.Validate(); err != nil {
				return nil, &OpError{i, err}
			}
			plain, err := json.Marshal(op.Record)
			if err != nil {
				return nil, &OpError{i, fmt.Errorf("encode %s: %w", op.Record.Kind(), err)}
			}
			plains[i] = plain
			rows[i] = store.Row{Kind: op.Record.Kind(), ID: op.Record.RecordID(), PersonID: subjectOf(op.Record), Version: 1, Updated: now}
			if op.Method == OpUpdate {
				rows[i].Version = op.Expect + 1
			}
		case OpDelete:
			if op.Kind == haven.KindPerson {
				return nil, &OpError{i, haven.Invalid("kind", "people are erased, not deleted: use erase")}
			}
			rows[i] = store.Row{Kind: op.Kind, ID: op.ID}
		default:
			return nil, &OpError{i, haven.Invalid("method", "%q is not create, update or delete", op.Method)}
		}
	}
	out := make([]Applied, len(ops))
	action := ActionCreate
	if len(ops) == 1 {
		action = actionOf(ops[0].Method)
	} else {
		action = "apply"
	}
	err := s.access(ctx, p, action, func(tx store.Tx, f *facts) ([]touch, error) {
		t := make([]touch, len(ops))
		for i, op := range ops {
			t[i] = touch{kind: rows[i].Kind, recordID: rows[i].ID, personID: rows[i].PersonID, action: actionOf(op.Method)}
		}
		leases, olds, err := s.checkOps(tx, f, ops, rows, t)
		if err != nil {
			return t, err
		}
		for i, l := range leases {
			t[i].purpose = leasePurpose(l)
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		// Every op passed; now write them, in order.
		personKeys := map[string][]byte{}
		for i, op := range ops {
			r := &rows[i]
			if op.Method == OpDelete {
				if err := tx.Delete(r.Kind, r.ID); err != nil {
					return nil, err
				}
				out[i] = Applied{Kind: r.Kind, ID: r.ID, Version: r.Version + 1, Meta: Meta{Version: r.Version + 1, Updated: now.Format(metaTime)}}
				continue
			}
			create := op.Method == OpCreate || op.Method == OpPut && olds[i] == nil
			var personKey []byte
			switch {
			case r.Kind == haven.KindPerson && create:
				if personKey, err = tk.NewPersonKey(r.ID); err != nil {
					return nil, err
				}
				personKeys[r.ID] = personKey
			case r.PersonID != "":
				if personKey = personKeys[r.PersonID]; personKey == nil {
					if personKey, err = tx.PersonKey(r.PersonID); err != nil {
						return nil, err
					}
				}
			}
			if op.Method == OpPut && olds[i] != nil {
				old := olds[i]
				rec, err := s.open(tx.Tenant(), tk, sealed{row: *old, wrapped: personKey})
				if err != nil {
					return nil, err
				}
				if sameRecord(rec, plains[i]) {
					t[i].action = ActionRead
					out[i] = Applied{Kind: r.Kind, ID: r.ID, Version: old.Version, Meta: metaOf(*old), Unchanged: true}
					continue
				}
				r.Version = old.Version + 1
				t[i].action = ActionUpdate
			}
			if err := sealRow(tk, personKey, tx.Tenant(), r, plains[i]); err != nil {
				return nil, err
			}
			if create {
				err = tx.Insert(*r)
			} else {
				err = tx.Replace(*r)
			}
			if err != nil {
				return nil, err
			}
			if r.Kind == haven.KindPerson && create {
				if err := tx.PutPersonKey(r.ID, personKey); err != nil {
					return nil, err
				}
			}
			// A new record has no entries to replace (deleting or erasing
			// a record removes its entries, and a kept kind's id is never
			// reused), so one with none to add skips the statement.
			if entries := indexEntries(tk, op.Record); !create || len(entries) > 0 {
				if err := tx.SetIndex(r.Kind, r.ID, r.PersonID, entries); err != nil {
					return nil, err
				}
			}
			out[i] = Applied{Kind: r.Kind, ID: r.ID, Version: r.Version, Meta: metaOf(*r), Created: create}
		}
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// metaTime is how Meta.Updated is written.
const metaTime = "2006-01-02T15:04:05.000000Z07:00"

func actionOf(m Method) string {
	switch m {
	case OpUpdate:
		return ActionUpdate
	case OpDelete:
		return ActionDelete
	}
	return ActionCreate
}

// sameRecord reports whether a holds exactly what the JSON plain does.
func sameRecord(a haven.Record, plain []byte) bool {
	x, err := json.Marshal(a)
	return err == nil && bytes.Equal(x, plain)
}

// checkOps does every check that can refuse ops, writing nothing. It fills
// in the person of delete rows from the stored record, and returns the
// break-glass lease each write relied on and, for puts, the row each
// replaces (nil when it creates).
func (s *Service) checkOps(tx store.Tx, f *facts, ops []Op, rows []store.Row, t []touch) ([]string, []*store.Row, error) {
	leases := make([]string, len(ops))
	olds := make([]*store.Row, len(ops))
	created := map[string]bool{} // people created by earlier ops
	seen := map[string]bool{}    // records written by earlier ops
	// Every record the unit names, read in one go: the unit runs on the
	// store's single writer, and an import's unit names a hundred or so.
	// Nothing below writes, and no record is named twice, so what is read
	// here is what each op would find.
	keys := make([]store.RecordKey, len(rows))
	for i, r := range rows {
		keys[i] = store.RecordKey{Kind: r.Kind, ID: r.ID}
	}
	stored, err := tx.GetMany(keys)
	if err != nil {
		return nil, nil, err
	}
	get := func(r *store.Row) (store.Row, error) {
		if old, ok := stored[store.RecordKey{Kind: r.Kind, ID: r.ID}]; ok {
			return old, nil
		}
		return store.Row{}, fmt.Errorf("get %s: %w", r.Kind, haven.ErrNotFound)
	}
	for i, op := range ops {
		r := &rows[i]
		key := string(r.Kind) + "/" + r.ID
		if seen[key] {
			return nil, nil, &OpError{i, haven.Invalid("id", "%s %s is written twice in one unit", r.Kind, r.ID)}
		}
		seen[key] = true
		method := op.Method
		if method == OpPut {
			old, err := get(r)
			if err != nil {
				// Nothing stored: the put creates, unless the id was a
				// record's since deleted. Ids are never reused, and the
				// store's insert would refuse it only once earlier ops
				// of the unit were written; so it is refused here, where
				// a refusal still writes nothing. A put's ids come from
				// its source (an import), so they may be a deleted one's.
				deleted, err := wasDeleted(tx, r)
				if err != nil {
					return nil, nil, err
				}
				if deleted {
					return nil, nil, &OpError{i, fmt.Errorf("%s %s: %w", r.Kind, r.ID, ErrDeleted)}
				}
				method = OpCreate
			} else {
				olds[i] = &old
				if leases[i], err = f.authorizeReplace(old, op.Record, &t[i]); err != nil {
					return nil, nil, &OpError{i, err}
				}
				continue
			}
		}
		switch method {
		case OpCreate:
			if r.PersonID != "" && r.Kind != haven.KindPerson && !created[r.PersonID] {
				if _, err := tx.PersonKey(r.PersonID); err != nil {
					if errors.Is(err, haven.ErrNotFound) {
						return nil, nil, &OpError{i, haven.Invalid("personId", "no person %s in this organisation", r.PersonID)}
					}
					return nil, nil, err
				}
			}
			lease, err := f.authorizeWrite(op.Record)
			if err != nil {
				return nil, nil, &OpError{i, err}
			}
			leases[i] = lease
			if _, err := get(r); err == nil {
				return nil, nil, &OpError{i, fmt.Errorf("create %s %s: %w", r.Kind, r.ID, haven.ErrConflict)}
			}
			if op.IfNoneExist != "" {
				found, err := carries(tx, f, r.Kind, op.IfNoneExist)
				if err != nil {
					return nil, nil, err
				}
				if found {
					return nil, nil, &OpError{i, fmt.Errorf("create %s: %w", r.Kind, ErrExists)}
				}
			}
			if r.Kind == haven.KindPerson {
				created[r.ID] = true
			}
		case OpUpdate:
			old, err := get(r)
			if err != nil {
				return nil, nil, &OpError{i, err}
			}
			if leases[i], err = f.authorizeReplace(old, op.Record, &t[i]); err != nil {
				return nil, nil, &OpError{i, err}
			}
			if old.Version != op.Expect {
				return nil, nil, &OpError{i, fmt.Errorf("update %s %s: stored version is %d, not %d: %w", r.Kind, r.ID, old.Version, op.Expect, haven.ErrConflict)}
			}
		case OpDelete:
			old, err := get(r)
			if err != nil {
				return nil, nil, &OpError{i, err}
			}
			r.PersonID, r.Version = old.PersonID, old.Version
			t[i].personID = old.PersonID
			if orgKind(r.Kind) {
				err = f.authorizeOrg(policy.ManageStaff, "")
			} else {
				_, _, _, err = f.authorize(policy.DeleteRecord, old.PersonID, r.Kind)
			}
			if err != nil {
				return nil, nil, &OpError{i, err}
			}
		}
	}
	return leases, olds, nil
}

// ErrDeleted refuses a put under the id of a record since deleted. A
// deletion is not undone by writing the record again (importing the data
// it came from, for one): it may have been a request to erase it.
var ErrDeleted = fmt.Errorf("%w: the record was deleted, and a deleted record's id is never used again", haven.ErrConflict)

// wasDeleted reports whether r's id was a record's since deleted.
func wasDeleted(tx store.Tx, r *store.Row) (bool, error) {
	if !store.KeepsHistory(r.Kind) {
		return false, nil
	}
	versions, err := tx.History(r.Kind, r.ID, 1)
	if errors.Is(err, haven.ErrNotFound) {
		return false, nil
	}
	return err == nil && versions[0].Deleted, err
}

// ErrExists refuses a conditional create (Op.IfNoneExist) whose
// identifier a record already carries.
var ErrExists = fmt.Errorf("%w: a record with this identifier exists", haven.ErrConflict)

// carries reports whether a record of kind that the principal may see
// carries identifier (for a person, an NHS number), by the same blind
// index and the same policy as the searches a conditional create looks
// with (SearchFound, FindByIdentifier), so that what one finds the other
// does.
func carries(tx store.Tx, f *facts, kind haven.Kind, identifier string) (bool, error) {
	tk, err := f.key()
	if err != nil {
		return false, err
	}
	field, value, action := FieldIdentifier, identifier, policy.ReadRecord
	if kind == haven.KindPerson {
		field, value, action = fieldNHS, haven.NormalizeNHSNumber(identifier), policy.ListPeople
	}
	hits, err := tx.Lookup(field, tk.BlindIndex(field, value), maxIndexHits+1)
	if err != nil {
		return false, err
	}
	for _, h := range hits {
		if h.Kind != kind {
			continue
		}
		if orgKind(kind) {
			return true, nil
		}
		person := h.PersonID
		if kind == haven.KindPerson {
			person = h.ID
		}
		d, _, _, err := f.decide(action, person, kind, "")
		if err != nil || d.Allow {
			return d.Allow, err
		}
	}
	return false, nil
}

// authorizeReplace asks policy whether rec may replace the stored row old.
// A record cannot move to another person; the request is then judged by
// the record as stored, so that a refusal does not reveal whose it is.
func (f *facts) authorizeReplace(old store.Row, rec haven.Record, t *touch) (string, error) {
	if old.PersonID != subjectOf(rec) {
		t.personID = old.PersonID
		if _, _, _, err := f.authorize(policy.WriteRecord, old.PersonID, old.Kind); err != nil {
			return "", err
		}
		return "", haven.Invalid("personId", "a record cannot be moved to another person")
	}
	return f.authorizeWrite(rec)
}
