// Package sqlstore is the SQL core shared by Haven's SQLite and PostgreSQL
// stores. Queries are written once with '?' placeholders; a Dialect says how
// one database differs (placeholders, schema, how a transaction learns its
// tenant).
package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// Dialect describes one SQL database.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Migrations are the schema versions in order; Migrations[i] takes the
	// schema from version i to i+1. Released migrations never change.
	Migrations []string
	// NumberedParams rewrites '?' placeholders as $1, $2, ... (PostgreSQL).
	NumberedParams bool
	// EnterTenant runs at the start of every tenant-scoped unit of work.
	// PostgreSQL uses it to set the row-level-security tenant, the second
	// wall behind the queries' own tenant_id conditions.
	EnterTenant func(ctx context.Context, tx *sql.Tx, tenant string) error
	// IsUniqueViolation reports whether err is a primary-key clash.
	IsUniqueViolation func(err error) bool
	// RowLock is appended to the audit head query to lock the row until
	// commit (" FOR UPDATE" on PostgreSQL; SQLite locks the whole database).
	RowLock string
	// Committers is how many batches may commit at once. SQLite has one
	// writer; PostgreSQL takes several, each owning a fixed set of tenants so
	// that no two batches wait on one tenant's audit head.
	Committers int
	// IndexHints names, in the few queries that need it, the index to read
	// through (SQLite's INDEXED BY). Without statistics SQLite reads a
	// tenant's audit entries by person or by actor through the primary
	// key, because that gives them in the order asked for, and so reads
	// every entry of the tenant; the hint makes it read the few entries
	// the index finds and sort them. With the hint, a query the index
	// cannot serve fails rather than scans. PostgreSQL plans from
	// statistics and takes no hints.
	IndexHints bool
}

// indexedBy returns the clause that makes a query read through index, or
// nothing where the dialect takes no hints.
func (d *Dialect) indexedBy(index string) string {
	if !d.IndexHints {
		return ""
	}
	return " INDEXED BY " + index
}

// Rebind rewrites a query's '?' placeholders for the dialect.
func (d *Dialect) Rebind(q string) string {
	if !d.NumberedParams {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
