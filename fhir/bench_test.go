package fhir_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"github.com/havencare/haven/guard"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/fhir"
	"github.com/havencare/haven/web"
)

// BenchmarkPatientRead is one authenticated, authorised, decrypted and
// audited Patient read through the whole HTTP handler, without the
// network: the in-process half of scripts/bench-http's read scenario, for
// profiling (go test -bench PatientRead -cpuprofile). It reads the people
// of one tenant in turn, as the load tool does.
func BenchmarkPatientRead(b *testing.B) {
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	origin := "http://localhost:" + port
	env := authtest.New(b, authtest.Options{People: 20, Canaries: -1, Origin: origin})
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	a := &api{Env: env, key: key}
	h := web.New(web.Config{Origin: origin, Insecure: true}, env.Auth, env.Care, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()
	a.base, a.client = origin, srv.Client()
	raiseBudgets(b, env)
	tok := a.token(b, authtest.North, "system/Patient.rs")
	people := env.People[authtest.North]
	var n atomic.Int64
	b.SetParallelism(8) // 16 requests in flight on 2 CPUs, as the load tool sends
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	defer func() {
		// CPU time per read is steadier than wall time on a shared machine,
		// and is what bounds throughput once every core is busy.
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := people[int(n.Add(1))%len(people)]
			req := httptest.NewRequest(http.MethodGet, "/fhir/Patient/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Accept", fhir.ContentType)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), id) {
				b.Fatalf("read %s: %d %s", id, rec.Code, rec.Body.String())
			}
		}
	})
}

// raiseBudgets lets the tenant's API clients read without the guard's
// hourly budget stopping a long benchmark.
func raiseBudgets(b *testing.B, env *authtest.Env) {
	setClientBudget(b, env, guard.Budget{PerHour: guard.MaxBudget, PerDay: guard.MaxBudget})
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
