package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/havencare/haven/store/sqlite"
	"github.com/havencare/haven/store/sqlstore"
	"github.com/havencare/haven/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Harness{Open: func(t *testing.T) (*sqlstore.DB, *sql.DB) {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "haven.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db, db.SQL()
	}})
}
