package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cmdFloor serves the three benchmark scenarios from a map in memory, with
// Go's net/http and encoding/json and nothing else: no authentication, no
// policy, no encryption, no audit, no database. It is the least any Go
// server can spend on these requests on this machine, measured with the
// same load tool in the same run, so that the benchmark can say how much
// of Haven's time is its own work and how much is the HTTP server's. It
// does what the peer does, in Go rather than in Node.js.
func cmdFloor(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "loopback address to listen on")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkLoopbackAddr(*addr); err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	srv := &http.Server{Handler: newFloor(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	fmt.Fprintf(stdout, "floor: serving /fhir on http://%s (in memory, no protection)\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// checkLoopbackAddr refuses a listening address that is not on loopback.
func checkLoopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: %w", addr, errNotLoopback)
	}
	return nil
}

// floor is the in-memory Patient store behind cmdFloor.
type floor struct {
	mu    sync.RWMutex
	next  int
	byID  map[string][]byte // the stored Patient, as answered
	byNHS map[string]string // NHS number → id
}

func newFloor() http.Handler {
	f := &floor{byID: map[string][]byte{}, byNHS: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/metadata", func(w http.ResponseWriter, r *http.Request) {
		writeFHIR(w, http.StatusOK, []byte(`{"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1","format":["json"]}`))
	})
	mux.HandleFunc("POST /fhir/Patient", f.create)
	mux.HandleFunc("GET /fhir/Patient/{id}", f.read)
	mux.HandleFunc("GET /fhir/Patient", f.search)
	return mux
}

func writeFHIR(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (f *floor) create(w http.ResponseWriter, r *http.Request) {
	var p map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p); err != nil || p["resourceType"] != "Patient" {
		writeFHIR(w, http.StatusBadRequest, []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid"}]}`))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := strconv.Itoa(f.next)
	p["id"] = id
	p["meta"] = map[string]any{"versionId": "1", "lastUpdated": time.Now().UTC().Format(time.RFC3339Nano)}
	body, _ := json.Marshal(p)
	f.byID[id] = body
	ids, _ := p["identifier"].([]any)
	for _, x := range ids {
		if m, ok := x.(map[string]any); ok && m["system"] == nhsSystem {
			if v, ok := m["value"].(string); ok {
				f.byNHS[v] = id
			}
		}
	}
	w.Header().Set("Location", "/fhir/Patient/"+id+"/_history/1")
	writeFHIR(w, http.StatusCreated, body)
}

func (f *floor) read(w http.ResponseWriter, r *http.Request) {
	f.mu.RLock()
	body, ok := f.byID[r.PathValue("id")]
	f.mu.RUnlock()
	if !ok {
		writeFHIR(w, http.StatusNotFound, []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`))
		return
	}
	writeFHIR(w, http.StatusOK, body)
}

func (f *floor) search(w http.ResponseWriter, r *http.Request) {
	system, value, _ := strings.Cut(r.URL.Query().Get("identifier"), "|")
	var entries []json.RawMessage
	if system == nhsSystem {
		f.mu.RLock()
		if body, ok := f.byID[f.byNHS[value]]; ok {
			entries = append(entries, body)
		}
		f.mu.RUnlock()
	}
	type entry struct {
		Resource json.RawMessage `json:"resource"`
	}
	bundle := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Total        int     `json:"total"`
		Entry        []entry `json:"entry,omitempty"`
	}{ResourceType: "Bundle", Type: "searchset", Total: len(entries)}
	for _, e := range entries {
		bundle.Entry = append(bundle.Entry, entry{Resource: e})
	}
	body, _ := json.Marshal(bundle)
	writeFHIR(w, http.StatusOK, body)
}
