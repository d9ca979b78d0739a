package sqlstore

import (
	"fmt"
	"maps"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"golang.org/x/mod/sumdb/tlog"
)

// auditWriter holds one batch transaction's audit entries until they are
// written, and writes each tenant's together: one statement claims their
// indexes, one or two insert the entries and their Merkle hashes. Written
// one at a time, a read's entry took four statements of the single writer
// (claim, entry, hashes, and reading the hashes the append completes); for
// a batch of reads it now takes three in all.
//
// The hashes an append needs are the right edge of the tenant's tree (the
// roots of its complete subtrees): the writer keeps each tenant's edge in
// memory, and the committer keeps the edges of what it committed, so an
// append reads no hashes back. An edge is used only when the log's size in
// the database is the size it was computed for; otherwise (another process
// appended, or the committer starts cold) the hashes are read from the
// database as before.
type auditWriter struct {
	pending map[string][]audit.Entry // tenant → entries not yet written
	// edges are the right edges after what this transaction has written,
	// by tenant; published to the committer only once it commits.
	edges map[string]*treeEdge
	// committed are the committer's edges, of what it has committed.
	committed map[string]*treeEdge
}

// treeEdge is the right edge of a tenant's audit tree of size entries: the
// stored hashes (by tlog storage index) of its complete subtrees, which are
// all that later appends and the tree's hash read. It is never changed
// once made, so snapshots can share it.
type treeEdge struct {
	size   int64
	hashes map[int64]tlog.Hash
}

func newAuditWriter(committed map[string]*treeEdge) *auditWriter {
	return &auditWriter{pending: map[string][]audit.Entry{}, edges: map[string]*treeEdge{}, committed: committed}
}

func (w *auditWriter) add(tenant string, e audit.Entry) {
	w.pending[tenant] = append(w.pending[tenant], e)
}

// auditMark is what a savepoint rollback restores the writer to.
type auditMark struct {
	pending map[string]int
	edges   map[string]*treeEdge
}

func (w *auditWriter) mark() auditMark {
	m := auditMark{pending: make(map[string]int, len(w.pending)), edges: maps.Clone(w.edges)}
	for t, es := range w.pending {
		m.pending[t] = len(es)
	}
	return m
}

// rollback forgets what was added or written since m: the savepoint it was
// taken with has been rolled back, rows and all.
func (w *auditWriter) rollback(m auditMark) {
	for t, es := range w.pending {
		if n := m.pending[t]; n > 0 {
			w.pending[t] = es[:n]
		} else {
			delete(w.pending, t)
		}
	}
	w.edges = m.edges
}

// tenants returns the tenants with entries waiting to be written.
func (w *auditWriter) tenants() []string {
	out := make([]string, 0, len(w.pending))
	for t, es := range w.pending {
		if len(es) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// flush writes t's tenant's waiting entries in t's transaction.
func (w *auditWriter) flush(t *txn) error {
	es := w.pending[t.tenant]
	if len(es) == 0 {
		return nil
	}
	start, err := t.claimSeqs(int64(len(es)))
	if err != nil {
		return fmt.Errorf("%w: %w", haven.ErrAuditUnavailable, err)
	}
	edge := w.edges[t.tenant]
	if edge == nil || edge.size != start {
		edge = w.committed[t.tenant]
	}
	r := edgeReader{t: t, known: map[int64]tlog.Hash{}}
	if edge != nil && edge.size == start {
		maps.Copy(r.known, edge.hashes)
	}
	entryArgs := make([]any, 0, len(es)*entryParams)
	var hashArgs []any
	for i := range es {
		e := &es[i]
		e.Seq = start + int64(i)
		hashes, err := audit.StoredHashes(*e, r)
		if err != nil {
			return fmt.Errorf("%w: %w", haven.ErrAuditUnavailable, err)
		}
		if len(hashes) == 0 || len(hashes) > maxEntryHashes {
			return fmt.Errorf("%w: an entry with %d hashes", haven.ErrAuditUnavailable, len(hashes))
		}
		base := audit.HashIndex(e.Seq)
		for j, h := range hashes {
			r.known[base+int64(j)] = h
			hashArgs = append(hashArgs, t.tenant, base+int64(j), h[:])
		}
		entryArgs = append(entryArgs, t.tenant, e.Seq, e.Time.UnixMicro(), e.Actor, e.ActorRole, e.Action,
			e.Kind, e.RecordID, e.PersonID, e.Purpose, e.Outcome, e.ClientAddr)
	}
	if err := t.insertRows(t.s.q.insertAudit, entryArgs, entryParams); err != nil {
		return fmt.Errorf("%w: audit entries: %w", haven.ErrAuditUnavailable, err)
	}
	if err := t.insertRows(t.s.q.insertHashes, hashArgs, 3); err != nil {
		return fmt.Errorf("%w: audit hashes: %w", haven.ErrAuditUnavailable, err)
	}
	delete(w.pending, t.tenant)
	w.edges[t.tenant] = rightEdge(start+int64(len(es)), r.known)
	return nil
}

// committedAs tells the committer's edges how the transaction ended: if it
// committed, its edges are now the committer's; if the commit failed (it
// may or may not have happened), the committer forgets the tenants it
// touched and reads their hashes again.
func (w *auditWriter) committedAs(ok bool) {
	for t, e := range w.edges {
		if ok {
			w.committed[t] = e
		} else {
			delete(w.committed, t)
		}
	}
}

// rightEdge keeps, of the hashes in known, those of the complete subtrees
// of a tree of size n: for each bit i set in n, the subtree of height i
// that ends where the bits above it end. tlog reads exactly these to
// append entry n (tlog.StoredHashesForRecordHash) and to hash the tree
// (tlog.TreeHash).
func rightEdge(n int64, known map[int64]tlog.Hash) *treeEdge {
	e := &treeEdge{size: n, hashes: map[int64]tlog.Hash{}}
	for i := 0; n>>i > 0; i++ {
		if n>>i&1 == 1 {
			idx := tlog.StoredHashIndex(i, n>>i-1)
			if h, ok := known[idx]; ok {
				e.hashes[idx] = h
			}
		}
	}
	return e
}

// edgeReader reads stored hashes from what the writer knows, and the rest
// from the database (a cold committer, or another process's appends).
type edgeReader struct {
	t     *txn
	known map[int64]tlog.Hash
}

func (r edgeReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if h, ok := r.known[idx]; ok {
			out[i] = h
			continue
		}
		hs, err := hashReader{r.t}.ReadHashes([]int64{idx})
		if err != nil {
			return nil, err
		}
		out[i] = hs[0]
		r.known[idx] = hs[0]
	}
	return out, nil
}

// insertRows inserts rows of width columns with the statements in qs
// (qs[n-1] inserts n rows), as few statements as the largest allows.
func (t *txn) insertRows(qs []string, args []any, width int) error {
	for len(args) > 0 {
		n := min(len(args)/width, len(qs))
		if _, err := t.exec(qs[n-1], args[:n*width]...); err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}
