package main

// The controls around records at the console: the guard's alerts, the
// break-glass review queue, the tenant's thresholds and supplier-support
// grants. Each command acts as Haven in one tenant (the "system" principal,
// audited as such) and asks the record service, which asks policy, exactly
// as the web pages and the JSON API do.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/guard"
)

const alertsUsage = `Usage:
  haven alerts list --tenant ID [--open] [--json]
      the guard's and policy's alerts, newest first (--open: not yet acknowledged)
  haven alerts ack  --tenant ID --id ALERT --note TEXT
      mark an alert as dealt with, saying what was done

Each also takes --data DIR and --database-url URL. --tenant may be left out
when there is only one care organisation.
`

const leasesUsage = `Usage:
  haven leases list   --tenant ID [--pending] [--json]
      break-glass leases, newest first (--pending: not yet reviewed)
  haven leases review --tenant ID --id LEASE (--justified | --unjustified) --finding TEXT
      record the review of a lease: was breaking the glass justified, and why

Reviewing leases is the data-protection officer's job; it is open at the
console too (policy lets Haven itself review alerts), and the review is
audited as "system". A lease cannot be reviewed twice.

Each also takes --data DIR and --database-url URL. --tenant may be left out
when there is only one care organisation.
`

const supportUsage = `Usage:
  haven support list   --tenant ID [--json]
      supplier-support requests and grants in a care organisation, newest first
  haven support revoke --tenant ID --id GRANT
      end a request or grant at once

There is no "approve" here, on purpose: policy lets only the care
organisation's own administrator approve supplier access, stepped up, in
Haven's web pages or its API (POST /api/support/{id}/decide). The console is
operated by the supplier, and approving here would let the processor grant
itself access to the controller's data. Revoking needs no approval: taking
access away must never wait.

Each also takes --data DIR and --database-url URL. --tenant may be left out
when there is only one care organisation.
`

const settingsUsage = `Usage:
  haven admin settings --tenant ID [--json]
      print the care organisation's thresholds and alert channel
  haven admin settings --tenant ID --set KEY=VALUE [--set KEY=VALUE ...]
      change them (checked as a whole before anything is saved)

Keys:
  budget.ROLE.hour, budget.ROLE.day  distinct people a ROLE may read in an hour / a day
                                     (e.g. budget.carer.hour=20 budget.carer.day=40)
  deniedLimit       refused attempts on people outside the relationship per window
  probeLimit        reads of ids that do not exist per window
  searchLimit       searches per window
  wideSearch        matches from which a search counts as wide
  wideSearchLimit   wide searches per window before the session is frozen
  window            the sliding window of the three rules above (1m to 24h, e.g. 10m)
  workStart, workEnd  the usual working day, whole hours 0-24 (equal: every hour is usual)
  zone              the working day's time zone (e.g. Europe/London)
  newNetworkAlert   alert on an account's first access from a new network (true/false)
  homeAccessLead    how long before a visit its home-access details open (at most 2h)
  webhookUrl        where alerts are sent (https; plain http only to loopback; empty: none)
  webhookSecret     the webhook's signing secret, at least 16 characters; "-" reads it
                    from standard input, so that it stays out of shell history

The webhook secret is never printed. Also takes --data DIR and --database-url
URL. --tenant may be left out when there is only one care organisation.
`

// cmdAlerts runs "haven alerts".
func cmdAlerts(args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return usageOf(alertsUsage, args)
	}
	c := newControl("alerts "+args[0], args[0] == "list", alertsUsage)
	switch args[0] {
	case "list":
		open := c.fs.Bool("open", false, "list only alerts nobody has acknowledged yet")
		return c.run(args[1:], func(ctx context.Context, a *app, p haven.Principal) error {
			alerts, err := a.svc.Alerts(ctx, p, care.AlertQuery{OpenOnly: *open})
			if err != nil {
				return c.explain(err, "alert")
			}
			if c.json {
				return printJSON(map[string]any{"tenant": c.tid, "alerts": nonNil(alerts)})
			}
			printAlerts(c.tid, alerts, *open)
			return nil
		})
	case "ack":
		id := c.fs.String("id", "", "the alert's id (from haven alerts list)")
		note := c.fs.String("note", "", "what was done about the alert")
		return c.run(args[1:], func(ctx context.Context, a *app, p haven.Principal) error {
			if err := c.need("id", *id, "note", *note); err != nil {
				return err
			}
			if err := a.svc.AcknowledgeAlert(ctx, p, *id, *note); err != nil {
				return c.explain(err, "alert "+*id)
			}
			fmt.Printf("Acknowledged alert %s in %s.\n", *id, c.tid)
			return nil
		})
	}
	return unknownSub("alerts", args[0], alertsUsage)
}

