package care

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/havencare/haven"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// Blind-index fields. Each is an HMAC of a normalised value under the
// tenant's index key, so equal values match within one tenant only.
const (
	fieldNHS    = "person.nhs"
	fieldFamily = "person.family"
	fieldGiven  = "person.given" // each given name on its own
	fieldBirth  = "person.birth"
	fieldPhone  = "person.phone"
	fieldEmail  = "staff.email"
	// FieldIdentifier indexes the business identifiers (system|value) of
	// FHIR resources Haven keeps whole.
	FieldIdentifier = "resource.identifier"
)

// indexEntries computes the blind-index rows of a record.
func indexEntries(tk *seal.TenantKey, rec haven.Record) []store.IndexEntry {
	var out []store.IndexEntry
	add := func(field, v string) {
		if v != "" {
			out = append(out, store.IndexEntry{Field: field, Digest: tk.BlindIndex(field, v)})
		}
	}
	switch r := rec.(type) {
	case *haven.Person:
		add(fieldNHS, haven.NormalizeNHSNumber(r.NHSNumber))
		add(fieldFamily, haven.NormalizeName(r.Family))
		for _, g := range strings.Fields(r.Given) {
			add(fieldGiven, haven.NormalizeName(g))
		}
		add(fieldBirth, r.BirthDate.String())
		add(fieldPhone, haven.NormalizePhone(r.Phone))
	case *haven.Staff:
		add(fieldEmail, haven.NormalizeName(r.Email))
	case *haven.Resource:
		for _, id := range r.Identifiers {
			add(FieldIdentifier, id)
		}
	}
	return append(out, relationshipEntries(tk, rec)...)
}

// Query is an exact-match search for people. Every field given must match.
type Query struct {
	NHSNumber string
	Family    string
	Given     string // one given name
	Name      string // a family or a given name
	BirthDate string // YYYY-MM-DD
	Phone     string
	After     string // only people whose id sorts after this: the next page
	Limit     int    // at most MaxSearchResults
}

// MaxSearchResults bounds one page of a search: wide result sets are how
// bulk theft looks, and a search is not a way to list the organisation.
const MaxSearchResults = 50

// maxIndexHits bounds how many blind-index entries one term of a search
// reads. A term matching more cannot be paged through honestly (the store
// reads the first entries only), so it is only checked on the people the
// other terms find, each at most maxIndexHits; a search with no such other
// term is refused and the caller asked for a narrower one.
const maxIndexHits = 10 * MaxSearchResults

// PersonRecord reads a person's whole record except home-access details.
// It is one audit entry: the person's record was read.
func (s *Service) PersonRecord(ctx context.Context, p haven.Principal, personID string) (haven.PersonRecord, error) {
	// The whole record holds only the kinds policy lets p read: a
	// coordinator's "whole record" is the scheduling part of it.
	found, err := s.Compartment(ctx, p, personID, append([]haven.Kind{haven.KindPerson}, haven.PersonKinds...)...)
	if err != nil {
		return haven.PersonRecord{}, err
	}
	var pr haven.PersonRecord
	for _, f := range found {
		switch v := f.Record.(type) {
		case *haven.Person:
			pr.Person = *v
		case *haven.Condition:
			pr.Conditions = append(pr.Conditions, *v)
		case *haven.Allergy:
			pr.Allergies = append(pr.Allergies, *v)
		case *haven.Medication:
			pr.Medications = append(pr.Medications, *v)
		case *haven.Observation:
			pr.Observations = append(pr.Observations, *v)
		case *haven.Note:
			pr.Notes = append(pr.Notes, *v)
		case *haven.CarePlan:
			pr.CarePlans = append(pr.CarePlans, *v)
		case *haven.CareTeam:
			pr.CareTeams = append(pr.CareTeams, *v)
		case *haven.Visit:
			pr.Visits = append(pr.Visits, *v)
		}
	}
	return pr, nil
}

