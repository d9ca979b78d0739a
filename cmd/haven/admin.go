package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
)

const adminUsage = `Usage:
  haven admin create-operator --email E --name N          first supplier operator: prints a one-time enrolment link
  haven admin create-tenant   --id ID --name NAME [--ods CODE]
  haven admin invite          --tenant ID --email E --name N [--role tenant-admin] [--staff ID]
  haven admin reinvite        --email E                   new enrolment link for someone who has not finished
  haven admin unlock          --email E                   lift a lockout after 100 failed attempts
  haven admin register-client --tenant ID --name N --jwks FILE --scopes "system/Patient.read ..."
  haven admin register-app    --tenant ID --name N --redirect-uri URI [--redirect-uri URI ...] --scopes "user/Patient.rs ..."
                              a staff app (SMART App Launch): acts as the member of staff who allows it

Each also takes --data DIR, --database-url URL and --origin URL (the address
people reach Haven at, used in links). There are no default passwords: every
account starts from a one-time link, and must add a second factor before it
can reach anything.
`

func cmdAdmin(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, adminUsage)
		return exitError{2}
	}
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	var o options
	o.register(fs)
	email := fs.String("email", "", "e-mail address")
	name := fs.String("name", "", "full name")
	tenant := fs.String("tenant", "", "tenant id")
	id := fs.String("id", "", "new tenant id")
	ods := fs.String("ods", "", "ODS code of the organisation")
	role := fs.String("role", string(haven.RoleTenantAdmin), "role of the invited person")
	staff := fs.String("staff", "", "id of the tenant's staff record to link the account to")
	jwks := fs.String("jwks", "", "file holding the client's public JSON Web Key Set")
	scopes := fs.String("scopes", "", "scopes the client may request, space separated")
	var redirects listFlag
	fs.Var(&redirects, "redirect-uri", "a staff app's redirect URI, exactly as it sends it (repeat for more)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	a, err := open(ctx, o, true)
	if err != nil {
		return err
	}
	defer a.close()
	need := func(vals ...string) error {
		for i := 0; i < len(vals); i += 2 {
			if vals[i+1] == "" {
				return fmt.Errorf("admin %s: --%s is required", args[0], vals[i])
			}
		}
		return nil
	}
	console := func(tenant string) haven.Principal { return operator(tenant, "console administration") }
	link := func(inv auth.Invitation, who string) {
		fmt.Printf("One-time enrolment link for %s (valid until %s):\n\n  %s\n\n", who, inv.Expires.Local().Format("2 Jan 2006 15:04"), inv.Link(a.opt.origin))
		fmt.Println("Send it to them privately. They choose a password and must add a second factor before anything works.")
	}
	switch args[0] {
	case "create-operator":
		if err := need("email", *email, "name", *name); err != nil {
			return err
		}
		inv, err := a.auth.Invite(ctx, console(""), haven.SupplierPartition, auth.NewAccount{Email: *email, Name: *name, Role: haven.RoleSupplierOperator})
		if err != nil {
			return explain(err)
		}
		link(inv, *name+" (supplier operator; must use a passkey)")
	case "create-tenant":
		if err := need("id", *id, "name", *name); err != nil {
			return err
		}
		if err := a.svc.CreateTenant(ctx, haven.Tenant{ID: *id, Name: *name, ODSCode: *ods}); err != nil {
			return explain(err)
		}
		fmt.Printf("Created tenant %q (%s). Next: haven admin invite --tenant %s --email ... --name ...\n", *id, *name, *id)
	case "invite":
		if err := need("tenant", *tenant, "email", *email, "name", *name); err != nil {
			return err
		}
		inv, err := a.auth.Invite(ctx, console(*tenant), *tenant, auth.NewAccount{Email: *email, Name: *name, Role: haven.Role(*role), StaffID: *staff})
		if err != nil {
			return explain(err)
		}
		link(inv, fmt.Sprintf("%s (%s of %s)", *name, *role, *tenant))
	case "reinvite", "unlock":
		if err := need("email", *email); err != nil {
			return err
		}
		partition, accountID, err := a.auth.LookupEmail(ctx, *email)
		if err != nil {
			return explain(err)
		}
		p := console(haven.TenantOf(partition))
		if args[0] == "unlock" {
			if err := a.auth.Unlock(ctx, p, accountID); err != nil {
				return explain(err)
			}
			fmt.Printf("Unlocked %s.\n", *email)
			return nil
		}
		inv, err := a.auth.ReissueInvite(ctx, p, partition, accountID)
		if err != nil {
			return explain(err)
		}
		link(inv, *email)
	case "register-client":
		if err := need("tenant", *tenant, "name", *name, "jwks", *jwks, "scopes", *scopes); err != nil {
			return err
		}
		raw, err := os.ReadFile(*jwks)
		if err != nil {
			return err
		}
		cid, err := a.auth.RegisterClient(ctx, console(*tenant), *name, raw, strings.Fields(*scopes))
		if err != nil {
			return explain(err)
		}
		fmt.Printf("Registered. client_id: %s\ntoken endpoint: %s/fhir/auth/token\n", cid, a.opt.origin)
	case "register-app":
		if err := need("tenant", *tenant, "name", *name, "scopes", *scopes); err != nil {
			return err
		}
		if len(redirects) == 0 {
			return fmt.Errorf("admin %s: --redirect-uri is required", args[0])
		}
		cid, err := a.auth.RegisterStaffApp(ctx, console(*tenant), *name, redirects, strings.Fields(*scopes))
		if err != nil {
			return explain(err)
		}
		fmt.Printf("Registered. client_id: %s (a public client: no secret, PKCE S256)\nauthorization endpoint: %s/fhir/auth/authorize\ntoken endpoint: %s/fhir/auth/token\naud: %s/fhir\n",
			cid, a.opt.origin, a.opt.origin, a.opt.origin)
	default:
		fmt.Fprintf(os.Stderr, "haven admin: unknown command %q\n\n%s", args[0], adminUsage)
		return exitError{2}
	}
	return nil
}

// explain turns service errors into sentences for the console.
func explain(err error) error {
	var inv *haven.InvalidError
	switch {
	case errors.As(err, &inv):
		return fmt.Errorf("%s: %s", inv.Field, inv.Reason)
	case errors.Is(err, haven.ErrNotFound):
		return errors.New("no such account or tenant")
	}
	return err
}

// listFlag is a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