// cmdLeases runs "haven leases".
func cmdLeases(args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return usageOf(leasesUsage, args)
	}
	c := newControl("leases "+args[0], args[0] == "list", leasesUsage)
	switch args[0] {
	case "list":
		pending := c.fs.Bool("pending", false, "list only leases not yet reviewed")
		return c.run(args[1:], func(ctx context.Context, a *app, p haven.Principal) error {
			leases, err := a.svc.Leases(ctx, p, *pending)
			if err != nil {
				return c.explain(err, "lease")
			}
			if c.json {
				return printJSON(map[string]any{"tenant": c.tid, "leases": nonNil(leases)})
			}
			printLeases(c.tid, leases, *pending, a.svc.Now())
			return nil
		})
	case "review":
		id := c.fs.String("id", "", "the lease's id (from haven leases list)")
		justified := c.fs.Bool("justified", false, "the review found breaking the glass justified")
		unjustified := c.fs.Bool("unjustified", false, "the review found it not justified")
		finding := c.fs.String("finding", "", "what the review found")
		return c.run(args[1:], func(ctx context.Context, a *app, p haven.Principal) error {
			if err := c.need("id", *id, "finding", *finding); err != nil {
				return err
			}
			if *justified == *unjustified {
				return c.usage("give exactly one of --justified or --unjustified")
			}
			if err := a.svc.ReviewLease(ctx, p, *id, *justified, *finding); err != nil {
				return c.explain(err, "lease "+*id)
			}
			verdict := "not justified"
			if *justified {
				verdict = "justified"
			}
			fmt.Printf("Reviewed lease %s in %s: %s.\n", *id, c.tid, verdict)
			return nil
		})
	}
	return unknownSub("leases", args[0], leasesUsage)
}

// cmdSupport runs "haven support".
func cmdSupport(args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return usageOf(supportUsage, args)
	}
	c := newControl("support "+args[0], args[0] == "list", supportUsage)
	switch args[0] {
	case "list":
		return c.run(args[1:], func(ctx context.Context, a *app, p haven.Principal) error {
			grants, err := a.svc.SupportGrants(ctx, p)
			if err != nil {
				return c.explain(err, "grant")
			}
			if c.json {
				return printJSON(map[string]any{"tenant": c.tid, "grants": nonNil(grants)})
			}
			printGrants(c.tid, grants, a.svc.Now())
			return nil
		})
	case "revoke":
		id := c.fs.String("id", "", "the request's or grant's id (from haven support list)")
		return c.run(args[1:], func(ctx context.Context, a *app, p haven.Principal) error {
			if err := c.need("id", *id); err != nil {
				return err
			}
			if err := a.svc.RevokeSupport(ctx, p, *id); err != nil {
				return c.explain(err, "grant "+*id)
			}
			fmt.Printf("Revoked supplier support grant %s in %s: it gives no access from now on.\n", *id, c.tid)
			return nil
		})
	case "approve", "decide", "grant":
		fmt.Fprintf(os.Stderr, "haven support: %s is not available at the console.\n\n%s", args[0], supportUsage)
		return exitError{2}
	}
	return unknownSub("support", args[0], supportUsage)
}

