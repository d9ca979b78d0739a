package care_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/care"
)

func TestSearchCommonTermSQLite(t *testing.T) { testSearchCommonTerm(t, authtest.Options{}) }
func TestSearchCommonTermPostgres(t *testing.T) {
	testSearchCommonTerm(t, authtest.Options{Postgres: true})
}

// A term more people match than a search reads (a common family name)
// still narrows a search another term leads, and only a search made of
// such terms alone is refused.
func testSearchCommonTerm(t *testing.T, opt authtest.Options) {
	ctx := context.Background()
	e := authtest.New(t, opt)
	sys := haven.SystemPrincipal(authtest.North, "test")
	const common = 501 // one more than a term's hits a search reads
	var ops []care.Op
	var rare, other string
	for i := 0; len(ops) < common+1; i++ {
		nine := fmt.Sprintf("%09d", 612000000+i)
		check := haven.NHSCheckDigit(nine)
		if check < 0 {
			continue
		}
		p := &haven.Person{ID: care.NewID(), NHSNumber: fmt.Sprintf("%s%d", nine, check), Given: "Sam", Family: "Commonname",
			BirthDate: date(t, "1950-01-01"), Gender: "female", Phone: "07700 900111"}
		switch len(ops) {
		case 7:
			p.Given, p.BirthDate, rare = "Raregiven", date(t, "1933-03-03"), p.ID
		case common:
			// Born the same day, of another family: the family term,
			// though too common to list, must still turn them away.
			p.Family, p.BirthDate, other = "Othername", date(t, "1933-03-03"), p.ID
		}
		ops = append(ops, care.Op{Method: care.OpCreate, Record: p})
	}
	if _, err := e.Care.Apply(ctx, sys, ops); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    care.Query
		want []string // nil: refused
	}{
		{"family and birth date", care.Query{Family: "commonname", BirthDate: "1933-03-03"}, []string{rare}},
		{"birth date alone", care.Query{BirthDate: "1933-03-03"}, []string{rare, other}},
		{"name (family or given) and given", care.Query{Name: "Commonname", Given: "Raregiven"}, []string{rare}},
		{"two common terms and a rare one", care.Query{Family: "Commonname", Phone: "07700 900111", BirthDate: "1933-03-03"}, []string{rare}},
		{"a common term matching none of the others' people", care.Query{Family: "Commonname", Given: "Nobodyhere"}, []string{}},
		{"family alone", care.Query{Family: "Commonname"}, nil},
		{"common terms alone", care.Query{Family: "Commonname", Phone: "07700 900111"}, nil},
	} {
		found, _, err := e.Care.SearchFound(ctx, sys, c.q)
		var invalid *haven.InvalidError
		if c.want == nil {
			if !errors.As(err, &invalid) {
				t.Errorf("%s: want refused as too wide, got %d people, %v", c.name, len(found), err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		want := map[string]bool{}
		for _, f := range found {
			got = append(got, f.Record.RecordID())
		}
		for _, id := range c.want {
			want[id] = true
		}
		sameSet(t, c.name, got, want)
	}
}

func date(t *testing.T, s string) haven.Date {
	t.Helper()
	d, err := haven.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
