//go:build havenbench_unprotected

package main

// Run with: go test -tags havenbench_unprotected -run Unprotected ./cmd/haven/
// (the other tests of this package check protection, which this build
// switches off on purpose).

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sqlite"
)

func TestUnprotectedBuildRefusals(t *testing.T) {
	for _, ip := range []string{"0.0.0.0", "192.0.2.1", "::"} {
		if err := checkListen(&net.TCPAddr{IP: net.ParseIP(ip), Port: 8080}); err == nil {
			t.Errorf("listening on %s allowed", ip)
		}
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if err := checkListen(&net.TCPAddr{IP: net.ParseIP(ip), Port: 8080}); err != nil {
			t.Errorf("listening on %s refused: %v", ip, err)
		}
	}
	ctx := context.Background()
	if _, err := open(ctx, options{data: t.TempDir(), databaseURL: "postgres://localhost/x"}, true); err == nil {
		t.Error("PostgreSQL accepted")
	}
	// A data directory that a protected Haven made (a tenant, no marker)
	// is refused; a fresh one is marked and reopens.
	dir := t.TempDir()
	if _, err := initDataDir(dir); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTenant(ctx, haven.Tenant{ID: "real", Name: "Real"}, store.TenantKeys{Data: []byte("d"), Index: []byte("i")}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := open(ctx, options{data: dir}, true); err == nil {
		t.Error("opened a protected data directory")
	}
	fresh := t.TempDir()
	for i := 0; i < 2; i++ {
		a, err := open(ctx, options{data: fresh}, true)
		if err != nil {
			t.Fatalf("open %d of a fresh directory: %v", i, err)
		}
		if a.svc.Store() == store.Store(a.db) {
			t.Error("audit is not switched off")
		}
		a.close()
	}
}