// cmdSettings runs "haven admin settings".
func cmdSettings(args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Print(settingsUsage)
		return nil
	}
	c := newControl("admin settings", true, settingsUsage)
	var sets setList
	c.fs.Var(&sets, "set", "KEY=VALUE to change (repeat for more; see haven admin settings -h)")
	return c.run(args, func(ctx context.Context, a *app, p haven.Principal) error {
		st, err := a.svc.Settings(ctx, p)
		if err != nil {
			return c.explain(err, "settings")
		}
		if len(sets) > 0 {
			if c.json {
				return c.usage("--json prints settings; it cannot be used with --set")
			}
			for _, kv := range sets {
				if err := applySetting(&st, kv, os.Stdin); err != nil {
					fmt.Fprintf(os.Stderr, "haven admin settings: --set %s: %v\n", redactSet(kv), err)
					return exitError{2}
				}
			}
			if err := st.WithDefaults().Validate(); err != nil {
				return fmt.Errorf("settings not saved: %w", explainInvalid(err))
			}
			if err := a.svc.SetSettings(ctx, p, st); err != nil {
				return c.explain(err, "settings")
			}
			if st, err = a.svc.Settings(ctx, p); err != nil {
				return c.explain(err, "settings")
			}
			fmt.Printf("Saved %d setting(s) for %s.\n\n", len(sets), c.tid)
		}
		if c.json {
			st.WebhookSecret = ""
			return printJSON(map[string]any{"tenant": c.tid, "settings": st})
		}
		printSettings(c.tid, st)
		return nil
	})
}

// control is one console command on a tenant's controls: its flags, the
// tenant it acts in, and how it answers.
type control struct {
	name   string
	fs     *flag.FlagSet
	o      options
	tenant *string
	json   bool
	tid    string // the tenant chosen
}

func newControl(name string, withJSON bool, help string) *control {
	c := &control{name: name, fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.Usage = func() { fmt.Fprint(c.fs.Output(), help) }
	c.o.register(c.fs)
	c.tenant = c.fs.String("tenant", "", "the care organisation's id (default: the only one)")
	if withJSON {
		c.fs.BoolVar(&c.json, "json", false, "print JSON instead of a table")
	}
	return c
}

// run parses args, opens the data directory, picks the tenant and runs fn
// as Haven at the console in that tenant.
func (c *control) run(args []string, fn func(ctx context.Context, a *app, p haven.Principal) error) error {
	if err := parse(c.fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	a, err := open(ctx, c.o, false)
	if err != nil {
		return err
	}
	defer a.close()
	if c.tid, err = careTenant(ctx, a, *c.tenant); err != nil {
		return err
	}
	return fn(ctx, a, operator(c.tid, "console: "+c.name))
}

// need reports the first required flag left empty (flag name, value pairs).
func (c *control) need(vals ...string) error {
	for i := 0; i+1 < len(vals); i += 2 {
		if strings.TrimSpace(vals[i+1]) == "" {
			return c.usage("--" + vals[i] + " is required")
		}
	}
	return nil
}

// usage reports a mistake in the command line (exit status 2).
func (c *control) usage(msg string) error {
	fmt.Fprintf(os.Stderr, "haven %s: %s (see haven %s -h)\n", c.name, msg, c.name)
	return exitError{2}
}

// explain turns the record service's answers into sentences for the
// console; what names the thing asked about ("alert 0190...").
func (c *control) explain(err error, what string) error {
	var denied *care.DeniedError
	switch {
	case errors.As(err, &denied):
		return fmt.Errorf("refused by policy: %s", denied.Reason)
	case errors.Is(err, haven.ErrNotFound):
		return fmt.Errorf("no %s in %s", what, c.tid)
	case errors.Is(err, haven.ErrConflict):
		return errors.New(strings.TrimSuffix(conflictMessage(err), ": "+haven.ErrConflict.Error()))
	}
	return explainInvalid(err)
}

// conflictMessage drops the audit action the record service puts first
// ("alert-ack: alert X was acknowledged by Y").
func conflictMessage(err error) string {
	m := err.Error()
	if i := strings.Index(m, ": "); i >= 0 && !strings.Contains(m[:i], " ") {
		m = m[i+2:]
	}
	return m
}

func explainInvalid(err error) error {
	var inv *haven.InvalidError
	if errors.As(err, &inv) {
		if inv.Field == "" {
			return errors.New(inv.Reason)
		}
		return fmt.Errorf("%s: %s", inv.Field, inv.Reason)
	}
	return err
}

// careTenant returns id if it names a care organisation, else the only
// care organisation when id is empty. Haven's own partitions (the
// supplier's) are not care organisations and are never chosen.
func careTenant(ctx context.Context, a *app, id string) (string, error) {
	tenants, err := a.db.Tenants(ctx)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, t := range tenants {
		if haven.ReservedTenantID(t.ID) {
			continue
		}
		if id != "" && t.ID == id {
			return id, nil
		}
		ids = append(ids, t.ID)
	}
	switch {
	case id != "":
		return "", fmt.Errorf("no care organisation %q (there are: %s)", id, listOrNone(ids))
	case len(ids) != 1:
		return "", fmt.Errorf("there are %d care organisations; choose one with --tenant (%s)", len(ids), listOrNone(ids))
	}
	return ids[0], nil
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none yet"
	}
	return strings.Join(ids, ", ")
}

func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "help" }