// HomeAccess reveals how to get into a person's home: key-safe codes and
// entry instructions. Only the member of staff assigned to a visit to the
// person, inside the visit's window and stepped up, gets them (policy); each
// call is one "reveal" audit entry naming the visit, whether or not the
// person has such details, and every refusal outside the window alerts.
func (s *Service) HomeAccess(ctx context.Context, p haven.Principal, personID string) ([]haven.HomeAccess, error) {
	var rows []store.Row
	var wrapped []byte
	var tk *seal.TenantKey
	t := []touch{{kind: haven.KindHomeAccess, personID: personID}}
	err := s.view(ctx, p, ActionReveal, func(tx store.Tx, f *facts) ([]touch, error) {
		var err error
		if wrapped, err = tx.PersonKey(personID); err != nil {
			return t, err
		}
		_, _, visit, err := f.authorize(policy.RevealHomeAccess, personID, haven.KindHomeAccess)
		if err != nil {
			return t, err
		}
		t[0].purpose = "visit " + visit
		f.read(personID)
		if rows, err = tx.ListPerson(personID, haven.KindHomeAccess); err != nil {
			return nil, err
		}
		tk, err = f.key()
		return t, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]haven.HomeAccess, 0, len(rows))
	for _, r := range rows {
		rec, err := s.open(haven.ScopeOf(p).Tenant(), tk, sealed{row: r, wrapped: wrapped})
		if err != nil {
			return nil, err
		}
		out = append(out, *rec.(*haven.HomeAccess))
	}
	return out, nil
}

func hasPerson(rows []store.Row) bool {
	for _, r := range rows {
		if r.Kind == haven.KindPerson {
			return true
		}
	}
	return false
}

// Search finds people by exact NHS number, family name, birth date or
// phone number through the blind indexes. Each person returned is one audit
// entry; a search that finds nobody is one entry too. The search terms are
// not recorded: they are personal data.
func (s *Service) Search(ctx context.Context, p haven.Principal, q Query) ([]haven.Person, error) {
	found, _, err := s.SearchFound(ctx, p, q)
	if err != nil {
		return nil, err
	}
	out := make([]haven.Person, len(found))
	for i, f := range found {
		out[i] = *f.Record.(*haven.Person)
	}
	return out, nil
}

