// Command haven runs Haven, the health and social-care record service, and
// is the operator's tool for it.
//
//	haven demo      create a demo care organisation (first run) and serve it
//	haven serve     serve the records in --data or --database-url
//	haven audit     verify the audit log; who accessed whose data
//	haven keys      rotate the master and tenant keys
//	haven import    load FHIR Bundles or NDJSON into a care organisation
//	haven admin     first operator and tenant admin, invitations, unlocks,
//	                a tenant's thresholds (admin settings)
//	haven alerts    the guard's alerts: list, acknowledge
//	haven leases    break-glass leases: list, review
//	haven support   supplier-support requests and grants: list, revoke
//
// Every command takes --data DIR (default ./haven-data), where the master
// key, the audit signing key and the embedded SQLite database live, and
// --database-url to use PostgreSQL instead of SQLite.
package main

import (
	"errors"
	"fmt"
	"os"
)

// exitError carries a process exit status for a failure already explained
// to the user.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

const usage = `Haven: health and social-care records that stay private.

Usage:
  haven demo   [--data DIR] [--addr HOST:PORT] [--database-url URL] [--people N] [--checkpoint-interval D]
  haven serve  [--data DIR] [--addr HOST:PORT] [--database-url URL] [--checkpoint-interval D]
  haven audit verify        [--data DIR] [--database-url URL] [--verifier-key KEY]
  haven audit checkpoint    [--data DIR] [--database-url URL]
  haven audit who-accessed  [--data DIR] [--database-url URL] [--tenant ID] --person ID
  haven audit who-accessed  [--data DIR] [--database-url URL] [--tenant ID] --actor ID[,ID...]
                            [--since TIME] [--until TIME] [--entries]
  haven keys rotate         [--data DIR] [--database-url URL]
  haven import --tenant ID  [--data DIR] [--database-url URL] [--synthetic-nhs-numbers] PATH...
  haven admin create-operator|create-tenant|invite|reinvite|unlock|register-client ...
  haven admin settings      [--tenant ID] [--json] [--set KEY=VALUE ...]
  haven alerts list|ack     [--tenant ID] ...
  haven leases list|review  [--tenant ID] ...
  haven support list|revoke [--tenant ID] ...
  haven version

Run "haven COMMAND -h" for a command's options.
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "haven:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return exitError{2}
	}
	switch args[0] {
	case "demo":
		return cmdDemo(args[1:])
	case "serve":
		return cmdServe(args[1:])
	case "audit":
		return cmdAudit(args[1:])
	case "keys":
		return cmdKeys(args[1:])
	case "admin":
		if len(args) > 1 && args[1] == "settings" {
			return cmdSettings(args[2:])
		}
		return cmdAdmin(args[1:])
	case "alerts":
		return cmdAlerts(args[1:])
	case "leases":
		return cmdLeases(args[1:])
	case "support":
		return cmdSupport(args[1:])
	case "import":
		return cmdImport(args[1:])
	case "version":
		fmt.Println(version())
		return nil
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprintf(os.Stderr, "haven: unknown command %q\n\n%s", args[0], usage)
	return exitError{2}
}