func usageOf(text string, args []string) error {
	if len(args) > 0 {
		fmt.Print(text)
		return nil
	}
	fmt.Fprint(os.Stderr, text)
	return exitError{2}
}

func unknownSub(cmd, sub, text string) error {
	fmt.Fprintf(os.Stderr, "haven %s: unknown command %q\n\n%s", cmd, sub, text)
	return exitError{2}
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func table() *tabwriter.Writer { return tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0) }

// utc formats a time for the tables (the header says UTC).
func utc(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps free text from breaking a table's rows and columns.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func printAlerts(tenant string, alerts []care.Alert, openOnly bool) {
	open := 0
	for _, a := range alerts {
		if a.Open() {
			open++
		}
	}
	if openOnly {
		fmt.Printf("Open alerts in %s: %d\n", tenant, len(alerts))
	} else {
		fmt.Printf("Alerts in %s: %d, of which %d open\n", tenant, len(alerts), open)
	}
	if len(alerts) == 0 {
		return
	}
	fmt.Println()
	w := table()
	defer w.Flush()
	fmt.Fprintln(w, "TIME (UTC)\tID\tRULE\tACTOR\tROLE\tPERSON\tCONTAINMENT\tSTATUS\tWEBHOOK\tDETAIL")
	for _, a := range alerts {
		status := "open"
		if !a.Open() {
			status = "acknowledged by " + a.AcknowledgedBy + " " + utc(a.Acknowledged)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", utc(a.Time), a.ID, a.Rule, dash(a.Actor), dash(string(a.ActorRole)),
			dash(a.PersonID), a.Action, status, delivery(a.Delivery), oneLine(a.Detail))
	}
}

func delivery(d care.Delivery) string {
	switch {
	case !d.Delivered.IsZero():
		return "delivered"
	case !d.Next.IsZero():
		return fmt.Sprintf("pending (%d attempts)", d.Attempts)
	case d.LastError != "":
		return "failed"
	}
	return "-"
}

func printLeases(tenant string, leases []care.Lease, pendingOnly bool, now time.Time) {
	if pendingOnly {
		fmt.Printf("Break-glass leases waiting for review in %s: %d\n", tenant, len(leases))
	} else {
		fmt.Printf("Break-glass leases in %s: %d\n", tenant, len(leases))
	}
	if len(leases) == 0 {
		return
	}
	fmt.Println()
	w := table()
	defer w.Flush()
	fmt.Fprintln(w, "OPENED (UTC)\tID\tACCOUNT\tROLE\tPERSON\tUNTIL (UTC)\tREVIEW\tREASON")
	for _, l := range leases {
		review := "pending"
		if !l.Reviewed.IsZero() {
			verdict := "unjustified"
			if l.Justified {
				verdict = "justified"
			}
			review = fmt.Sprintf("%s (%s, %s): %s", verdict, l.Reviewer, utc(l.Reviewed), oneLine(l.Finding))
		}
		until := utc(l.Until)
		if now.Before(l.Until) {
			until += " (active)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", utc(l.Opened), l.ID, l.Account, dash(l.Role), l.PersonID, until, review, oneLine(l.Reason))
	}
}

func printGrants(tenant string, grants []care.SupportGrant, now time.Time) {
	live := 0
	for _, g := range grants {
		if g.Live(now) {
			live++
		}
	}
	fmt.Printf("Supplier support requests and grants in %s: %d, of which %d give access now\n", tenant, len(grants), live)
	if len(grants) == 0 {
		return
	}
	fmt.Println()
	w := table()
	defer w.Flush()
	fmt.Fprintln(w, "REQUESTED (UTC)\tID\tACCOUNT\tTICKET\tSTATUS\tACTIONS\tEXPIRES (UTC)\tDECIDED BY\tREASON")
	for _, g := range grants {
		status := g.Status
		if g.Status == care.GrantApproved {
			if g.Live(now) {
				status += " (live)"
			} else {
				status += " (expired)"
			}
		}
		actions := make([]string, len(g.Actions))
		for i, a := range g.Actions {
			actions[i] = string(a)
		}
		decided := "-"
		if g.DecidedBy != "" {
			decided = g.DecidedBy + " " + utc(g.Decided)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", utc(g.Requested), g.ID, g.Account, oneLine(g.Ticket), status,
			dash(strings.Join(actions, ",")), utc(g.Expires), decided, oneLine(g.Reason))
	}
}

