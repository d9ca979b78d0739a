package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/havencare/haven/auth"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/demo"
)

// demoTenant is the demo care organisation's id.
const demoTenant = "demo"

// demoWorkers is how many people are created at once during seeding.
const demoWorkers = 16

func cmdDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var o serveOptions
	o.register(fs)
	people := fs.Int("people", demo.DefaultPeople, "how many synthetic people to create on first run")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := o.prepare(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := open(ctx, o.options, true)
	if err != nil {
		return err
	}
	defer a.close()
	counts, err := a.seedDemo(ctx, *people, os.Stdout)
	if err != nil {
		return err
	}
	links, err := a.demoAccounts(ctx)
	if err != nil {
		return err
	}
	return a.serve(ctx, o, func(addr string) { a.printDemo(addr, counts, links) })
}

// demoAccount is a member of the demo organisation's staff who can sign in.
type demoAccount struct {
	email, name string
	role        haven.Role
}

var demoAccounts = []demoAccount{
	{"carer@demo.invalid", "Sam Carer", haven.RoleCarer},
	{"admin@demo.invalid", "Alex Admin", haven.RoleTenantAdmin},
}

// demoStaffRecord picks the demo organisation's first staff record with
// role, so that the demo account is the carer that care teams and visits
// name ("" if there is none).
func (a *app) demoStaffRecord(ctx context.Context, role haven.Role) (string, error) {
	recs, err := a.svc.List(ctx, operator(demoTenant, "demo set-up"), haven.KindStaff, "", 100)
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if st := r.(*haven.Staff); st.Role == role {
			return st.ID, nil
		}
	}
	return "", nil
}

// demoAccounts makes sure the demo staff accounts exist and returns a
// fresh one-time enrolment link for each one that has not finished
// enrolling. There are no demo passwords: each person sets their own and
// adds a second factor, as in real use.
func (a *app) demoAccounts(ctx context.Context) (map[string]string, error) {
	links := map[string]string{}
	p := operator(demoTenant, "demo set-up")
	for _, d := range demoAccounts {
		_, id, err := a.auth.LookupEmail(ctx, d.email)
		var inv auth.Invitation
		switch {
		case errors.Is(err, haven.ErrNotFound):
			var staffID string
			if staffID, err = a.demoStaffRecord(ctx, d.role); err == nil {
				inv, err = a.auth.Invite(ctx, p, demoTenant, auth.NewAccount{Email: d.email, Name: d.name, Role: d.role, StaffID: staffID})
			}
		case err == nil:
			inv, err = a.auth.ReissueInvite(ctx, p, demoTenant, id)
			var inval *haven.InvalidError
			if errors.As(err, &inval) {
				continue // already enrolled: they sign in with their own password
			}
		}
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", d.email, err)
		}
		links[d.email] = inv.Link(a.opt.origin)
	}
	return links, nil
}

// seedDemo creates the demo organisation and its synthetic data on first
// run, and reports what the organisation holds.
func (a *app) seedDemo(ctx context.Context, people int, progress *os.File) (map[haven.Kind]int, error) {
	tenants, err := a.db.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tenants {
		if t.ID == demoTenant {
			fmt.Fprintf(progress, "Demo organisation already set up in %s.\n", a.opt.data)
			return nil, nil
		}
	}
	if err := a.svc.CreateTenant(ctx, haven.Tenant{ID: demoTenant, Name: "Aire Valley Home Care (demo)", ODSCode: "DEMO01"}); err != nil {
		return nil, err
	}
	ds := demo.Generate(demo.Options{People: people, Seed: 2022, Now: time.Now()})
	p := operator(demoTenant, "demo set-up")
	total := len(ds.Staff)
	for i := range ds.People {
		total += len(ds.People[i].Records())
	}
	bar := newProgress(progress, "Creating demo records", total)
	for i := range ds.Staff {
		if _, err := a.svc.Create(ctx, p, &ds.Staff[i]); err != nil {
			return nil, fmt.Errorf("seed demo: %w", err)
		}
		bar.add(1)
	}
	// People are created by several workers at once so that their writes
	// share commits; each person's own records stay in order.
	work := make(chan *demo.PersonData)
	errs := make(chan error, demoWorkers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < demoWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pd := range work {
				for _, r := range pd.Records() {
					if _, err := a.svc.Create(ctx, p, r); err != nil {
						errs <- fmt.Errorf("seed demo: %w", err)
						return
					}
					mu.Lock()
					bar.add(1)
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range ds.People {
		select {
		case work <- &ds.People[i]:
		case err := <-errs:
			close(work)
			wg.Wait()
			return nil, err
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bar.done()
	return ds.Counts(), nil
}

func (a *app) printDemo(addr string, counts map[haven.Kind]int, links map[string]string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nHaven demo is running at %s  (listening on %s)\n", a.opt.origin, addr)
	fmt.Fprintf(&b, "  store:        %s\n", a.storeName())
	fmt.Fprintf(&b, "  master key:   %s (keep it private; without it the data cannot be read)\n", a.opt.data+"/"+masterKeyFile)
	fmt.Fprintf(&b, "  organisation: %q, tenant id %q\n", "Aire Valley Home Care (demo)", demoTenant)
	if counts != nil {
		fmt.Fprintf(&b, "  created:      %d people, %d staff, %d visits in the next 7 days, %d home-access records,\n",
			counts[haven.KindPerson], counts[haven.KindStaff], counts[haven.KindVisit], counts[haven.KindHomeAccess])
		fmt.Fprintf(&b, "                %d conditions, %d medications, %d observations, %d notes, %d care plans\n",
			counts[haven.KindCondition], counts[haven.KindMedication], counts[haven.KindObservation], counts[haven.KindNote], counts[haven.KindCarePlan])
	}
	fmt.Fprintf(&b, "\nSigning in (every account needs a password and a second factor):\n")
	for _, d := range demoAccounts {
		if l, ok := links[d.email]; ok {
			fmt.Fprintf(&b, "  %-20s %-17s set up with this one-time link:\n    %s\n", d.email, d.role, l)
		} else {
			fmt.Fprintf(&b, "  %-20s %-17s already set up: sign in at %s/sign-in\n", d.email, d.role, a.opt.origin)
		}
	}
	fmt.Fprintf(&b, "  The carer can use an authenticator app (the page shows the key and a QR code) or a passkey;\n")
	fmt.Fprintf(&b, "  the admin must use a passkey. Open the links with %s, not 127.0.0.1: passkeys are bound to the name.\n", a.opt.origin)
	fmt.Fprintf(&b, "\nEverything is sealed and audited; try, in another terminal:\n")
	fmt.Fprintf(&b, "  haven audit verify --data %s\n", a.opt.data)
	fmt.Fprintf(&b, "  haven audit who-accessed --data %s --actor system\n", a.opt.data)
	fmt.Fprintf(&b, "Stop with Ctrl-C; a final audit checkpoint is signed on the way out.\n\n")
	fmt.Print(b.String())
}
