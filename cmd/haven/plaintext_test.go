package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/store/sqlite"
)

// TestNoPlaintextAtRest is invariant 4 as an attack: someone who copies the
// whole data directory (database, WAL, shared memory, log) must find none
// of the personal data in it. It seeds distinctive values, runs a workload
// of reads, searches, updates and an erasure, folds the WAL into the
// database, and scans every byte of every file for every value.
func TestNoPlaintextAtRest(t *testing.T) {
	ctx := context.Background()
	a, dir := seededApp(t, 40)
	if err := a.logToFile(); err != nil {
		t.Fatal(err)
	}
	// Values no random ciphertext will contain by chance.
	marked := &haven.Person{ID: "marked", NHSNumber: "9434765919", Given: "Zebedee", Family: "Quarrington-Vole",
		BirthDate: haven.MustDate("1931-02-03"), Gender: "male", Phone: "07700 900777",
		Address: haven.Address{Lines: []string{"17 Wistful Vista"}, City: "Otley", Postcode: "LS21 9ZZ"}}
	access := &haven.HomeAccess{ID: "marked-access", PersonID: "marked", KeySafeCode: "KS7Q4Z9931",
		EntryInstructions: "Key safe behind the blue heron statue", Hazards: "Parrot named Brigadier"}
	erased := &haven.Person{ID: "erased", NHSNumber: "9434765870", Given: "Ottoline", Family: "Fennimore-Crake",
		BirthDate: haven.MustDate("1944-04-04"), Gender: "female", Phone: "01134960777"}
	p := operator(demoTenant, "test")
	for _, r := range []haven.Record{marked, access, erased} {
		if _, err := a.svc.Create(ctx, p, r); err != nil {
			t.Fatal(err)
		}
	}
	// Workload: read, search every way, update, reveal, erase.
	if _, err := a.svc.PersonRecord(ctx, p, "marked"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []care.Query{{NHSNumber: "9434765919"}, {Family: "Quarrington-Vole"}, {Phone: "07700900777"}, {BirthDate: "1931-02-03"}} {
		if got, err := a.svc.Search(ctx, p, q); err != nil || len(got) == 0 {
			t.Fatalf("search %+v: %v %v", q, got, err)
		}
	}
	marked.Given = "Zebedee-Ignatius"
	if _, err := a.svc.Update(ctx, p, marked, 1); err != nil {
		t.Fatal(err)
	}
	// Only a carer at a visit reveals home access: file one, with a visit
	// under way, and reveal as them.
	now := a.svc.Now()
	for _, r := range []haven.Record{
		&haven.Staff{ID: "marked-carer", Name: "Marked Carer", Role: haven.RoleCarer, Email: "marked.carer@example.org", Service: "Home care"},
		&haven.CareTeam{ID: "marked-team", PersonID: "marked", Name: "Home care", StaffIDs: []string{"marked-carer"}, Service: "Home care"},
		&haven.Visit{ID: "marked-visit", PersonID: "marked", StaffID: "marked-carer", Start: now.Add(-5 * time.Minute), End: now.Add(40 * time.Minute), Status: "in-progress"},
	} {
		if _, err := a.svc.Create(ctx, p, r); err != nil {
			t.Fatal(err)
		}
	}
	carer := haven.Principal{ID: "marked-account", TenantID: demoTenant, Role: haven.RoleCarer, StaffID: "marked-carer", SteppedUp: true, Purpose: "direct care"}
	if _, _, err := a.svc.Get(ctx, carer, haven.KindHomeAccess, "marked-access"); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Erase(ctx, p, "erased"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Checkpoint(ctx, a.signer); err != nil {
		t.Fatal(err)
	}
	a.log.Info("workload done", "at", time.Now())

	secrets := []string{"Zebedee", "Quarrington", "9434765919", "943 476 5919", "07700900777", "07700 900777",
		"Wistful Vista", "LS21 9ZZ", "1931-02-03", "KS7Q4Z9931", "blue heron", "Brigadier",
		"Ottoline", "Fennimore", "9434765870", "01134960777", "1944-04-04"}
	// And the demo's own people and staff: names, phones, NHS numbers, emails.
	list, err := a.svc.List(ctx, p, haven.KindPerson, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		pr := r.(*haven.Person)
		if pr.Canary || pr.ID == "marked" {
			continue
		}
		secrets = append(secrets, pr.Given+" "+pr.Family, pr.NHSNumber, haven.NormalizePhone(pr.Phone), pr.Phone)
	}
	staff, err := a.svc.List(ctx, p, haven.KindStaff, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range staff {
		secrets = append(secrets, r.(*haven.Staff).Email, r.(*haven.Staff).Name)
	}
	if err := sqlite.Checkpoint(ctx, a.db); err != nil {
		t.Fatal(err)
	}
	scan := func(stage string) {
		files := 0
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for _, s := range secrets {
				if s != "" && bytes.Contains(b, []byte(s)) {
					t.Errorf("%s: %q found in plaintext in %s", stage, s, filepath.Base(path))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files < 3 {
			t.Fatalf("%s: scanned only %d files", stage, files)
		}
		t.Logf("%s: scanned %d files for %d values", stage, files, len(secrets))
	}
	scan("while running")
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	scan("after shutdown")
}
