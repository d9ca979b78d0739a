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

	"github.com/havencare/haven/store/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed schema.sql
var schemaV1 string

// Dialect is SQLite's dialect. It has one committer because SQLite has one
// writer; group commit is what makes that writer fast.
var Dialect = &sqlstore.Dialect{
	Name:       "sqlite",
	Migrations: []string{schemaV1},
	IsUniqueViolation: func(err error) bool {
		var e *sqlite.Error
		if errors.As(err, &e) {
			c := e.Code()
			return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE
		}
		return false
	},
	Committers: 1,
}

// Open opens (creating if needed) the database file at path.
//
// synchronous=FULL makes every commit durable before Haven answers: an
// audit entry that was acknowledged must survive a power cut. Group commit
// in sqlstore pays that fsync once per batch rather than once per request.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)", "secure_delete(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// Writes go through one committer; a few more connections serve the
	// read-only audit verification.
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// The database holds only ciphertext, but keep it private all the same.
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	return sqlstore.Open(ctx, db, Dialect)
}

// Checkpoint folds the WAL into the main database file and truncates it.
func Checkpoint(ctx context.Context, s *sqlstore.DB) error {
	_, err := s.SQL().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}
