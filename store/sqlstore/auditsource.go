package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/havencare/haven/audit"
	"golang.org/x/mod/sumdb/tlog"
)

// auditSource reads every tenant's audit log for offline verification. It
// reads rows exactly as stored, so tampering shows up in audit.Verify.
type auditSource struct{ s *DB }

var _ audit.Source = (*auditSource)(nil)

// querier is what auditSource reads through: a plain connection where the
// dialect needs no tenant setting, or a transaction entered into the tenant.
type querier interface {
	Query(q string, args ...any) (*sql.Rows, error)
	QueryRow(q string, args ...any) *sql.Row
}

// read runs fn against the database as tenant. SQLite reads without a
// transaction (WAL readers never wait for the writer); PostgreSQL reads in
// a read-only transaction that enters the tenant for row-level security.
func (a *auditSource) read(tenant string, fn func(querier) error) error {
	if a.s.d.EnterTenant == nil || tenant == "" {
		return fn(a.s.reads.db)
	}
	ctx := context.Background()
	tx, err := a.s.reads.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := a.s.d.EnterTenant(ctx, tx, tenant); err != nil {
		return err
	}
	return fn(tx)
}

func (a *auditSource) Tenants() ([]string, error) {
	var out []string
	err := a.read("", func(tx querier) error {
		rows, err := tx.Query(a.s.q.auditTenants)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("audit tenants: %w", err)
	}
	return out, nil
}

func (a *auditSource) Entries(tenant string, fn func(audit.Entry) error) error {
	return a.read(tenant, func(tx querier) error {
		rows, err := tx.Query(a.s.q.auditEntries, tenant)
		if err != nil {
			return fmt.Errorf("audit entries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var rowTenant string
			var e audit.Entry
			var us int64
			if err := rows.Scan(&rowTenant, &e.Seq, &us, &e.Actor, &e.ActorRole, &e.Action, &e.Kind,
				&e.RecordID, &e.PersonID, &e.Purpose, &e.Outcome, &e.ClientAddr); err != nil {
				return fmt.Errorf("audit entries: %w", err)
			}
			e.Tenant = rowTenant
			e.Time = timeFromMicros(us)
			if err := fn(e); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

func (a *auditSource) StoredHash(tenant string, index int64) (tlog.Hash, bool, error) {
	var h tlog.Hash
	found := false
	err := a.read(tenant, func(tx querier) error {
		var b []byte
		err := tx.QueryRow(a.s.q.readHash, tenant, index).Scan(&b)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		if len(b) == tlog.HashSize {
			copy(h[:], b)
			found = true
		}
		return nil
	})
	return h, found, err
}

func (a *auditSource) Checkpoints(tenant string) ([][]byte, error) {
	var out [][]byte
	err := a.read(tenant, func(tx querier) error {
		rows, err := tx.Query(a.s.q.auditCheckpoints, tenant)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				return err
			}
			out = append(out, b)
		}
		return rows.Err()
	})
	return out, err
}
