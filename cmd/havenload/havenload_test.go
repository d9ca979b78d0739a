package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/fhir"
)

func TestNHSNumbersAreValidAndDistinct(t *testing.T) {
	n := newNHSNumbers(999990) // wraps around the end of the range
	seen := map[string]bool{}
	for range 5000 {
		v := n.take()
		if !haven.ValidNHSNumber(v) || !strings.HasPrefix(v, "999") {
			t.Fatalf("%s is not a valid test-range NHS number", v)
		}
		if seen[v] {
			t.Fatalf("%s handed out twice", v)
		}
		seen[v] = true
	}
}

// TestPatientBodyIsAcceptedByHaven: the create body passes Haven's own
// strict Patient decoder, so a create run measures creates, not 400s.
func TestPatientBodyIsAcceptedByHaven(t *testing.T) {
	n := newNHSNumbers(0)
	for i := range 200 {
		nhs := n.take()
		p, err := fhir.PersonFromPatient(patientBody(nhs, i), "")
		if err != nil {
			t.Fatalf("body %d: %v\n%s", i, err, patientBody(nhs, i))
		}
		if p.NHSNumber != nhs || p.Family == "" || p.Given == "" || p.Gender == "" {
			t.Fatalf("body %d kept %+v", i, p)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://192.0.2.1:8080/fhir", "http://example.org/fhir", "https://10.0.0.1/fhir", "ftp://127.0.0.1/", "http://0.0.0.0:80/"} {
		if err := checkLoopbackURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
		if _, err := newFHIRClient(u, 1, time.Second); err == nil {
			t.Errorf("client for %s made", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8080/fhir", "http://[::1]:8080/fhir", "http://localhost:8080/fhir", "http://127.9.9.9/"} {
		if err := checkLoopbackURL(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	if err := loopbackControl("tcp", "192.0.2.1:80", nil); !errors.Is(err, errNotLoopback) {
		t.Errorf("dial to 192.0.2.1 allowed: %v", err)
	}
	if err := loopbackControl("tcp", "127.0.0.1:80", nil); err != nil {
		t.Errorf("dial to loopback refused: %v", err)
	}
}

// fakeFHIR is a loopback server that creates, reads and searches patients,
// refusing reads of ids starting with "x" with 429.
func fakeFHIR(t *testing.T, auth func(*http.Request) bool) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	mux := http.NewServeMux()
	guarded := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if auth != nil && !auth(r) {
				w.WriteHeader(401)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("POST /fhir/Patient", guarded(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"resourceType": "Patient", "id": "p" + string(rune('a'+n.Add(1)%26))})
	}))
	mux.HandleFunc("GET /fhir/Patient/{id}", guarded(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.PathValue("id"), "x") {
			w.WriteHeader(429)
			w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"code":"throttled"}]}`))
			return
		}
		w.Write([]byte(`{"resourceType":"Patient"}`))
	}))
	mux.HandleFunc("GET /fhir/Patient", guarded(func(w http.ResponseWriter, r *http.Request) {
		_, nhs, _ := strings.Cut(r.URL.Query().Get("identifier"), "|")
		if strings.HasSuffix(nhs, "0") {
			nhs = "" // finds nobody
		}
		w.Write([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"identifier":[{"value":"` + nhs + `"}]}}]}`))
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestSeedAndRun(t *testing.T) {
	srv := fakeFHIR(t, nil)
	dir := t.TempDir()
	pool := filepath.Join(dir, "pool.json")
	var out bytes.Buffer
	if err := run([]string{"seed", "-target", srv.URL + "/fhir", "-n", "30", "-pool", pool}, &out); err != nil {
		t.Fatal(err)
	}
	var p Pool
	b, _ := os.ReadFile(pool)
	if err := json.Unmarshal(b, &p); err != nil || len(p.Patients) != 30 || p.Patients[29].ID == "" || !haven.ValidNHSNumber(p.Patients[0].NHS) {
		t.Fatalf("pool: %v %s", err, b)
	}

	res := filepath.Join(dir, "read.json")
	// The fake server runs in this process: its processor time is ours.
	pid := strconv.Itoa(os.Getpid())
	if err := run([]string{"run", "-target", srv.URL + "/fhir", "-scenario", "read", "-ids", "a,b,xc", "-n", "3000", "-d", "60s", "-c", "4", "-json", res, "-label", "fake", "-server-pid", pid}, &out); err != nil {
		t.Fatal(err)
	}
	var r Result
	b, _ = os.ReadFile(res)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Requests != 3000 || r.OK != 2000 || r.Errors != 1000 || r.ErrorsByStatus["429"] != 1000 || !strings.Contains(r.SampleErrors["429"], "throttled") || r.Stopped != "requests" {
		t.Fatalf("read result: %+v", r)
	}
	if r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max {
		t.Fatalf("latency: %+v", r.Latency)
	}
	// Server and load tool are this one process, measured two ways:
	// /proc in 10 ms ticks, getrusage in microseconds. Both must agree
	// (within two ticks), and the total must match the figure per request.
	server, own := r.ServerCPU, r.LoadCPUPerRequest*float64(r.Requests)/1e6
	if own <= 0 || server < own-0.02 || server > own+0.02 || math.Abs(r.ServerCPUPerRequest*float64(r.Requests)/1e6-server) > 1e-3 {
		t.Fatalf("processor time: server %.3fs, load tool %.3fs, %+v", server, own, r)
	}
	if err := run([]string{"run", "-target", srv.URL + "/fhir", "-scenario", "read", "-ids", "a", "-n", "1", "-server-pid", "-1"}, &out); err == nil {
		t.Error("a negative process id was accepted")
	}
	if !strings.Contains(out.String(), "errors by status: 429: 1000") {
		t.Fatalf("table does not report errors:\n%s", out.String())
	}

	res = filepath.Join(dir, "search.json")
	if err := run([]string{"run", "-target", srv.URL + "/fhir", "-scenario", "search", "-pool", pool, "-d", "200ms", "-c", "2", "-json", res}, &out); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(res)
	r = Result{}
	json.Unmarshal(b, &r)
	if r.Stopped != "duration" || r.OK == 0 || r.OK+r.ErrorsByStatus["no-match"] != r.Requests {
		t.Fatalf("search result: %+v", r)
	}

	// A run must be bounded, and a non-loopback target is refused.
	if err := run([]string{"run", "-target", srv.URL + "/fhir", "-scenario", "create", "-d", "0"}, &out); err == nil {
		t.Error("unbounded run accepted")
	}
	if err := run([]string{"run", "-target", "http://192.0.2.1/fhir", "-scenario", "create", "-n", "1"}, &out); err == nil {
		t.Error("non-loopback target accepted")
	}
}