// SearchFound is Search with each person's version and time, in id order,
// and whether more people match after the last one returned (the next page
// starts after it: Query.After).
func (s *Service) SearchFound(ctx context.Context, p haven.Principal, q Query) ([]Found, bool, error) {
	// A term matches when any of its fields does (name: family or given).
	type term struct {
		fields []string
		value  string
	}
	var terms []term
	if q.NHSNumber != "" {
		terms = append(terms, term{[]string{fieldNHS}, haven.NormalizeNHSNumber(q.NHSNumber)})
	}
	if q.Family != "" {
		terms = append(terms, term{[]string{fieldFamily}, haven.NormalizeName(q.Family)})
	}
	if q.Given != "" {
		terms = append(terms, term{[]string{fieldGiven}, haven.NormalizeName(q.Given)})
	}
	if q.Name != "" {
		terms = append(terms, term{[]string{fieldFamily, fieldGiven}, haven.NormalizeName(q.Name)})
	}
	if q.BirthDate != "" {
		d, err := haven.ParseDate(q.BirthDate)
		if err != nil {
			return nil, false, haven.Invalid("birthDate", "%v", err)
		}
		terms = append(terms, term{[]string{fieldBirth}, d.String()})
	}
	if q.Phone != "" {
		terms = append(terms, term{[]string{fieldPhone}, haven.NormalizePhone(q.Phone)})
	}
	if len(terms) == 0 {
		return nil, false, haven.Invalid("", "give at least one of NHS number, name, birth date or phone")
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxSearchResults {
		limit = MaxSearchResults
	}
	var found []sealed
	var more bool
	var tk *seal.TenantKey
	err := s.view(ctx, p, ActionSearch, func(tx store.Tx, f *facts) ([]touch, error) {
		var err error
		if tk, err = f.key(); err != nil {
			return nil, err
		}
		if !tenantRead(p.Role) {
			// Load the caseload once, so that deciding each match is a
			// map lookup, not a query.
			if _, err := f.candidates(); err != nil {
				return nil, err
			}
		}
		// Intersect the matches of every term, by person. A term matching
		// more than a search reads (a common family name) cannot list its
		// people, but it can still be asked of each person the other terms
		// found; only a search whose every term is that common is refused.
		hitsOf := func(t term) ([]store.IndexHit, bool, error) {
			var hits []store.IndexHit
			for _, field := range t.fields {
				h, err := tx.Lookup(field, tk.BlindIndex(field, t.value), maxIndexHits+1)
				if err != nil || len(h) > maxIndexHits {
					return nil, false, err
				}
				hits = append(hits, h...)
			}
			return hits, true, nil
		}
		var ids map[string]bool
		var common []term
		for _, t := range terms {
			hits, all, err := hitsOf(t)
			if err != nil {
				return nil, err
			}
			if !all {
				common = append(common, t)
				continue
			}
			next := map[string]bool{}
			for _, h := range hits {
				if h.Kind == haven.KindPerson && (ids == nil || ids[h.ID]) {
					next[h.ID] = true
				}
			}
			ids = next
		}
		if len(common) == len(terms) {
			return nil, errTooManyMatches
		}
		for _, t := range common {
			for id := range ids {
				in := false
				for _, field := range t.fields {
					if in, err = tx.Indexed(field, tk.BlindIndex(field, t.value), haven.KindPerson, id); err != nil {
						return nil, err
					} else if in {
						break
					}
				}
				if !in {
					delete(ids, id)
				}
			}
		}
		f.search, f.matches = true, len(ids)
		sorted := make([]string, 0, len(ids))
		for id := range ids {
			if id > q.After {
				sorted = append(sorted, id)
			}
		}
		sort.Strings(sorted)
		var ts []touch
		found, ts, more, err = listPeople(tx, f, sorted, limit)
		return ts, err
	})
	if err != nil {
		return nil, false, err
	}
	people, err := s.openAll(p, tk, found)
	return people, more, err
}

// errTooManyMatches refuses a search every one of whose terms matches more
// entries than a search reads.
var errTooManyMatches = haven.Invalid("", "too many people match each of the terms to page through them; add another (a birth date, a given name)")

// listPeople fetches up to limit of the people ids (in order) as they appear
// in a list or search result, and whether more of them would have been
// returned. Policy decides each as list-people; people outside the
// relationship are left out as if they did not match, so a search cannot
// tell a carer who else the organisation looks after. Appearing in a list
// is not opening a record, so a canary appears here as anyone else does.
func listPeople(tx store.Tx, f *facts, ids []string, limit int) ([]sealed, []touch, bool, error) {
	var found []sealed
	var ts []touch
	for _, id := range ids {
		d, _, _, err := f.decide(policy.ListPeople, id, haven.KindPerson, "")
		if err != nil {
			return nil, nil, false, err
		}
		if !d.Allow {
			continue
		}
		if len(found) == limit {
			return found, ts, true, nil
		}
		row, err := tx.Get(haven.KindPerson, id)
		if errors.Is(err, haven.ErrNotFound) {
			continue // erased since the index was read
		} else if err != nil {
			return nil, nil, false, err
		}
		fl, err := withKey(tx, row)
		if err != nil {
			return nil, nil, false, err
		}
		found = append(found, fl)
		ts = append(ts, touch{kind: haven.KindPerson, recordID: id, personID: id})
		f.read(id)
	}
	return found, ts, false, nil
}

// ListPeople reads the given people as a list shows them: for the patients
// a search of their records includes. People the principal may not list,
// or who do not exist, are left out. Each person returned is one audit
// entry.
func (s *Service) ListPeople(ctx context.Context, p haven.Principal, ids []string) ([]Found, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var found []sealed
	var tk *seal.TenantKey
	err := s.view(ctx, p, ActionList, func(tx store.Tx, f *facts) ([]touch, error) {
		var err error
		if tk, err = f.key(); err != nil {
			return nil, err
		}
		var ts []touch
		found, ts, _, err = listPeople(tx, f, ids, len(ids))
		return ts, err
	})
	if err != nil {
		return nil, err
	}
	return s.openAll(p, tk, found)
}

// Erase removes a person and everything about them, and destroys their key
// so that any copy of their ciphertext left in a WAL, a free page or a
// backup can never be opened again (crypto-shredding). The audit log keeps
// that the erasure happened, and the person's random id, nothing else.
func (s *Service) Erase(ctx context.Context, p haven.Principal, personID string) error {
	var tk *seal.TenantKey
	err := s.access(ctx, p, ActionErase, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{kind: haven.KindPerson, recordID: personID, personID: personID}}
		if _, err := tx.Get(haven.KindPerson, personID); err != nil {
			return t, err
		}
		if _, _, _, err := f.authorize(policy.Erase, personID, haven.KindPerson); err != nil {
			return t, err
		}
		var err error
		if tk, err = f.key(); err != nil {
			return nil, err
		}
		return t, tx.ErasePerson(personID)
	})
	if err == nil {
		tk.Forget(personID)
	}
	return err
}