// roleOrder is the order budgets are printed in.
var roleOrder = append(slices.Clone(haven.TenantRoles), haven.RoleSupplierSupport, haven.RoleSupplierOperator, haven.RoleAPIClient, haven.RoleSystem)

func budgetRoles(b map[haven.Role]guard.Budget) []haven.Role {
	out := make([]haven.Role, 0, len(b))
	for r := range b {
		out = append(out, r)
	}
	rank := func(r haven.Role) int {
		if i := slices.Index(roleOrder, r); i >= 0 {
			return i
		}
		return len(roleOrder)
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}

func printSettings(tenant string, st guard.Settings) {
	fmt.Printf("Settings of %s\n\n", tenant)
	w := table()
	fmt.Fprintln(w, "BUDGET (distinct people read)\tPER HOUR\tPER DAY\t")
	limit := func(n int) string {
		if n == 0 {
			return "no limit"
		}
		return strconv.Itoa(n)
	}
	for _, r := range budgetRoles(st.Budgets) {
		b := st.Budgets[r]
		fmt.Fprintf(w, "  %s\t%s\t%s\t\n", r, limit(b.PerHour), limit(b.PerDay))
	}
	w.Flush()
	fmt.Println()
	w = table()
	defer w.Flush()
	secret := "(not set)"
	if st.WebhookSecret != "" {
		secret = "(set; never shown)"
	}
	zone := st.Zone
	for _, row := range [][2]string{
		{"deniedLimit", fmt.Sprintf("%d\trefused attempts on people outside the relationship per window end the session", st.DeniedLimit)},
		{"probeLimit", fmt.Sprintf("%d\treads of ids that do not exist per window end the session", st.ProbeLimit)},
		{"searchLimit", fmt.Sprintf("%d\tsearches per window before the session is frozen", st.SearchLimit)},
		{"wideSearch", fmt.Sprintf("%d\tmatches from which a search counts as wide", st.WideSearch)},
		{"wideSearchLimit", fmt.Sprintf("%d\twide searches per window before the session is frozen", st.WideSearchLimit)},
		{"window", fmt.Sprintf("%s\tthe sliding window of the rules above", time.Duration(st.Window))},
		{"workStart", fmt.Sprintf("%d\tthe usual working day starts (hour, %s)", st.WorkStart, zone)},
		{"workEnd", fmt.Sprintf("%d\tand ends; access outside it raises an alert", st.WorkEnd)},
		{"zone", zone + "\t"},
		{"newNetworkAlert", fmt.Sprintf("%t\talert on an account's first access from a new network", st.NewNetworkAlert)},
		{"homeAccessLead", fmt.Sprintf("%s\thome-access details open this long before a visit", time.Duration(st.HomeAccessLead))},
		{"webhookUrl", dash(st.WebhookURL) + "\twhere alerts are sent"},
		{"webhookSecret", secret + "\tsigns each delivery"},
	} {
		fmt.Fprintf(w, "%s\t%s\n", row[0], row[1])
	}
}

// setList collects repeated --set flags.
type setList []string

func (s *setList) String() string     { return strings.Join(*s, " ") }
func (s *setList) Set(v string) error { *s = append(*s, v); return nil }

// redactSet hides the value of a --set of the webhook secret in messages.
func redactSet(kv string) string {
	if k, _, ok := strings.Cut(kv, "="); ok && strings.EqualFold(strings.TrimSpace(k), "webhookSecret") {
		return k + "=..."
	}
	return kv
}

// settingKeys are the keys --set takes besides budget.ROLE.hour/day.
var settingKeys = []string{"deniedLimit", "probeLimit", "searchLimit", "wideSearch", "wideSearchLimit", "window",
	"workStart", "workEnd", "zone", "newNetworkAlert", "homeAccessLead", "webhookUrl", "webhookSecret"}

// applySetting changes one setting of st from "key=value". Values are
// checked for their type here; whether the settings make sense together is
// guard.Settings.Validate's job. A webhook secret of "-" is read from in.
func applySetting(st *guard.Settings, kv string, in io.Reader) error {
	key, val, ok := strings.Cut(kv, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return errors.New("write KEY=VALUE, e.g. budget.carer.hour=20")
	}
	if rest, found := cutPrefixFold(key, "budget."); found {
		return applyBudget(st, rest, val)
	}
	integer := func(p *int) error {
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", val)
		}
		if n < 1 {
			return errors.New("must be at least 1")
		}
		*p = n
		return nil
	}
	hour := func(p *int) error {
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 0 || n > 24 {
			return fmt.Errorf("%q is not a whole hour from 0 to 24", val)
		}
		*p = n
		return nil
	}
	duration := func(p *guard.Duration) error {
		return p.UnmarshalText([]byte(strings.TrimSpace(val)))
	}
	var canon string
	for _, k := range settingKeys {
		if strings.EqualFold(k, key) {
			canon = k
		}
	}
	switch canon {
	case "deniedLimit":
		return integer(&st.DeniedLimit)
	case "probeLimit":
		return integer(&st.ProbeLimit)
	case "searchLimit":
		return integer(&st.SearchLimit)
	case "wideSearch":
		return integer(&st.WideSearch)
	case "wideSearchLimit":
		return integer(&st.WideSearchLimit)
	case "window":
		return duration(&st.Window)
	case "homeAccessLead":
		if err := duration(&st.HomeAccessLead); err != nil {
			return err
		}
		if st.HomeAccessLead <= 0 {
			return errors.New("must be more than 0 (e.g. 30m)")
		}
		return nil
	case "workStart":
		return hour(&st.WorkStart)
	case "workEnd":
		return hour(&st.WorkEnd)
	case "zone":
		st.Zone = strings.TrimSpace(val)
		if _, err := time.LoadLocation(st.Zone); err != nil || st.Zone == "" {
			return fmt.Errorf("unknown time zone %q (use a name like Europe/London)", val)
		}
		return nil
	case "newNetworkAlert":
		b, err := strconv.ParseBool(strings.TrimSpace(val))
		if err != nil {
			return fmt.Errorf("%q is not true or false", val)
		}
		st.NewNetworkAlert = b
		return nil
	case "webhookUrl":
		st.WebhookURL = strings.TrimSpace(val)
		return nil
	case "webhookSecret":
		if val == "-" {
			line, err := bufio.NewReader(in).ReadString('\n')
			if err != nil && (!errors.Is(err, io.EOF) || line == "") {
				return errors.New("could not read the secret from standard input")
			}
			val = strings.TrimRight(line, "\r\n")
		}
		st.WebhookSecret = val
		return nil
	}
	return fmt.Errorf("unknown setting %q (keys: budget.ROLE.hour, budget.ROLE.day, %s)", key, strings.Join(settingKeys, ", "))
}

// applyBudget sets "ROLE.hour" or "ROLE.day" of st's budgets.
func applyBudget(st *guard.Settings, key, val string) error {
	i := strings.LastIndex(key, ".")
	if i <= 0 {
		return errors.New("write budget.ROLE.hour or budget.ROLE.day, e.g. budget.carer.hour=20")
	}
	role, period := haven.Role(key[:i]), strings.ToLower(key[i+1:])
	if !role.Valid() {
		return fmt.Errorf("unknown role %q (roles: %s)", role, strings.Join(roleNames(), ", "))
	}
	n, err := strconv.Atoi(strings.TrimSpace(val))
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number of people", val)
	}
	if st.Budgets == nil {
		st.Budgets = map[haven.Role]guard.Budget{}
	}
	b := st.Budgets[role]
	switch period {
	case "hour", "perhour":
		b.PerHour = n
	case "day", "perday":
		b.PerDay = n
	default:
		return fmt.Errorf("a budget is per hour or per day: budget.%s.hour or budget.%s.day", role, role)
	}
	st.Budgets[role] = b
	return nil
}

func roleNames() []string {
	out := make([]string, len(roleOrder))
	for i, r := range roleOrder {
		out[i] = string(r)
	}
	return out
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
