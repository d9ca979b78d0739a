package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/smart"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/fhir"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/postgres"
	"github.com/havencare/haven/store/sqlite"
	"github.com/havencare/haven/store/sqlstore"
	"golang.org/x/mod/sumdb/note"
)

// Files in the data directory.
const (
	masterKeyFile = "master.key"
	databaseFile  = "haven.db"
	logFile       = "haven.log"
)

// options are the flags every command shares.
type options struct {
	data        string
	databaseURL string
	origin      string
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.data, "data", "./haven-data", "data directory: master key, audit keys, embedded database")
	fs.StringVar(&o.databaseURL, "database-url", os.Getenv("HAVEN_DATABASE_URL"), "PostgreSQL URL (default: embedded SQLite in the data directory; env HAVEN_DATABASE_URL)")
	fs.StringVar(&o.origin, "origin", os.Getenv("HAVEN_ORIGIN"), "URL people reach Haven at, for links and passkeys (default http://localhost:PORT; env HAVEN_ORIGIN)")
}

// parse parses args and refuses stray arguments, so that a mistyped flag
// is an error rather than silently ignored.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitError{0}
		}
		return exitError{2}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "haven %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitError{2}
	}
	return nil
}

// app is an opened Haven: keys, store and record service.
type app struct {
	opt      options
	kms      *seal.LocalKMS
	db       *sqlstore.DB
	svc      *care.Service
	auth     *auth.Service
	signer   note.Signer
	verifier note.Verifier
	log      *slog.Logger
	logFile  *os.File
}

// initDataDir creates the data directory and its keys on first use.
// It reports whether anything was created.
func initDataDir(dir string) (bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create data directory: %w", err)
	}
	created := false
	if _, err := os.Stat(filepath.Join(dir, masterKeyFile)); errors.Is(err, os.ErrNotExist) {
		if err := seal.CreateKeyFile(filepath.Join(dir, masterKeyFile)); err != nil {
			return false, err
		}
		created = true
	}
	if _, err := os.Stat(filepath.Join(dir, audit.SigningKeyFile)); errors.Is(err, os.ErrNotExist) {
		if err := audit.CreateKeyFiles(dir); err != nil {
			return false, err
		}
		created = true
	}
	return created, nil
}

// open opens the data directory's keys and the store. With create, a new
// data directory is initialised; without it a missing one is an error.
func open(ctx context.Context, opt options, create bool) (*app, error) {
	if create {
		if _, err := initDataDir(opt.data); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(filepath.Join(opt.data, masterKeyFile)); err != nil {
		return nil, fmt.Errorf("no Haven data directory at %s (run \"haven demo\" or \"haven serve\" first, or pass --data): %w", opt.data, err)
	}
	a := &app{opt: opt}
	var err error
	if a.kms, err = seal.OpenKeyFile(filepath.Join(opt.data, masterKeyFile)); err != nil {
		return nil, err
	}
	if a.signer, err = audit.LoadSigner(opt.data); err != nil {
		return nil, err
	}
	if a.verifier, err = audit.LoadVerifier(opt.data); err != nil {
		return nil, err
	}
	if a.db, err = openStore(ctx, opt, create); err != nil {
		return nil, err
	}
	kr := seal.NewKeyring(a.kms)
	st, err := wrapStore(ctx, opt, a.db)
	if err != nil {
		a.db.Close()
		return nil, err
	}
	a.svc = care.New(st, kr)
	a.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := a.svc.EnsureSupplierPartition(ctx); err != nil {
		return nil, err
	}
	// Records written by an older Haven lack the care-relationship
	// indexes policy relies on; without them caseloads look empty.
	if n, err := a.svc.Reindex(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		a.log.Info("rebuilt blind indexes", "records", n)
	}
	if opt.origin == "" {
		opt.origin = "http://localhost:8080"
		a.opt.origin = opt.origin
	}
	origin := strings.TrimRight(opt.origin, "/")
	if a.auth, err = auth.New(st, kr, auth.Config{Origin: origin, TokenURL: origin + smart.TokenPath}); err != nil {
		return nil, err
	}
	a.svc.Container = a.auth
	a.svc.ScopeAllows = fhir.ScopeAllows
	return a, nil
}

// Hooks of the benchmark-only build (tag havenbench_unprotected, see
// unprotected.go). In every other build they change nothing, as
// TestProtectedBuildHooks checks.
var (
	wrapStore   = func(_ context.Context, _ options, s store.Store) (store.Store, error) { return s, nil }
	checkListen = func(net.Addr) error { return nil }
)

// openStore opens the configured store: PostgreSQL if a URL is given,
// else the data directory's SQLite file (created only if create is set).
func openStore(ctx context.Context, opt options, create bool) (*sqlstore.DB, error) {
	if opt.databaseURL != "" {
		return postgres.Open(ctx, opt.databaseURL)
	}
	path := filepath.Join(opt.data, databaseFile)
	if _, err := os.Stat(path); err != nil && !create {
		return nil, fmt.Errorf("no Haven database at %s: %w", path, err)
	}
	return sqlite.Open(ctx, path)
}

// logToFile sends the structured log to stderr and to haven.log in the
// data directory. Logs carry ids, counts and errors, never personal data.
func (a *app) logToFile() error {
	f, err := os.OpenFile(filepath.Join(a.opt.data, logFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	a.logFile = f
	a.log = slog.New(slog.NewTextHandler(io.MultiWriter(os.Stderr, f), nil))
	return nil
}

func (a *app) close() error {
	err := a.db.Close()
	if a.logFile != nil {
		a.logFile.Close()
	}
	return err
}

func (a *app) storeName() string {
	if a.opt.databaseURL != "" {
		return "PostgreSQL"
	}
	return "SQLite (" + filepath.Join(a.opt.data, databaseFile) + ")"
}

func version() string {
	v := "haven (devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = "haven " + bi.Main.Version + " built with " + bi.GoVersion
	}
	return v
}
