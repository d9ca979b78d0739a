// Package fhirclient_test drives Haven's FHIR API with a FHIR client nobody
// on this project wrote: fhir-kit-client from npm, pinned in package.json,
// run by fhirclient.mjs under Node, which also checks every resource it
// receives against the R4 specification with FHIR.js (npm "fhir", also
// pinned; conformance.mjs). The server is Haven itself (authtest and
// web.New over loopback, as in fhir/api_test.go), on SQLite and, when
// HAVEN_TEST_POSTGRES_URL is set, on PostgreSQL.
//
// Node 20 or later and node_modules (scripts/install-deps runs npm ci here)
// are needed: without them the test skips, unless HAVEN_REQUIRE_NODE=1 (CI),
// when it fails.
//
// To run the script by hand against a test server, with every step's result
// rather than stopping at the first failure:
//
//	FHIRCLIENT_KEEP_GOING=1 go test -v -run TestFHIRKitClient ./e2e/fhirclient/
package fhirclient_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/web"
)

const (
	script = "fhirclient.mjs"
	// minNode is the oldest Node the pinned fhir-kit-client supports.
	minNode = 20
	// scriptTimeout bounds one run of the script, Bulk Data polling
	// included; it is not an assertion about speed.
	scriptTimeout = 3 * time.Minute
	keyID         = "k1"
)

// scopes are what the main client is allowed and asks for: read and
// search of everything (for $everything and Bulk Data export), and create
// and update of the types the script writes.
// A bulk export needs each exported type named in a read and search scope
// of its own (a wildcard lets a client read, not take everything at once).
// The audit log (AuditEvent) too needs its scope by name.
var scopes = []string{"system/*.rs", "system/Patient.cu", "system/Condition.cu", "system/Observation.cu",
	"system/Patient.rs", "system/Condition.rs", "system/Observation.rs", "system/AuditEvent.rs"}

// otherScopes are the other tenant's client's: enough to read a patient,
// were it its own.
var otherScopes = []string{"system/Patient.rs"}

func TestFHIRKitClient(t *testing.T) {
	node := findNode(t)
	t.Run("sqlite", func(t *testing.T) { runScript(t, node, authtest.Options{}) })
	t.Run("postgres", func(t *testing.T) { runScript(t, node, authtest.Options{Postgres: true}) })
}

// findNode returns the node command, or skips (fails under
// HAVEN_REQUIRE_NODE=1) when Node or the installed packages are missing.
func findNode(t *testing.T) string {
	t.Helper()
	unusable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("HAVEN_REQUIRE_NODE") == "1" {
			t.Fatalf("%s (HAVEN_REQUIRE_NODE=1)", msg)
		}
		t.Skipf("%s; set HAVEN_REQUIRE_NODE=1 to fail instead", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unusable("node not found (%v): install Node.js %d or later", err, minNode)
		return ""
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		unusable("%s --version failed: %v", node, err)
		return ""
	}
	v := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < minNode {
		unusable("node is %s; fhir-kit-client needs Node %d or later", v, minNode)
		return ""
	}
	for _, pkg := range packages {
		want, err := pinnedVersion(pkg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := installedVersion(pkg)
		if err != nil {
			unusable("%s is not installed in e2e/fhirclient/node_modules (%v): run scripts/install-deps", pkg, err)
			return ""
		}
		if got != want {
			unusable("node_modules has %s %s but package.json pins %s: run scripts/install-deps", pkg, got, want)
			return ""
		}
	}
	return node
}

// packages are the npm packages the script needs: the client, and the
// validator conformance.mjs runs.
var packages = []string{"fhir-kit-client", "fhir"}

// pinnedVersion is the version of the package name that package.json pins.
func pinnedVersion(name string) (string, error) {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile("package.json")
	if err == nil {
		err = json.Unmarshal(b, &pkg)
	}
	if err != nil {
		return "", err
	}
	v := pkg.Dependencies[name]
	if v == "" || strings.ContainsAny(v, "^~<>=*| ") {
		return "", errors.New("package.json must pin an exact " + name + " version, not " + strconv.Quote(v))
	}
	return v, nil
}

// installedVersion is the version of the package name in node_modules.
func installedVersion(name string) (string, error) {
	var pkg struct {
		Version string `json:"version"`
	}
	b, err := os.ReadFile(filepath.Join("node_modules", name, "package.json"))
	if err == nil {
		err = json.Unmarshal(b, &pkg)
	}
	return pkg.Version, err
}

// runScript starts Haven on a loopback port, registers a client in each of
// two tenants, and runs the script against it.
func runScript(t *testing.T, node string, opt authtest.Options) {
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	origin := "http://localhost:" + port
	// The script signs its assertions by the wall clock, so the services
	// run on it too.
	opt.Origin, opt.People, opt.RealNow = origin, 4, true
	env := authtest.New(t, opt)
	// Server errors (a 500's cause) go to the test's output: the script
	// only sees their effect.
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv.Config.Handler = web.New(web.Config{Origin: origin, Insecure: true}, env.Auth, env.Care, log)
	srv.Start()
	t.Cleanup(srv.Close)

	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "client-key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: keyID, Algorithm: "ES384", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	register := func(tenant string, scopes []string) string {
		id, err := env.Auth.RegisterClient(context.Background(), haven.SystemPrincipal(tenant, "test"), "fhir-kit-client e2e", jwks, scopes)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	// People whose records Haven made from its own model (demo data), not
	// canaries: reading a canary is the alarm a stolen client sets off.
	var records []string
	for _, p := range env.Data[authtest.North].People {
		if !p.Person.Canary {
			records = append(records, p.Person.ID)
		}
	}
	if len(records) == 0 {
		t.Fatal("the test tenant has no people who are not canaries")
	}

	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(),
		"HAVEN_FHIR_BASE="+origin+"/fhir",
		"HAVEN_FHIR_CLIENT_ID="+register(authtest.North, scopes),
		"HAVEN_FHIR_SCOPE="+strings.Join(scopes, " "),
		"HAVEN_FHIR_OTHER_CLIENT_ID="+register(authtest.South, otherScopes),
		"HAVEN_FHIR_OTHER_SCOPE="+strings.Join(otherScopes, " "),
		"HAVEN_FHIR_KEY_FILE="+keyFile,
		"HAVEN_FHIR_KEY_ID="+keyID,
		"HAVEN_FHIR_RECORD_PATIENTS="+strings.Join(records, ","),
		"NO_COLOR=1",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node %s did not finish within %v:\n%s", script, scriptTimeout, out.String())
	}
	if err != nil {
		t.Fatalf("node %s failed (%v):\n%s", script, err, out.String())
	}
	t.Logf("node %s:\n%s", script, out.String())
}
