// Command havenload is an HTTP load generator for FHIR servers on this
// machine: Haven (with SMART Backend Services tokens) and the peer it is
// compared with (no authentication). It measures Patient read, search and
// create, and the loading of Bundle files, and refuses any target that is
// not on a loopback address.
//
//	havenload keygen -key FILE -jwks FILE
//	    an ES384 (P-384) client key, and the public key set to register with
//	    haven admin register-client --jwks FILE
//	havenload seed -target URL [auth] -n 1000 -pool FILE
//	    create N patients (POST /Patient) and remember their ids and NHS numbers
//	havenload run -target URL [auth] -scenario read|search|create -pool FILE -d 15s
//	    run one scenario for a bounded time and number of requests, and report
//	    requests/s, latency percentiles and errors by status, and with
//	    -server-pid the server's processor time per request
//	havenload post -target URL [auth] -dir DIR
//	    POST every Bundle file in DIR once (as haven import reads them) and
//	    report resources/s: the peer's side of the import comparison
//	havenload report FILE...
//	    a markdown table of the JSON results of several runs, with ratios
//	havenload floor -addr 127.0.0.1:PORT
//	    serve the scenarios from a map in memory with Go's net/http and
//	    nothing else: the least a Go server spends on them (go-floor)
//
// Auth: without -client-id, requests carry no token (the peer). With
// -client-id and -key, havenload gets an access token from the server's token
// endpoint (found through /.well-known/smart-configuration unless -token-url
// is given) with a private_key_jwt client assertion, and gets a new one before
// the old expires.
//
// Scripts/bench-http runs the whole comparison.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const usage = `havenload: HTTP load for FHIR servers on loopback.

Usage:
  havenload keygen -key FILE -jwks FILE [-kid ID]
  havenload seed   -target URL [auth] [-n 1000] [-c 8] -pool FILE
  havenload run    -target URL [auth] -scenario read|search|create [-pool FILE]
                   [-d 15s] [-n 0] [-c 16] [-json FILE] [-label NAME] [-server-pid PID]
  havenload post   -target URL [auth] -dir DIR [-c 2] [-d 10m] [-json FILE]
  havenload report [-protected L] [-unprotected L] [-peer L] FILE...
  havenload floor  [-addr 127.0.0.1:8080]

Auth (Haven):   -client-id ID -key FILE [-kid ID] [-scope "system/Patient.crus"] [-token-url URL]
Auth (peer):    leave out -client-id

