package sqlstore

import (
	"fmt"
	"testing"
)

func TestReadCacheEpochs(t *testing.T) {
	var c readCache
	k := cacheKey{op: 'g', a: "note", b: "n1"}
	c.put("t1", 5, k, "v5", 10)
	if v, ok := c.get("t1", 5, k); !ok || v != "v5" {
		t.Fatalf("get at the epoch it was read at: %v %v", v, ok)
	}
	for _, e := range []int64{4, 6} {
		if _, ok := c.get("t1", e, k); ok {
			t.Fatalf("an entry read at epoch 5 was given at epoch %d", e)
		}
	}
	if _, ok := c.get("t2", 5, k); ok {
		t.Fatal("tenant t1's entry was given to t2")
	}
	// A view that began before the last write does not put back old rows.
	c.put("t1", 6, k, "v6", 10)
	c.put("t1", 5, cacheKey{op: 'g', a: "note", b: "n2"}, "old", 10)
	if _, ok := c.get("t1", 5, cacheKey{op: 'g', a: "note", b: "n2"}); ok {
		t.Fatal("an entry from an older epoch was kept")
	}
	if v, _ := c.get("t1", 6, k); v != "v6" {
		t.Fatalf("newer epoch: %v", v)
	}
	c.forget("t1")
	if _, ok := c.get("t1", 6, k); ok || c.bytes != 0 {
		t.Fatalf("forgotten tenant still cached (%d bytes)", c.bytes)
	}
}

func TestReadCacheBounded(t *testing.T) {
	var c readCache
	for i := range 3 * maxCachedBytes / (64 << 10) {
		c.put(fmt.Sprint("t", i%3), 1, cacheKey{op: 'g', b: fmt.Sprint(i)}, i, 64<<10)
		if c.bytes > maxCachedBytes {
			t.Fatalf("cache holds %d bytes, bound %d", c.bytes, maxCachedBytes)
		}
	}
	sum := 0
	for _, tc := range c.tenants {
		sum += tc.bytes
	}
	if sum != c.bytes {
		t.Fatalf("tenants hold %d bytes, total says %d", sum, c.bytes)
	}
}
