package postgres_test

import (
	"database/sql"
	"testing"

	"github.com/havencare/haven/store/postgres/pgtest"
	"github.com/havencare/haven/store/sqlstore"
	"github.com/havencare/haven/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, harness)
}

func BenchmarkPersonRead(b *testing.B) { storetest.Bench(b, harness) }

var harness = storetest.Harness{Open: func(t testing.TB) (*sqlstore.DB, *sql.DB) {
	db := pgtest.Open(t)
	return db, pgtest.Superuser(t, db)
}}
