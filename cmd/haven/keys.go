package main

import (
	"context"
	"flag"
	"fmt"
	"os"
)

func cmdKeys(args []string) error {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprint(os.Stderr, "usage: haven keys rotate [--data DIR] [--database-url URL]\n")
		return exitError{2}
	}
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	var o options
	o.register(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	a, err := open(ctx, o, false)
	if err != nil {
		return err
	}
	defer a.close()
	return a.rotateKeys(ctx)
}

// rotateKeys adds a new master key, then gives every tenant a new data key
// and re-wraps every person key under it. Old keys stay in their keysets,
// so a running server keeps reading data sealed under them; the new keys
// seal everything written from now on.
func (a *app) rotateKeys(ctx context.Context) error {
	if err := a.kms.Rotate(); err != nil {
		return fmt.Errorf("rotate master key: %w", err)
	}
	fmt.Println("Master key rotated: new primary key added to", a.opt.data+"/"+masterKeyFile)
	rep, err := a.svc.RotateTenantKeys(ctx, func(tenant string, done int) {
		fmt.Printf("  tenant %s: %d person keys re-wrapped\n", tenant, done)
	})
	if err != nil {
		return err
	}
	fmt.Printf("Rotated the keys of %d tenant(s) and re-wrapped %d person keys.\n", rep.Tenants, rep.PersonKeys)
	return nil
}
