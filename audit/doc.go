// Package audit keeps Haven's tamper-evident audit log.
//
// Every read and write of personal data appends an [Entry] to the acting
// tenant's log in the same database transaction as the access itself, so an
// access that cannot be recorded does not happen. Each tenant's entries form
// an append-only Merkle tree, and the service periodically signs the tree's
// root as a checkpoint. [Verify] later recomputes everything from the stored
// rows, offline, and reports the first entry that was edited, deleted,
// inserted or reordered.
//
// # Entries and leaves
//
// Entry n of a tenant's log (Seq = n) is record n of that tenant's tree.
// [Entry.Leaf] is the record data: a canonical, versioned encoding of every
// field of the entry, including Tenant and Seq, so that an entry cannot be
// moved to another log or another position without changing its hash.
// [Entry.Hash] is the RFC 6962 §2.1 leaf hash SHA-256(0x00 || Leaf).
//
// # The tree
//
// The tree is the Merkle Tree Hash of RFC 6962 §2.1, computed by
// golang.org/x/mod/sumdb/tlog. The store keeps tlog's "stored hashes": the
// leaf hash of every entry plus the hash of every complete subtree, at the
// dense storage indexes of [tlog.StoredHashIndex]. With them any tree hash
// can be computed with O(log n) reads.
//
// # Storage contract
//
// Inside the transaction that performs an access, for tenant T the store:
//
//  1. locks T's log (for example a per-tenant counter row, SELECT ... FOR
//     UPDATE) and sets e.Seq to the number of entries already in T's log;
//  2. calls hs, err := [StoredHashes](e, r), where r reads T's stored hashes
//     within the same transaction;
//  3. inserts the entry row and inserts hs[i] at storage index
//     [HashIndex](e.Seq)+i for each i;
//
// and commits all of it together with the access, or none of it. Entry fields
// are stored as they are, Time at microsecond precision; Verify recomputes
// Leaf from the stored columns, so the store must return exactly what it was
// given. From time to time (and on shutdown) the service signs the current
// tree with [Checkpoint] and stores the note, oldest first.
//
// # Checkpoints
//
// A checkpoint is a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint):
// a C2SP signed note (https://c2sp.org/signed-note) whose text is
//
//	<origin>
//	<tree size, decimal>
//	<root hash, base64>
//
// signed with an Ed25519 note key. The origin is [Origin](tenant), one per
// tenant log. One key, named [KeyName], signs every tenant's checkpoints; the
// tlog-checkpoint "Signatures" section says the key name SHOULD match the
// origin, which a per-tenant origin and a single service key cannot do.
//
// # Verification
//
// [Verify] reads a whole store through a [Source] and checks, per tenant,
// that the sequence numbers run from 0 without gaps or repeats, that each
// entry belongs to the tenant, that each entry's recomputed leaf hash equals
// the stored leaf hash (which localises an edited entry), and that the tree
// rebuilt from the entries matches every signed checkpoint (which catches an
// attacker who also rewrote the stored hashes). Entries after the newest
// checkpoint are protected only by the stored hashes; the report counts them.
// Checkpoints kept only in the store can themselves be deleted together with
// the entries they cover, so copies of recent checkpoints should also be kept
// somewhere the database's administrators cannot write.
package audit
