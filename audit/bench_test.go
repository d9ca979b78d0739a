package audit

import "testing"

func BenchmarkLeafHash(b *testing.B) {
	e := leafTests[0].e
	for b.Loop() {
		e.Hash()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkVerify verifies a log of 100,000 entries with a checkpoint after
// every 1,000.
func BenchmarkVerify(b *testing.B) {
	const n = 100_000
	s, v := testKeys(b)
	st := newMemStore(b, s, 1000)
	for i := range n {
		st.append(b, sampleEntry("acme", i))
	}
	for b.Loop() {
		rep, err := Verify(st, v)
		if err != nil || !rep.OK() || rep.Entries != n {
			b.Fatalf("Verify = %+v, %v", rep, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
