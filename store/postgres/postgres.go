// Package postgres is Haven's production store: PostgreSQL through pgx,
// with row-level security as a second wall between tenants.
package postgres

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"

	"github.com/havencare/haven/store/sqlstore"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
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

// Dialect is PostgreSQL's dialect. Several committers work at once, each
// owning a fixed share of tenants.
var Dialect = &sqlstore.Dialect{
	Name:           "postgres",
	Migrations:     []string{schemaV1, schemaV2, schemaV3},
	NumberedParams: true,
	RowLock:        " FOR UPDATE",
	// EnterTenant sets haven.tenant for the rest of the transaction, which
	// the row-level-security policies compare with every row's tenant_id.
	EnterTenant: func(ctx context.Context, tx *sql.Tx, tenant string) error {
		_, err := tx.ExecContext(ctx, `SELECT set_config('haven.tenant', $1, true)`, tenant)
		return err
	},
	IsUniqueViolation: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	Committers: 4,
}

// Open connects to the database at url and migrates it.
//
// Row-level security binds every role except superusers and roles with
// BYPASSRLS: connect as an ordinary role that owns the schema (the policies
// are FORCEd, so they bind the owner too).
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(Dialect.Committers + 4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s, err := sqlstore.Open(ctx, db, Dialect)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
