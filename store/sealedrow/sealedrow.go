// Package sealedrow keeps small JSON documents that belong to a partition
// rather than to a person (accounts, sessions, alerts, leases, settings) as
// sealed rows: encrypted under the partition's tenant key and bound to the
// partition, kind, id and version, so a row copied elsewhere will not open.
package sealedrow

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// Binding is the associated data of a partition-level row.
func Binding(partition string, kind haven.Kind, id string, version int64) seal.Binding {
	return seal.Binding{Tenant: partition, Kind: string(kind), ID: id, Version: version}
}

// Get loads and opens one row into v and returns its version.
func Get(tx store.Tx, tk *seal.TenantKey, kind haven.Kind, id string, v any) (int64, error) {
	r, err := tx.Get(kind, id)
	if err != nil {
		return 0, err
	}
	return r.Version, Open(tx, tk, r, v)
}

// Open decrypts and decodes a row already read (by ListKind) into v.
func Open(tx store.Tx, tk *seal.TenantKey, r store.Row, v any) error {
	plain, err := tk.Open(Binding(tx.Tenant(), r.Kind, r.ID, r.Version), r.Sealed)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("decode %s: %w", r.Kind, err)
	}
	return nil
}

// Put seals v and inserts it (version 0) or replaces the row stored at
// version; it returns the new version.
func Put(tx store.Tx, tk *seal.TenantKey, kind haven.Kind, id string, version int64, v any, now time.Time) (int64, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	r := store.Row{Kind: kind, ID: id, Version: version + 1, Updated: now}
	if r.Sealed, err = tk.Seal(Binding(tx.Tenant(), kind, id, r.Version), plain); err != nil {
		return 0, err
	}
	if version == 0 {
		err = tx.Insert(r)
	} else {
		err = tx.Replace(r)
	}
	return r.Version, err
}
