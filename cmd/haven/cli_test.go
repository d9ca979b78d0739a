package main

import (
	"context"
	"errors"
	"github.com/havencare/haven"
	"os"
	"strings"
	"testing"
)

// TestAuditVerifyExitStatus: operators' scripts rely on "haven audit
// verify" exiting 0 only when the whole log verifies.
func TestAuditVerifyExitStatus(t *testing.T) {
	ctx := context.Background()
	a, dir := seededApp(t, 5)
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	if _, err := a.svc.Checkpoint(ctx, a.signer); err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = devnull
	defer func() { os.Stdout = stdout }()
	if err := run([]string{"audit", "verify", "--data", dir}); err != nil {
		t.Fatalf("clean log: %v", err)
	}
	if _, err := a.db.SQL().Exec(`UPDATE audit_entries SET actor = 'nobody' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	a.close()
	var err error
	// Verification needs neither the master key nor the signing key.
	os.Remove(dir + "/" + masterKeyFile)
	err = run([]string{"audit", "verify", "--data", dir})
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("tampered log: got %v, want exit status 1", err)
	}
	if err := run([]string{"audit", "verify", "--data", t.TempDir()}); err == nil {
		t.Fatal("verify of an empty directory succeeded")
	}
	if err := run([]string{"audit", "verify", "--bogus"}); !errors.As(err, &ee) || ee.code != 2 {
		t.Fatalf("usage error: got %v, want exit status 2", err)
	}
}

// seededApp opens a new data directory with a demo organisation of n
// people, as "haven demo" would.
func seededApp(t *testing.T, n int) (*app, string) {
	t.Helper()
	dir := t.TempDir()
	a, err := open(context.Background(), options{data: dir}, true)
	if err != nil {
		t.Fatal(err)
	}
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	if _, err := a.seedDemo(context.Background(), n, devnull); err != nil {
		t.Fatal(err)
	}
	return a, dir
}

// TestDemoPrintsWorkingEnrolmentLinks: the demo's accounts start from
// one-time links, which a later run replaces for anyone not yet set up.
func TestDemoPrintsWorkingEnrolmentLinks(t *testing.T) {
	ctx := context.Background()
	a, _ := seededApp(t, 2)
	defer a.close()
	first, err := a.demoAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(demoAccounts) {
		t.Fatalf("%d links, want %d", len(first), len(demoAccounts))
	}
	token := func(link string) string { return link[strings.LastIndex(link, "/")+1:] }
	for email, link := range first {
		info, err := a.auth.OpenInvite(ctx, token(link))
		if err != nil || info.Email != email {
			t.Fatalf("link for %s: %v (%s)", email, err, info.Email)
		}
	}
	// The demo carer is the carer that care teams and visits name.
	accts, err := a.auth.Accounts(ctx, operator(demoTenant, "test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, acct := range accts {
		if acct.Role == haven.RoleCarer && acct.StaffID == "" {
			t.Fatal("the demo carer's account is not linked to a staff record")
		}
	}
	second, err := a.demoAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for email, link := range first {
		if _, err := a.auth.OpenInvite(ctx, token(link)); err == nil {
			t.Fatalf("the first run's link for %s still works after a new one was printed", email)
		}
		if second[email] == link {
			t.Fatal("the same link was printed twice")
		}
	}
}

// TestAdminCommands: the first operator and a tenant's first admin are
// created from the console with one-time links, never passwords.
func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	stdout := os.Stdout
	os.Stdout = devnull
	defer func() { os.Stdout = stdout }()
	for _, args := range [][]string{
		{"admin", "create-operator", "--data", dir, "--email", "ops@supplier.example", "--name", "Olu Operator"},
		{"admin", "create-tenant", "--data", dir, "--id", "aire-valley", "--name", "Aire Valley Home Care"},
		{"admin", "invite", "--data", dir, "--tenant", "aire-valley", "--email", "ana@aire.example", "--name", "Ana Admin"},
		{"admin", "reinvite", "--data", dir, "--email", "ana@aire.example"},
	} {
		if err := run(args); err != nil {
			t.Fatalf("%v: %v", args[1:2], err)
		}
	}
	for _, bad := range [][]string{
		{"admin", "create-tenant", "--data", dir, "--id", "_supplier", "--name", "x"},
		{"admin", "invite", "--data", dir, "--tenant", "aire-valley", "--email", "ana@aire.example", "--name", "Again"},
		{"admin", "invite", "--data", dir, "--tenant", "aire-valley", "--email", "x@aire.example", "--name", "X", "--role", "supplier-operator"},
		{"admin", "invite", "--data", dir, "--tenant", "aire-valley", "--email", "x@aire.example"},
		{"admin", "unlock", "--data", dir, "--email", "nobody@aire.example"},
	} {
		if err := run(bad); err == nil {
			t.Errorf("%v succeeded", bad)
		}
	}
	a, err := open(context.Background(), options{data: dir}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	accts, err := a.auth.Accounts(context.Background(), operator("aire-valley", "test"))
	if err != nil || len(accts) != 1 || accts[0].Role != "tenant-admin" || accts[0].Status != "invited" {
		t.Fatalf("aire-valley accounts: %+v, %v", accts, err)
	}
	ops, err := a.auth.Accounts(context.Background(), operator("", "test"))
	if err != nil || len(ops) != 1 || ops[0].Role != "supplier-operator" {
		t.Fatalf("supplier accounts: %+v, %v", ops, err)
	}
}