// TestTokens: the client assertion verifies with the registered key, tokens
// are reused until near expiry, and a 401 makes the next request fetch anew.
func TestTokens(t *testing.T) {
	dir := t.TempDir()
	keyFile, jwksFile := filepath.Join(dir, "k.pem"), filepath.Join(dir, "jwks.json")
	if err := run([]string{"keygen", "-key", keyFile, "-jwks", jwksFile}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(jwksFile)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) != 1 || !set.Keys[0].IsPublic() {
		t.Fatalf("jwks: %v %s", err, raw)
	}
	if st, _ := os.Stat(keyFile); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode().Perm())
	}

	var issued atomic.Int64
	var life atomic.Int64
	life.Store(300)
	var tokenURL string
	var valid sync.Map // token -> true
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"token_endpoint": tokenURL})
	})
	mux.HandleFunc("POST /fhir/auth/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		tok, err := jwt.ParseSigned(r.PostForm.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES384})
		var claims jwt.Claims
		if err == nil {
			keys := set.Key(tok.Headers[0].KeyID)
			if len(keys) != 1 {
				err = errors.New("unknown kid")
			} else {
				err = tok.Claims(keys[0].Key, &claims)
			}
		}
		if err != nil || claims.Issuer != "client-1" || claims.Subject != "client-1" || !claims.Audience.Contains(tokenURL) ||
			r.PostForm.Get("grant_type") != grantType || r.PostForm.Get("scope") != "system/Patient.rs" {
			http.Error(w, "bad assertion", 400)
			return
		}
		id := "tok" + string(rune('0'+issued.Add(1)))
		valid.Store(id, true)
		json.NewEncoder(w).Encode(map[string]any{"access_token": id, "expires_in": life.Load(), "token_type": "bearer"})
	})
	mux.HandleFunc("GET /fhir/Patient/{id}", func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if _, ok := valid.Load(tok); !ok {
			w.WriteHeader(401)
			return
		}
		w.Write([]byte(`{}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tokenURL = srv.URL + "/fhir/auth/token"

	cf := clientFlags{target: srv.URL + "/fhir", clientID: "client-1", keyFile: keyFile, scope: "system/Patient.rs", concurrency: 1, timeout: 5 * time.Second}
	fc, err := cf.client(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if r := fc.do(ctx, "GET", "/Patient/p1", nil, false); r.status != 200 {
			t.Fatalf("read: %d %v", r.status, r.err)
		}
	}
	if n := issued.Load(); n != 1 {
		t.Fatalf("%d tokens fetched for three requests, want 1", n)
	}
	// The server forgets the token: one 401, then a new token.
	valid.Clear()
	if r := fc.do(ctx, "GET", "/Patient/p1", nil, false); r.status != 401 {
		t.Fatalf("want 401, got %d", r.status)
	}
	if r := fc.do(ctx, "GET", "/Patient/p1", nil, false); r.status != 200 || issued.Load() != 2 {
		t.Fatalf("after a 401: %d, %d tokens", r.status, issued.Load())
	}
	// A token about to expire is replaced before use.
	life.Store(20)
	fc.tokens.invalidate(fc.tokens.current)
	fc.do(ctx, "GET", "/Patient/p1", nil, false)
	fc.do(ctx, "GET", "/Patient/p1", nil, false)
	if n := issued.Load(); n != 4 {
		t.Fatalf("short-lived tokens were reused: %d fetched, want 4", n)
	}
}

func TestReport(t *testing.T) {
	mk := func(sc, label string, rps, p99 float64) Result {
		return Result{Scenario: sc, Label: label, Requests: 100, OK: 100, OKRPS: rps, Latency: Latency{P50: 1, P99: p99}, LoadCPUPerRequest: 40}
	}
	var b bytes.Buffer
	h := mk("read", "haven", 1000, 20)
	h.ServerCPUPerRequest = 212.4
	writeReport(&b, []Result{h, mk("read", "haven-unprotected", 2500, 8), mk("read", "medplum-peer", 5000, 5)}, "haven", "haven-unprotected", "medplum-peer")
	for _, want := range []string{"| read | haven | 100 | 1,000 | 1.00ms | 20.0ms | 212 µs | 40 µs | 0 |",
		"| read | medplum-peer | 100 | 5,000 | 1.00ms | 5.00ms | – | 40 µs | 0 |", "| read | 2.50× | 2.50× | 5.00× | 4.00× |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestPost: every Bundle file is sent once, its entries counted, and a
// refusal is reported by status; a file that is not a Bundle stops the
// run before anything is sent.
func TestPost(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var bundle struct {
			ID string `json:"id"`
		}
		json.Unmarshal(b, &bundle)
		mu.Lock()
		got[bundle.ID]++
		mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/fhir" || bundle.ID == "bad" {
			http.Error(w, `{"resourceType":"OperationOutcome"}`, http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"resourceType":"Bundle","type":"transaction-response"}`))
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.json", `{"resourceType":"Bundle","id":"a","type":"transaction","entry":[{},{},{}]}`)
	write("b.json", `{"resourceType":"Bundle","id":"b","type":"transaction","entry":[{}]}`)
	write("c.json", `{"resourceType":"Bundle","id":"bad","type":"transaction","entry":[{},{}]}`)
	write("notes.txt", `not a Bundle, and not *.json`)
	out := filepath.Join(dir, "post.out")
	var text bytes.Buffer
	if err := run([]string{"post", "-target", srv.URL + "/fhir", "-dir", dir, "-c", "2", "-json", out}, &text); err != nil {
		t.Fatal(err)
	}
	var r PostResult
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Bundles != 3 || r.Resources != 6 || r.OK != 2 || r.Accepted != 4 || r.ByStatus["400"] != 1 || r.Stopped != "done" || r.Elapsed <= 0 {
		t.Errorf("result: %+v", r)
	}
	if got["a"] != 1 || got["b"] != 1 || got["bad"] != 1 || len(got) != 3 {
		t.Errorf("server saw %v, want each Bundle once", got)
	}
	if !strings.Contains(text.String(), "posted 3 Bundles (6 resources)") || !strings.Contains(text.String(), "400") {
		t.Errorf("summary: %s", text.String())
	}

	write("d.json", `{"resourceType":"Patient"}`)
	mu.Lock()
	clear(got)
	mu.Unlock()
	if err := run([]string{"post", "-target", srv.URL + "/fhir", "-dir", dir}, &text); err == nil || !strings.Contains(err.Error(), "d.json") {
		t.Errorf("a Patient file: got %v, want a refusal naming it", err)
	}
	if len(got) != 0 {
		t.Errorf("server saw %v after a refused file, want nothing sent", got)
	}
}

