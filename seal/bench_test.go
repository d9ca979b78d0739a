package seal

import (
	"bytes"
	"fmt"
	"testing"
)

var record500 = bytes.Repeat([]byte("x"), 500)

func benchPerson(b *testing.B) (*TenantKey, *PersonKey, []byte) {
	kms, _ := newKMS(b)
	tk, _ := newTenant(b, NewKeyring(kms), "t1")
	pk, wp := newPerson(b, tk, "p1")
	return tk, pk, wp
}

func BenchmarkSeal(b *testing.B) {
	_, pk, _ := benchPerson(b)
	bind := Binding{Tenant: "t1", Kind: "medication", ID: "0190f1c2-7a3e-7c1a-9b1e-5d2f3a4b5c6d", Version: 3}
	b.SetBytes(int64(len(record500)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pk.Seal(bind, record500); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	_, pk, _ := benchPerson(b)
	bind := Binding{Tenant: "t1", Kind: "medication", ID: "0190f1c2-7a3e-7c1a-9b1e-5d2f3a4b5c6d", Version: 3}
	ct, err := pk.Seal(bind, record500)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(record500)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pk.Open(bind, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPersonCacheHit(b *testing.B) {
	tk, _, wp := benchPerson(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tk.Person("p1", wp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPersonCacheHitParallel measures cache hits under contention, as
// when many requests read records at once.
func BenchmarkPersonCacheHitParallel(b *testing.B) {
	kms, _ := newKMS(b)
	tk, _ := newTenant(b, NewKeyring(kms), "t1")
	const n = 256
	wraps := make([][]byte, n)
	for i := range wraps {
		_, wraps[i] = newPerson(b, tk, fmt.Sprintf("p%d", i))
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%d", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := tk.Person(ids[i%n], wraps[i%n]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkPersonCacheMiss(b *testing.B) {
	tk, _, wp := benchPerson(b)
	b.ReportAllocs()
	for b.Loop() {
		tk.Forget("p1")
		if _, err := tk.Person("p1", wp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTenantCacheHit(b *testing.B) {
	kms, _ := newKMS(b)
	kr := NewKeyring(kms)
	_, w := newTenant(b, kr, "t1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Tenant("t1", w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlindIndex(b *testing.B) {
	tk, _, _ := benchPerson(b)
	b.ReportAllocs()
	for b.Loop() {
		tk.BlindIndex("nhs", "9434765919")
	}
}
