// Package sqlite is Haven's embedded store: one SQLite file in WAL mode,
// through the pure-Go modernc.org/sqlite driver, so Haven needs no cgo and
// no database server to run.
package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/havencare/haven/store/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed schema.sql
var schemaV1 string

// schemaV2 adds the kept versions of records (vread and _history).
//
//go:embed schema_v2.sql
var schemaV2 string

// schemaV3 adds the tenant's epoch, which lets a process keep what it read
// until a write changes it (store/sqlstore/cache.go).
//
//go:embed schema_v3.sql
var schemaV3 string

// Dialect is SQLite's dialect. It has one committer because SQLite has one
// writer; group commit is what makes that writer fast.
var Dialect = &sqlstore.Dialect{
	Name:       "sqlite",
	Migrations: []string{schemaV1, schemaV2, schemaV3},
	IsUniqueViolation: func(err error) bool {
		var e *sqlite.Error
		if errors.As(err, &e) {
			c := e.Code()
			return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE
		}
		return false
	},
	Committers: 1,
	IndexHints: true,
}

// Options tune the embedded store.
type Options struct {
	// Synchronous is SQLite's synchronous setting: "FULL" (the default)
	// makes every commit durable before Haven answers, so an acknowledged
	// audit entry survives a power cut; group commit pays that fsync once
	// per batch rather than once per request. "NORMAL" keeps the WAL's
	// crash safety but may lose the last commits on power loss; it is for
	// machines whose disks make fsync very slow, and is a documented
	// trade-off, not a default.
	Synchronous string
}

// Open opens (creating if needed) the database file at path with the
// default options.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith opens the database file at path with opt.
func OpenWith(ctx context.Context, path string, opt Options) (*sqlstore.DB, error) {
	sync := strings.ToUpper(opt.Synchronous)
	switch sync {
	case "":
		sync = "FULL"
	case "FULL", "NORMAL":
	default:
		return nil, fmt.Errorf("open sqlite: synchronous must be FULL or NORMAL, not %q", opt.Synchronous)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// temp_store(MEMORY): a batch's savepoints and multi-row inserts
	// journal the pages they change, and on disk that journal spilled to
	// a temporary file, with a system call per page, inside the single
	// writer.
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(" + sync + ")", "busy_timeout(10000)", "foreign_keys(1)", "secure_delete(ON)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// Writes go through one committer, and the schema migrations before it.
	db.SetMaxOpenConns(2)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// The database holds only ciphertext, but keep it private all the same.
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// Reads (store.View, audit verification) have connections of their
	// own: WAL readers never wait for the writer, and query_only makes
	// SQLite itself refuse any write on them.
	rq := url.Values{}
	for _, p := range []string{"query_only(1)", "busy_timeout(10000)"} {
		rq.Add("_pragma", p)
	}
	reader, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	s, err := sqlstore.OpenWithReader(ctx, db, reader, Dialect)
	if err != nil {
		reader.Close()
		db.Close()
		return nil, err
	}
	return s, nil
}

// readers bounds the read-only connections. Each holds its own page cache;
// more than a few per core only adds contention.
const readers = 8

// Checkpoint folds the WAL into the main database file and truncates it.
func Checkpoint(ctx context.Context, s *sqlstore.DB) error {
	_, err := s.SQL().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}
