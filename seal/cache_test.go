package seal

import (
	"fmt"
	"hash/maphash"
	"testing"
)

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	c := newLRU[string, int](3, 1, nil)
	c.put("a", 1)
	c.put("b", 2)
	c.put("c", 3)
	if _, ok := c.get("a"); !ok { // a is now most recent
		t.Fatal("a missing")
	}
	c.put("d", 4) // evicts b
	if _, ok := c.get("b"); ok {
		t.Error("b survived eviction")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	c.put("a", 10)
	if v, _ := c.get("a"); v != 10 || c.len() != 3 {
		t.Errorf("update: a=%d len=%d", v, c.len())
	}
	c.remove("a")
	c.remove("zzz")
	if _, ok := c.get("a"); ok || c.len() != 2 {
		t.Errorf("remove: len=%d", c.len())
	}
	if got := c.putIfAbsent("c", 30, func(int) bool { return true }); got != 3 {
		t.Errorf("putIfAbsent kept %d, want existing 3", got)
	}
	if got := c.putIfAbsent("c", 30, func(int) bool { return false }); got != 30 {
		t.Errorf("putIfAbsent kept %d, want replacement 30", got)
	}
}

func TestLRUSharded(t *testing.T) {
	c := newLRU[string, int](64, 8, maphash.String)
	for i := range 1000 {
		c.put(fmt.Sprint(i), i)
	}
	if n := c.len(); n > 64 {
		t.Fatalf("cache holds %d entries, limit 64", n)
	}
	if v, ok := c.get("999"); !ok || v != 999 {
		t.Fatal("most recent entry missing")
	}
}

func TestPersonCacheIsBounded(t *testing.T) {
	kms, _ := newKMS(t)
	kr := newKeyring(kms, 2, 10)
	tk, _ := newTenant(t, kr, "t1")
	for i := range 100 {
		newPerson(t, tk, fmt.Sprintf("p%d", i))
	}
	if n := kr.persons.len(); n > 10 {
		t.Fatalf("person cache holds %d keys, limit 10", n)
	}
	for i := range 5 {
		newTenant(t, kr, fmt.Sprintf("x%d", i))
	}
	if n := kr.tenants.len(); n > 2 {
		t.Fatalf("tenant cache holds %d keys, limit 2", n)
	}
}
