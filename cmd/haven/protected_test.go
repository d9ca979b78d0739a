//go:build !havenbench_unprotected

package main

import (
	"context"
	"net"
	"testing"

	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// TestProtectedBuildHooks: in a normal build the hooks of the
// benchmark-only build (unprotected.go) change nothing. The record and
// identity services get the store itself, sealing encrypts, and listening
// is governed by serve's own rules alone.
func TestProtectedBuildHooks(t *testing.T) {
	if seal.Unprotected {
		t.Fatal("seal.Unprotected is set in a normal build")
	}
	a, err := open(context.Background(), options{data: t.TempDir()}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if a.svc.Store() != store.Store(a.db) {
		t.Fatalf("the record service's store is %T, not the store itself", a.svc.Store())
	}
	st, err := wrapStore(context.Background(), options{databaseURL: "postgres://x"}, a.db)
	if err != nil || st != store.Store(a.db) {
		t.Fatalf("wrapStore changed the store: %T %v", st, err)
	}
	if err := checkListen(&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 443}); err != nil {
		t.Fatalf("checkListen refused in a normal build: %v", err)
	}
}
