package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/store"
	"golang.org/x/mod/sumdb/note"
)

func cmdAudit(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, "usage: haven audit verify|checkpoint|who-accessed [options]\n")
		return exitError{2}
	}
	switch args[0] {
	case "verify":
		return cmdAuditVerify(args[1:])
	case "checkpoint":
		return cmdAuditCheckpoint(args[1:])
	case "who-accessed":
		return cmdWhoAccessed(args[1:])
	}
	fmt.Fprintf(os.Stderr, "haven audit: unknown command %q (verify, checkpoint, who-accessed)\n", args[0])
	return exitError{2}
}

// cmdAuditVerify checks every tenant's audit log offline: every entry
// against its stored hash, and the rebuilt tree against every signed
// checkpoint. Exit status 0 only if the whole log verifies.
func cmdAuditVerify(args []string) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	var o options
	o.register(fs)
	vkey := fs.String("verifier-key", "", "verifier key text (the contents of audit-verifier.key) to trust instead of the data directory's audit-verifier.key (keep a copy away from the server)")
	if err := parse(fs, args); err != nil {
		return err
	}
	// Verification needs only the database and the verifier key: an
	// auditor can check a copied database without the master key.
	ctx := context.Background()
	var v note.Verifier
	var err error
	if *vkey != "" {
		v, err = audit.ParseVerifier(strings.TrimSpace(*vkey))
	} else {
		v, err = audit.LoadVerifier(o.data)
	}
	if err != nil {
		return err
	}
	db, err := openStore(ctx, o, false)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := audit.Verify(db.AuditSource(), v)
	if err != nil {
		return err
	}
	fmt.Printf("Audit log: %d tenant log(s), %d entries, %d signed checkpoints, %d entries newer than the last checkpoint.\n",
		rep.Tenants, rep.Entries, rep.Checkpoints, rep.Unanchored)
	if rep.OK() {
		fmt.Println("OK: every entry matches the log and every checkpoint signature and root verifies.")
		return nil
	}
	fmt.Printf("FAILED: %d problem(s); the first bad entry of each log is listed first.\n", len(rep.Problems))
	for _, p := range rep.Problems {
		fmt.Println("  " + p.String())
	}
	return exitError{1}
}

func cmdAuditCheckpoint(args []string) error {
	fs := flag.NewFlagSet("audit checkpoint", flag.ContinueOnError)
	var o options
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := open(context.Background(), o, false)
	if err != nil {
		return err
	}
	defer a.close()
	n, err := a.svc.Checkpoint(context.Background(), a.signer)
	if err != nil {
		return err
	}
	fmt.Printf("Signed %d new checkpoint(s).\n", n)
	return nil
}

// cmdWhoAccessed answers the blast-radius questions from the audit log.
func cmdWhoAccessed(args []string) error {
	fs := flag.NewFlagSet("audit who-accessed", flag.ContinueOnError)
	var o options
	o.register(fs)
	tenant := fs.String("tenant", "", "tenant id (default: the only tenant)")
	person := fs.String("person", "", "list every access to this person's data")
	actors := fs.String("actor", "", "comma-separated account ids: list whose data they touched")
	since := fs.String("since", "", "start of the window (RFC 3339 or YYYY-MM-DD), inclusive")
	until := fs.String("until", "", "end of the window (RFC 3339 or YYYY-MM-DD), exclusive")
	detail := fs.Bool("entries", false, "list every entry, not only the summary")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*person == "") == (*actors == "") {
		fmt.Fprintln(os.Stderr, "haven audit who-accessed: give exactly one of --person or --actor")
		return exitError{2}
	}
	q := store.AuditQuery{PersonID: *person}
	if *actors != "" {
		q.Actors = strings.Split(*actors, ",")
	}
	var err error
	if q.Since, err = parseWhen(*since); err != nil {
		fmt.Fprintln(os.Stderr, "haven audit who-accessed: --since:", err)
		return exitError{2}
	}
	if q.Until, err = parseWhen(*until); err != nil {
		fmt.Fprintln(os.Stderr, "haven audit who-accessed: --until:", err)
		return exitError{2}
	}
	ctx := context.Background()
	a, err := open(ctx, o, false)
	if err != nil {
		return err
	}
	defer a.close()
	tid, err := a.pickTenant(ctx, *tenant)
	if err != nil {
		return err
	}
	entries, err := a.svc.AccessReport(ctx, operator(tid, "blast-radius query"), q)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	if *person != "" {
		fmt.Fprintf(w, "Accesses to person %s in tenant %s: %d\n\n", *person, tid, len(entries))
		fmt.Fprintln(w, "TIME (UTC)\tACTOR\tROLE\tACTION\tRECORD\tPURPOSE\tOUTCOME\tFROM")
		for _, e := range entries {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\n", e.Time.Format(time.DateTime), e.Actor, e.ActorRole, e.Action, e.Kind, e.RecordID, e.Purpose, e.Outcome, e.ClientAddr)
		}
		return nil
	}
	people := care.PeopleTouched(entries)
	ids := make([]string, 0, len(people))
	for id := range people {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(w, "Account(s) %s in tenant %s touched the data of %d distinct people (%d audit entries).\n\n", *actors, tid, len(ids), len(entries))
	fmt.Fprintln(w, "PERSON\tACCESSES")
	for _, id := range ids {
		fmt.Fprintf(w, "%s\t%d\n", id, people[id])
	}
	if *detail {
		fmt.Fprintln(w, "\nTIME (UTC)\tACTOR\tACTION\tRECORD\tPERSON\tOUTCOME")
		for _, e := range entries {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s %s\t%s\t%s\n", e.Time.Format(time.DateTime), e.Actor, e.Action, e.Kind, e.RecordID, e.PersonID, e.Outcome)
		}
	}
	return nil
}

func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-29T09:00:00Z) or YYYY-MM-DD", s)
}

// pickTenant returns id if it names a care organisation, else the only one.
func (a *app) pickTenant(ctx context.Context, id string) (string, error) {
	return careTenant(ctx, a, id)
}