// TestFloor: the floor server answers all three scenarios as the real
// servers do (a seed, reads, searches that find the patient, creates),
// and listens on loopback only.
func TestFloor(t *testing.T) {
	srv := httptest.NewServer(newFloor())
	defer srv.Close()
	dir := t.TempDir()
	pool := filepath.Join(dir, "pool.json")
	var out bytes.Buffer
	if err := run([]string{"seed", "-target", srv.URL + "/fhir", "-n", "20", "-pool", pool}, &out); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []string{"read", "search", "create"} {
		res := filepath.Join(dir, sc+".json")
		if err := run([]string{"run", "-target", srv.URL + "/fhir", "-scenario", sc, "-pool", pool, "-n", "60", "-c", "3", "-json", res}, &out); err != nil {
			t.Fatal(err)
		}
		var r Result
		b, _ := os.ReadFile(res)
		if err := json.Unmarshal(b, &r); err != nil || r.Requests != 60 || r.OK != 60 {
			t.Fatalf("%s against the floor: %v %+v", sc, err, r)
		}
	}
	// A search for a number nobody has finds nobody.
	res, err := http.Get(srv.URL + "/fhir/Patient?identifier=" + url.QueryEscape(nhsSystem+"|9999999999"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `"total":0`) {
		t.Fatalf("search for nobody: %s", b)
	}
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "[::1]:8080": true, "localhost:0": true,
		"0.0.0.0:0": false, ":8080": false, "192.0.2.1:80": false, "example.org:80": false} {
		if err := checkLoopbackAddr(addr); (err == nil) != ok || (!ok && !errors.Is(err, errNotLoopback)) {
			t.Errorf("floor on %s: %v", addr, err)
		}
	}
	if err := run([]string{"floor", "-addr", "no-port"}, &out); err == nil {
		t.Error("floor started on an address with no port")
	}
}