Run "havenload COMMAND -h" for a command's flags.
`

// exitError carries an exit status for a failure already explained.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "havenload:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return exitError{2}
	}
	switch args[0] {
	case "keygen":
		return cmdKeygen(args[1:], stdout)
	case "seed":
		return cmdSeed(args[1:], stdout)
	case "run":
		return cmdRun(args[1:], stdout)
	case "post":
		return cmdPost(args[1:], stdout)
	case "report":
		return cmdReport(args[1:], stdout)
	case "floor":
		return cmdFloor(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(os.Stderr, "havenload: unknown command %q\n\n%s", args[0], usage)
	return exitError{2}
}

// parse parses a command's flags and refuses stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitError{0}
		}
		return exitError{2}
	}
	if fs.NArg() > 0 && fs.Name() != "report" {
		fmt.Fprintf(os.Stderr, "havenload %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitError{2}
	}
	return nil
}

// clientFlags are the flags of every command that talks to a server.
type clientFlags struct {
	target      string
	clientID    string
	keyFile     string
	kid         string
	scope       string
	tokenURL    string
	concurrency int
	timeout     time.Duration
}

func (c *clientFlags) register(fs *flag.FlagSet, concurrency int) {
	fs.StringVar(&c.target, "target", "", "FHIR base URL on loopback, e.g. http://127.0.0.1:8080/fhir")
	fs.StringVar(&c.clientID, "client-id", "", "SMART Backend Services client id (none: send no token)")
	fs.StringVar(&c.keyFile, "key", "", "the client's private key, PEM (from havenload keygen)")
	fs.StringVar(&c.kid, "kid", "", "key id for the assertion header (default: the key's RFC 7638 thumbprint, as keygen writes it)")
	fs.StringVar(&c.scope, "scope", "system/Patient.crus", "scopes to ask for")
	fs.StringVar(&c.tokenURL, "token-url", "", "token endpoint (default: from TARGET/.well-known/smart-configuration)")
	fs.IntVar(&c.concurrency, "c", concurrency, "concurrent requests")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "timeout of one request")
}

// client builds the HTTP client and, for Haven, its token source.
func (c *clientFlags) client(ctx context.Context) (*fhirClient, error) {
	if c.target == "" {
		return nil, errors.New("-target is required")
	}
	if c.concurrency < 1 {
		return nil, errors.New("-c must be at least 1")
	}
	fc, err := newFHIRClient(c.target, c.concurrency, c.timeout)
	if err != nil {
		return nil, err
	}
	switch {
	case c.clientID == "" && c.keyFile == "":
	case c.clientID == "" || c.keyFile == "":
		return nil, errors.New("give both -client-id and -key, or neither")
	default:
		key, kid, err := loadKey(c.keyFile)
		if err != nil {
			return nil, err
		}
		if c.kid != "" {
			kid = c.kid
		}
		ts := &tokenSource{http: fc.http, clientID: c.clientID, key: key, kid: kid, scope: c.scope, tokenURL: c.tokenURL}
		if ts.tokenURL == "" {
			if ts.tokenURL, err = fc.discoverTokenURL(ctx); err != nil {
				return nil, err
			}
		}
		if err := checkLoopbackURL(ts.tokenURL); err != nil {
			return nil, fmt.Errorf("token endpoint: %w", err)
		}
		if _, err := ts.token(ctx); err != nil {
			return nil, err
		}
		fc.tokens = ts
	}
	return fc, nil
}

// signalContext ends on SIGINT or SIGTERM, so an interrupted run still
// reports what it measured.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

func cmdSeed(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs, 8)
	n := fs.Int("n", 1000, "patients to create")
	poolFile := fs.String("pool", "", "file to write the created patients' ids and NHS numbers to (JSON)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *poolFile == "" || *n < 1 {
		return errors.New("seed: -pool FILE and -n of at least 1 are required")
	}
	ctx, stop := signalContext()
	defer stop()
	fc, err := cf.client(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	pool, err := seed(ctx, fc, *n, cf.concurrency)
	if err != nil {
		return err
	}
	pool.Target = cf.target
	b, _ := json.MarshalIndent(pool, "", " ")
	if err := os.WriteFile(*poolFile, append(b, '\n'), 0o600); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "seeded %d patients at %s in %s (%.0f/s); pool in %s\n", len(pool.Patients), cf.target, el.Round(time.Millisecond), float64(len(pool.Patients))/el.Seconds(), *poolFile)
	return nil
}

func cmdRun(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs, 16)
	scenario := fs.String("scenario", "", "read, search or create")
	poolFile := fs.String("pool", "", "patients from havenload seed (needed by read and search)")
	ids := fs.String("ids", "", "read: comma-separated patient ids instead of a pool")
	dur := fs.Duration("d", 15*time.Second, "how long to run (0: until -n requests)")
	maxReq := fs.Int("n", 0, "stop after this many requests (0: no limit but -d)")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file (\"-\": standard output)")
	label := fs.String("label", "", "name of the server in reports (default: the target)")
	serverPID := fs.Int("server-pid", 0, "process id of the server, to report its processor time per request (Linux)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dur <= 0 && *maxReq <= 0 {
		return errors.New("run: give -d or -n, or both: a run must be bounded")
	}
	var pool Pool
	if *poolFile != "" {
		b, err := os.ReadFile(*poolFile)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &pool); err != nil {
			return fmt.Errorf("%s: %w", *poolFile, err)
		}
	}
	if *ids != "" {
		pool.Patients = nil
		for _, id := range strings.Split(*ids, ",") {
			pool.Patients = append(pool.Patients, PoolPatient{ID: strings.TrimSpace(id)})
		}
	}
	sc, err := newScenario(*scenario, pool)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	fc, err := cf.client(ctx)
	if err != nil {
		return err
	}
	cpu, err := startCPU(*serverPID)
	if err != nil {
		return err
	}
	res := load(ctx, fc, sc, loadOptions{concurrency: cf.concurrency, duration: *dur, maxRequests: *maxReq})
	if err := cpu.finish(&res); err != nil {
		return err
	}
	res.Label = *label
	if res.Label == "" {
		res.Label = cf.target
	}
	res.Target = cf.target
	res.Auth = "none"
	if cf.clientID != "" {
		res.Auth = "smart-backend-services"
	}
	printResult(stdout, res)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", " ")
		b = append(b, '\n')
		if *jsonOut == "-" {
			_, err = stdout.Write(b)
		} else {
			err = os.WriteFile(*jsonOut, b, 0o644)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
