//go:build havenbench_unprotected

// Package unprotected is the audit-off store of the benchmark-only build
// (tag havenbench_unprotected): a wrapper whose transactions accept audit
// entries and write none, so that scripts/bench-http can show what the audit
// log costs. Every file of the package carries the tag, so a normal build
// cannot import it: cmd/haven/unprotected.go wires it in, in that build only.
//
// Everything else passes through: tenant scope, sealed rows, blind indexes,
// keys, checkpoints and queries of the (empty) log.
package unprotected

import (
	"context"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/store"
)

// Wrap returns st with audit appends switched off.
func Wrap(st store.Store) store.Store { return db{st} }

type db struct{ store.Store }

// Update runs fn with a transaction whose AppendAudit writes nothing.
func (d db) Update(ctx context.Context, sc haven.Scope, fn func(store.Tx) error) error {
	return d.Store.Update(ctx, sc, func(tx store.Tx) error { return fn(txn{tx}) })
}

func (d db) Record(ctx context.Context, sc haven.Scope, fn func(store.Tx) error) error {
	return d.Store.Record(ctx, sc, func(tx store.Tx) error { return fn(txn{tx}) })
}

type txn struct{ store.Tx }

// AppendAudit accepts e and writes nothing. The index is always 0.
func (txn) AppendAudit(audit.Entry) error { return nil }
