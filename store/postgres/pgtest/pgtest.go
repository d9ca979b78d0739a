// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// HAVEN_TEST_POSTGRES_URL names a server and a role that may create
// databases and roles (.ci/run sets it to the local server). Each test gets
// a new database owned by a new ordinary role, so row-level security binds
// it exactly as it binds Haven in production; both are dropped afterwards.
// Without the variable, PostgreSQL tests are skipped with a message saying
// how to run them.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/havencare/haven/store/postgres"
	"github.com/havencare/haven/store/sqlstore"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// EnvVar is the environment variable naming the test server.
const EnvVar = "HAVEN_TEST_POSTGRES_URL"

// URL returns a connection URL for a fresh database and role, dropped when
// the test ends.
func URL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvVar)
	if admin == "" {
		t.Skipf("PostgreSQL tests need %s (for example postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)", EnvVar)
	}
	ctx := context.Background()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "haven_test_" + hex.EncodeToString(b)
	for _, q := range []string{
		`CREATE ROLE ` + name + ` LOGIN NOSUPERUSER NOBYPASSRLS`,
		`CREATE DATABASE ` + name + ` OWNER ` + name,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		db.ExecContext(ctx, `DROP ROLE IF EXISTS `+name)
		db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(name)
	u.Path = "/" + name
	return u.String()
}

// Superuser returns a connection to the same database as s with the test
// server's own (superuser) role, which row-level security does not bind:
// an attacker who has the database server.
func Superuser(t testing.TB, s *sqlstore.DB) *sql.DB {
	t.Helper()
	var name string
	if err := s.SQL().QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(os.Getenv(EnvVar))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Open opens a Haven store on a fresh database.
func Open(t testing.TB) *sqlstore.DB {
	t.Helper()
	s, err := postgres.Open(context.Background(), URL(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
