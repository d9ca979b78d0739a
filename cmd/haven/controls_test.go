package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/policy"
)

// runOut runs the haven command line and returns what it printed on
// standard output.
func runOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stdout, stderr := os.Stdout, os.Stderr
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	os.Stdout, os.Stderr = f, devnull
	runErr := run(args)
	os.Stdout, os.Stderr = stdout, stderr
	out, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(out), runErr
}

// mustRun runs the command line and fails the test if it fails.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runOut(t, args...)
	if err != nil {
		t.Fatalf("haven %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// wantExit fails the test unless the command line exits with code.
func wantExit(t *testing.T, code int, args ...string) error {
	t.Helper()
	_, err := runOut(t, args...)
	var ee exitError
	switch {
	case code == 1 && err != nil && !errors.As(err, &ee):
		return err // an error main prints, exit status 1
	case errors.As(err, &ee) && ee.code == code:
		return err
	}
	t.Fatalf("haven %s: got %v, want exit status %d", strings.Join(args, " "), err, code)
	return nil
}

// aligned checks that column starts on the table's header line at the
// same place as value does on the row holding key: the table is aligned.
func aligned(t *testing.T, out, column, key, value string) {
	t.Helper()
	var header, row string
	for _, line := range strings.Split(out, "\n") {
		if header == "" && strings.Contains(line, column) {
			header = line
		}
		if row == "" && strings.Contains(line, key) {
			row = line
		}
	}
	k := strings.Index(row, key)
	v := strings.Index(row[max(k, 0):], value)
	if header == "" || k < 0 || v < 0 || strings.Index(header, column) != k+v {
		t.Fatalf("column %s is not aligned with %q on the row of %q:\n%s", column, value, key, out)
	}
}

// demoPerson is a person of the demo tenant who is not a canary.
func demoPerson(t *testing.T, a *app) string {
	t.Helper()
	recs, err := a.svc.List(context.Background(), operator(demoTenant, "test"), haven.KindPerson, "", 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if p := r.(*haven.Person); !p.Canary {
			return p.ID
		}
	}
	t.Fatal("no person who is not a canary")
	return ""
}

// breakGlass has a clinician open a lease on a demo person, which raises
// an alert for the reviewers.
func breakGlass(t *testing.T, a *app) care.Lease {
	t.Helper()
	p := haven.Principal{ID: "a-clinician", TenantID: demoTenant, Role: haven.RoleClinician, SteppedUp: true}
	l, err := a.svc.BreakGlass(context.Background(), p, demoPerson(t, a), "collapsed at home, needs medication history")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestAlertsCommands: the console lists alerts as a table or JSON and
// acknowledges them once, with a note.
func TestAlertsCommands(t *testing.T) {
	a, dir := seededApp(t, 5)
	defer a.close()
	lease := breakGlass(t, a)

	out := mustRun(t, "alerts", "list", "--data", dir, "--tenant", demoTenant)
	var alertID string
	alerts, err := a.svc.Alerts(context.Background(), operator(demoTenant, "test"), care.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, al := range alerts {
		if al.Rule == guard.RuleBreakGlass && strings.Contains(al.Detail, lease.ID) {
			alertID = al.ID
		}
	}
	if alertID == "" || !strings.Contains(out, alertID) || !strings.Contains(out, "break-glass") || !strings.Contains(out, "open") {
		t.Fatalf("alerts list (alert %q):\n%s", alertID, out)
	}
	aligned(t, out, "RULE", alertID, "break-glass")

	// --tenant may be left out: the supplier's partition is no care
	// organisation, so the demo is the only one.
	var listed struct {
		Tenant string
		Alerts []care.Alert
	}
	out = mustRun(t, "alerts", "list", "--data", dir, "--open", "--json")
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("alerts list --json: %v\n%s", err, out)
	}
	if listed.Tenant != demoTenant || len(listed.Alerts) == 0 {
		t.Fatalf("alerts list --json: %+v", listed)
	}

	wantExit(t, 2, "alerts", "ack", "--data", dir, "--id", alertID)         // no note
	wantExit(t, 2, "alerts", "ack", "--data", dir, "--note", "seen")        // no id
	wantExit(t, 2, "alerts", "list", "--data", dir, "--note", "not a list") // a flag of another command
	wantExit(t, 2, "alerts", "mute", "--data", dir)
	if err := wantExit(t, 1, "alerts", "ack", "--data", dir, "--id", "no-such-alert", "--note", "seen"); !strings.Contains(err.Error(), "no alert") {
		t.Fatalf("ack of an unknown alert: %v", err)
	}
	if err := wantExit(t, 1, "alerts", "list", "--data", dir, "--tenant", "_supplier"); !strings.Contains(err.Error(), "no care organisation") {
		t.Fatalf("alerts of the supplier partition: %v", err)
	}

	out = mustRun(t, "alerts", "ack", "--data", dir, "--tenant", demoTenant, "--id", alertID, "--note", "Reviewed with the clinician")
	if !strings.Contains(out, "Acknowledged alert "+alertID) {
		t.Fatalf("ack: %q", out)
	}
	if err := wantExit(t, 1, "alerts", "ack", "--data", dir, "--id", alertID, "--note", "again"); !strings.Contains(err.Error(), "acknowledged by system") {
		t.Fatalf("second ack: %v", err)
	}
	out = mustRun(t, "alerts", "list", "--data", dir, "--open")
	if strings.Contains(out, alertID) {
		t.Fatalf("the acknowledged alert is listed as open:\n%s", out)
	}
	out = mustRun(t, "alerts", "list", "--data", dir)
	if !strings.Contains(out, "acknowledged by system") {
		t.Fatalf("alerts list after ack:\n%s", out)
	}
}

// TestLeasesCommands: the review queue at the console.
func TestLeasesCommands(t *testing.T) {
	a, dir := seededApp(t, 5)
	defer a.close()
	lease := breakGlass(t, a)

	out := mustRun(t, "leases", "list", "--data", dir, "--pending")
	if !strings.Contains(out, lease.ID) || !strings.Contains(out, "pending") || !strings.Contains(out, "waiting for review in demo: 1") {
		t.Fatalf("leases list --pending:\n%s", out)
	}
	aligned(t, out, "PERSON", lease.ID, lease.PersonID)

	wantExit(t, 2, "leases", "review", "--data", dir, "--id", lease.ID, "--finding", "fine")                                 // no verdict
	wantExit(t, 2, "leases", "review", "--data", dir, "--id", lease.ID, "--justified", "--unjustified", "--finding", "fine") // both
	wantExit(t, 2, "leases", "review", "--data", dir, "--id", lease.ID, "--justified")                                       // no finding
	if err := wantExit(t, 1, "leases", "review", "--data", dir, "--id", "no-such-lease", "--justified", "--finding", "fine"); !strings.Contains(err.Error(), "no lease") {
		t.Fatalf("review of an unknown lease: %v", err)
	}

	out = mustRun(t, "leases", "review", "--data", dir, "--id", lease.ID, "--unjustified", "--finding", "No emergency; raised with the clinician's manager.")
	if !strings.Contains(out, "not justified") {
		t.Fatalf("review: %q", out)
	}
	if err := wantExit(t, 1, "leases", "review", "--data", dir, "--id", lease.ID, "--justified", "--finding", "again"); !strings.Contains(err.Error(), "reviewed by system") {
		t.Fatalf("second review: %v", err)
	}
	out = mustRun(t, "leases", "list", "--data", dir, "--pending")
	if strings.Contains(out, lease.ID) {
		t.Fatalf("the reviewed lease is still pending:\n%s", out)
	}
	var listed struct{ Leases []care.Lease }
	if err := json.Unmarshal([]byte(mustRun(t, "leases", "list", "--data", dir, "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed.Leases) != 1 || listed.Leases[0].Justified || listed.Leases[0].Reviewer != "system" || listed.Leases[0].Reviewed.IsZero() {
		t.Fatalf("reviewed lease: %+v", listed.Leases)
	}
}

// TestSettingsCommand: print and change a tenant's thresholds; settings
// that cannot be right are refused with the reason and change nothing;
// the webhook secret is never printed.
func TestSettingsCommand(t *testing.T) {
	ctx := context.Background()
	a, dir := seededApp(t, 2)
	defer a.close()
	console := operator(demoTenant, "test")
	const secret = "s3cret-webhook-signing-key"

	out := mustRun(t, "admin", "settings", "--data", dir, "--tenant", demoTenant)
	for _, want := range []string{"deniedLimit", "window", "homeAccessLead", "webhookSecret", "(not set)", "carer"} {
		if !strings.Contains(out, want) {
			t.Fatalf("settings lack %q:\n%s", want, out)
		}
	}
	aligned(t, out, "PER HOUR", "  carer ", strconv.Itoa(guard.Defaults().Budgets[haven.RoleCarer].PerHour))

	out = mustRun(t, "admin", "settings", "--data", dir, "--tenant", demoTenant,
		"--set", "budget.carer.hour=20", "--set", "budget.carer.day=40", "--set", "deniedLimit=3", "--set", "window=15m",
		"--set", "workStart=7", "--set", "workEnd=22", "--set", "zone=Europe/Dublin", "--set", "homeAccessLead=45m",
		"--set", "newNetworkAlert=false", "--set", "webhookUrl=https://alerts.demo.example/haven", "--set", "webhookSecret="+secret)
	if strings.Contains(out, secret) {
		t.Fatalf("settings printed the webhook secret:\n%s", out)
	}
	st, err := a.svc.Settings(ctx, console)
	if err != nil {
		t.Fatal(err)
	}
	want := guard.Defaults()
	want.Budgets[haven.RoleCarer] = guard.Budget{PerHour: 20, PerDay: 40}
	want.DeniedLimit, want.Window, want.WorkStart, want.WorkEnd, want.Zone = 3, guard.Duration(15*time.Minute), 7, 22, "Europe/Dublin"
	want.HomeAccessLead, want.NewNetworkAlert = guard.Duration(45*time.Minute), false
	want.WebhookURL, want.WebhookSecret = "https://alerts.demo.example/haven", secret
	if got, _ := json.Marshal(st); string(got) != string(must(json.Marshal(want))) {
		t.Fatalf("stored settings:\n%s\nwant\n%s", got, must(json.Marshal(want)))
	}
	out = mustRun(t, "admin", "settings", "--data", dir, "--json")
	if strings.Contains(out, secret) || strings.Contains(out, "webhookSecret") {
		t.Fatalf("settings --json printed the webhook secret:\n%s", out)
	}

	// Refused: nothing is saved, and the message says what is wrong.
	for _, c := range []struct {
		code int
		set  []string
		says string
	}{
		{1, []string{"budget.carer.hour=50"}, "daily budget is smaller"},
		{1, []string{"budget.nurse.day=0"}, "only the system role may have no limit"},
		{1, []string{"window=10s"}, "window: must be between 1m and 24h"},
		{1, []string{"homeAccessLead=3h"}, "homeAccessLead: at most 2h"},
		{1, []string{"webhookUrl=http://alerts.example/x"}, "webhookUrl: must be https"},
		{1, []string{"webhookUrl=https://alerts.example/x", "webhookSecret=short"}, "webhookSecret"},
		{2, []string{"window=soon"}, ""},
		{2, []string{"deniedLimit=0"}, ""},
		{2, []string{"deniedLimit=many"}, ""},
		{2, []string{"workEnd=25"}, ""},
		{2, []string{"zone=Mars/Olympus"}, ""},
		{2, []string{"budget.janitor.hour=5"}, ""},
		{2, []string{"budget.carer.week=5"}, ""},
		{2, []string{"lockout=1"}, ""},
		{2, []string{"deniedLimit"}, ""},
	} {
		args := []string{"admin", "settings", "--data", dir}
		for _, s := range c.set {
			args = append(args, "--set", s)
		}
		err := wantExit(t, c.code, args...)
		if c.says != "" && !strings.Contains(err.Error(), c.says) {
			t.Errorf("--set %v: error %q does not say %q", c.set, err, c.says)
		}
	}
	if after, err := a.svc.Settings(ctx, console); err != nil || string(must(json.Marshal(after))) != string(must(json.Marshal(st))) {
		t.Fatalf("refused changes changed the settings: %+v, %v", after, err)
	}

	// The secret can come from standard input, out of shell history.
	in := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(in, []byte("another-long-signing-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stdin := os.Stdin
	os.Stdin = f
	mustRun(t, "admin", "settings", "--data", dir, "--set", "webhookSecret=-")
	os.Stdin = stdin
	if st, err := a.svc.Settings(ctx, console); err != nil || st.WebhookSecret != "another-long-signing-secret" {
		t.Fatalf("secret from standard input: %q, %v", st.WebhookSecret, err)
	}
}

// TestSupportCommands: the console lists and revokes supplier-support
// grants, and cannot approve them.
func TestSupportCommands(t *testing.T) {
	ctx := context.Background()
	a, dir := seededApp(t, 5)
	defer a.close()
	supplier := haven.Principal{ID: "a-support", Role: haven.RoleSupplierSupport, SupportTenant: demoTenant}
	asked, err := a.svc.RequestSupport(ctx, supplier, "T-2207", "Visits for one person do not show on the rota")
	if err != nil {
		t.Fatal(err)
	}
	granted, err := a.svc.RequestSupport(ctx, supplier, "T-2208", "Care plan for one person will not save")
	if err != nil {
		t.Fatal(err)
	}
	admin := haven.Principal{ID: "a-admin", TenantID: demoTenant, Role: haven.RoleTenantAdmin, SteppedUp: true}
	if _, err := a.svc.DecideSupport(ctx, admin, granted.ID, true, []policy.Action{policy.ReadRecord, policy.WriteRecord}, 2*time.Hour); err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, "support", "list", "--data", dir)
	for _, want := range []string{asked.ID, granted.ID, "T-2207", "approved (live)", "read-record,write-record", "requested", "2, of which 1 give access now"} {
		if !strings.Contains(out, want) {
			t.Fatalf("support list lacks %q:\n%s", want, out)
		}
	}
	aligned(t, out, "TICKET", granted.ID, "T-2208")

	// Approval is the controller's: the console has no such command, and
	// its help says why.
	wantExit(t, 2, "support", "approve", "--data", dir, "--id", asked.ID)
	if out := mustRun(t, "support", "-h"); !strings.Contains(out, "only the care\norganisation's own administrator approve") {
		t.Fatalf("support help does not say why there is no approval:\n%s", out)
	}
	// Nor can the record service be talked into it at the console.
	if _, err := a.svc.DecideSupport(ctx, operator(demoTenant, "test"), asked.ID, true, []policy.Action{policy.ReadRecord}, time.Hour); !errors.Is(err, haven.ErrForbidden) {
		t.Fatalf("console approval: %v", err)
	}

	wantExit(t, 2, "support", "revoke", "--data", dir)
	if err := wantExit(t, 1, "support", "revoke", "--data", dir, "--id", "no-such-grant"); !strings.Contains(err.Error(), "no grant") {
		t.Fatalf("revoke of an unknown grant: %v", err)
	}
	out = mustRun(t, "support", "revoke", "--data", dir, "--tenant", demoTenant, "--id", granted.ID)
	if !strings.Contains(out, "Revoked") {
		t.Fatalf("revoke: %q", out)
	}
	var listed struct{ Grants []care.SupportGrant }
	if err := json.Unmarshal([]byte(mustRun(t, "support", "list", "--data", dir, "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	for _, g := range listed.Grants {
		if g.ID == granted.ID && (g.Status != care.GrantRevoked || g.DecidedBy != "system") {
			t.Fatalf("revoked grant: %+v", g)
		}
	}
	// Revoked means no access, even stepped up.
	supplier.SteppedUp = true
	if _, err := a.svc.PersonRecord(ctx, supplier, demoPerson(t, a)); !errors.Is(err, haven.ErrForbidden) {
		t.Fatalf("read after revocation: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
