package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/store"
)

// testGetMany: GetMany answers exactly what Get answers, key by key, for
// any number of keys (the statements take a few fixed sizes), and only
// from the transaction's tenant, even where another tenant has the same
// ids.
func testGetMany(t *testing.T, e *env) {
	a := e.tenant("ta")
	b := e.tenant("tb")
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	row := func(tenant string, i int) store.Row {
		return store.Row{Kind: haven.KindCondition, ID: fmt.Sprintf("c%03d", i), PersonID: "p" + tenant,
			Version: 1, Sealed: []byte(tenant + fmt.Sprint(i)), Updated: at.Add(time.Duration(i) * time.Second)}
	}
	const n = 300
	e.in(a, func(tx store.Tx) error {
		for i := range n {
			if err := tx.Insert(row("a", i)); err != nil {
				return err
			}
		}
		return nil
	})
	// B holds some of the same ids, and ids A has not.
	e.in(b, func(tx store.Tx) error {
		for i := n - 20; i < n+20; i++ {
			if err := tx.Insert(row("b", i)); err != nil {
				return err
			}
		}
		return nil
	})
	key := func(i int) store.RecordKey {
		return store.RecordKey{Kind: haven.KindCondition, ID: fmt.Sprintf("c%03d", i)}
	}

	for _, size := range []int{0, 1, 7, 8, 9, 64, 65, 257, n} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var keys []store.RecordKey
			for i := range size {
				keys = append(keys, key(i))
			}
			// Keys with no row in A: ids only B has, another kind with a
			// kept id, and a repeat.
			keys = append(keys, key(n+1), key(n+19),
				store.RecordKey{Kind: haven.KindNote, ID: "c000"}, key(0))
			e.in(a, func(tx store.Tx) error {
				got, err := tx.GetMany(keys)
				if err != nil {
					t.Fatal(err)
				}
				want := max(size, 1) // the repeated key(0) exists
				if len(got) != want {
					t.Errorf("%d keys: %d rows, want %d", len(keys), len(got), want)
				}
				for _, k := range keys {
					r, err := tx.Get(k.Kind, k.ID)
					g, ok := got[k]
					switch {
					case err != nil && ok:
						t.Errorf("%v: GetMany has %+v, Get says %v", k, g, err)
					case err == nil && !ok:
						t.Errorf("%v: GetMany has nothing, Get has it", k)
					case err == nil && (g.Kind != r.Kind || g.ID != r.ID || g.PersonID != r.PersonID ||
						g.Version != r.Version || !bytes.Equal(g.Sealed, r.Sealed) || !g.Updated.Equal(r.Updated)):
						t.Errorf("%v: GetMany has %+v, Get %+v", k, g, r)
					case err == nil && g.PersonID != "pa":
						t.Errorf("%v: another tenant's row %+v", k, g)
					}
				}
				return nil
			})
		})
	}
	// Through B, A's ids that B does not hold are not there.
	e.in(b, func(tx store.Tx) error {
		got, err := tx.GetMany([]store.RecordKey{key(0), key(1), key(n - 1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[key(n-1)].PersonID != "pb" {
			t.Errorf("through B: %+v, want B's own c%03d only", got, n-1)
		}
		return nil
	})
}
