package audit

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A Source gives [Verify] read access to a whole audit store, as stored. It
// must not repair or filter what it returns: Verify is looking for damage.
type Source interface {
	// Tenants returns the tenants that have a log.
	Tenants() ([]string, error)
	// Entries calls fn for each of tenant's entry rows, ordered by Seq
	// ascending (ORDER BY seq). A tampered store may hold gaps and
	// duplicates; Entries returns them as they are. If fn returns an error,
	// Entries stops and returns it.
	Entries(tenant string, fn func(Entry) error) error
	// StoredHash returns the hash the store holds for tenant at tlog storage
	// index (see [tlog.StoredHashIndex] and [HashIndex]), and ok=false if it
	// holds none.
	StoredHash(tenant string, index int64) (h tlog.Hash, ok bool, err error)
	// Checkpoints returns tenant's signed checkpoint notes, oldest first.
	Checkpoints(tenant string) ([][]byte, error)
}

// A Problem is evidence that a tenant's log was tampered with.
type Problem struct {
	Tenant string
	Seq    int64  // the first bad entry, or -1 if the problem has no position
	Reason string // plain English, naming the entry or checkpoint
}

func (p Problem) String() string {
	return fmt.Sprintf("tenant %s: %s", p.Tenant, p.Reason)
}

// A Report is the result of [Verify].
type Report struct {
	Tenants     int   // tenants checked
	Entries     int64 // entry rows read
	Checkpoints int   // checkpoints examined, good or bad
	Unanchored  int64 // entries after each tenant's newest good checkpoint
	Problems    []Problem
}

// OK reports whether Verify found no evidence of tampering.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// maxListed bounds the entry problems, and separately the rejected
// checkpoints, listed per tenant. One inserted or deleted entry can make
// every later entry fail; the first few say what happened.
const maxListed = 10

// Verify checks every tenant log in src against the checkpoints signed by v,
// offline, and reports what it finds. It returns an error only when src
// fails (with the report so far); evidence of tampering goes in
// Report.Problems.
//
// For each tenant, in order, Verify reports:
//
//   - entry problems, in log order, the first ten of them and then a count
//     of the rest (the first is the first bad entry): a gap in Seq
//     (entries deleted), a Seq that repeats or goes backwards (entries
//     inserted or reordered), an entry whose Tenant is another tenant, an
//     entry whose leaf hash differs from the store's stored leaf hash at
//     [HashIndex](Seq) or that has none (entry altered), and a stored leaf
//     hash just past the last entry (entries deleted from the end);
//   - checkpoint problems: checkpoints that are not signed by v for
//     [Origin](tenant) (forged, edited or copied from another log; the first
//     ten, then a count), the first checkpoint whose size exceeds the last
//     Seq plus one (entries deleted from the end), and the first checkpoint
//     whose size exceeds the number of rows or whose root differs from the
//     RFC 6962 §2.1 tree hash of the entries as stored (the entries before it
//     were altered, inserted or deleted, even if the stored hashes were
//     rewritten to match).
//
// Verify keeps the tree rebuilt from the entries in memory: about two hashes,
// 64 bytes, per entry.
func Verify(src Source, v note.Verifier) (Report, error) {
	var rep Report
	if v == nil {
		return rep, errors.New("audit: verify: nil verifier")
	}
	tenants, err := src.Tenants()
	if err != nil {
		return rep, fmt.Errorf("audit: verify: list tenants: %w", err)
	}
	seen := make(map[string]bool)
	for _, tenant := range tenants {
		if seen[tenant] {
			continue
		}
		seen[tenant] = true
		c := &tenantCheck{src: src, tenant: tenant}
		if err := c.run(v); err != nil {
			return rep, fmt.Errorf("audit: verify tenant %s: %w", tenant, err)
		}
		rep.Tenants++
		rep.Entries += c.n
		rep.Checkpoints += c.checkpoints
		rep.Unanchored += c.n - c.anchored
		rep.Problems = append(rep.Problems, c.entryProblems.done("entry problems")...)
		rep.Problems = append(rep.Problems, c.cpProblems.done("rejected checkpoints")...)
	}
	return rep, nil
}

// tenantCheck verifies one tenant's log.
type tenantCheck struct {
	src    Source
	tenant string

	tree memHashes // stored hashes of the tree rebuilt from the rows, in row order
	n    int64     // rows read: the size of tree
	next int64     // the Seq the next row should have

	checkpoints int   // checkpoints examined
	anchored    int64 // size of the largest good checkpoint

	entryProblems problemList
	cpProblems    problemList
}

func (c *tenantCheck) run(v note.Verifier) error {
	c.entryProblems.tenant = c.tenant
	c.cpProblems.tenant = c.tenant
	if err := c.src.Entries(c.tenant, c.entry); err != nil {
		return fmt.Errorf("read entries: %w", err)
	}
	if err := c.tail(); err != nil {
		return err
	}
	cps, err := c.src.Checkpoints(c.tenant)
	if err != nil {
		return fmt.Errorf("read checkpoints: %w", err)
	}
	return c.checkpointsOK(cps, v)
}

// entry checks one row and adds it to the rebuilt tree.
func (c *tenantCheck) entry(e Entry) error {
	h := e.Hash()
	if err := c.tree.appendRecord(c.n, h); err != nil {
		return fmt.Errorf("rebuild tree at entry %d: %w", c.n, err)
	}
	c.n++

	p := &c.entryProblems
	switch {
	case e.Seq == c.next:
		c.next++
	case e.Seq == c.next+1:
		p.add(c.next, "entry %d is missing (deleted)", c.next)
		c.next = e.Seq + 1
	case e.Seq > c.next:
		p.add(c.next, "entries %d to %d are missing (deleted)", c.next, e.Seq-1)
		c.next = e.Seq + 1
	case e.Seq == c.next-1:
		p.add(e.Seq, "entry %d appears more than once (inserted)", e.Seq)
		return nil
	default:
		p.add(e.Seq, "entries out of order at %d (entry %d follows entry %d: reordered or inserted)", e.Seq, e.Seq, c.next-1)
		return nil
	}

	if e.Tenant != c.tenant {
		p.add(e.Seq, "entry %d belongs to tenant %q (copied or moved from another log)", e.Seq, e.Tenant)
		return nil
	}
	stored, ok, err := c.src.StoredHash(c.tenant, HashIndex(e.Seq))
	if err != nil {
		return fmt.Errorf("read stored hash of entry %d: %w", e.Seq, err)
	}
	switch {
	case !ok:
		p.add(e.Seq, "entry %d has no hash in the log (inserted, or the log was altered)", e.Seq)
	case stored != h:
		p.add(e.Seq, "entry %d was altered (its hash does not match the log)", e.Seq)
	}
	return nil
}

// tail checks that the log holds no hash for an entry after the last one.
func (c *tenantCheck) tail() error {
	_, ok, err := c.src.StoredHash(c.tenant, HashIndex(c.next))
	if err != nil {
		return fmt.Errorf("read stored hash of entry %d: %w", c.next, err)
	}
	if ok {
		c.entryProblems.add(c.next, "entry %d is missing (deleted from the end; its hash is still in the log)", c.next)
	}
	return nil
}

// checkpointsOK checks each signed checkpoint against the rebuilt tree.
func (c *tenantCheck) checkpointsOK(cps [][]byte, v note.Verifier) error {
	origin := Origin(c.tenant)
	var good []int64 // sizes of good checkpoints so far
	truncated, differs := false, false
	p := &c.cpProblems
	for i, msg := range cps {
		c.checkpoints++
		which := fmt.Sprintf("checkpoint %d of %d", i+1, len(cps))
		size, root, err := OpenCheckpoint(msg, v, origin)
		switch {
		case errors.Is(err, ErrCheckpointSignature):
			p.add(-1, "%s is not signed by the audit key (forged or edited)", which)
			continue
		case errors.Is(err, ErrCheckpointOrigin):
			p.add(-1, "%s was signed for another log, not %s (copied from another tenant)", which, origin)
			continue
		case err != nil:
			p.add(-1, "%s is malformed", which)
			continue
		}

		if size > c.next {
			// The sequence numbers stop short of the checkpoint.
			if !truncated {
				truncated = true
				p.add(c.next, "log holds %d entries but checkpoint signed %d (entries deleted from the end)", c.n, size)
			}
			continue
		}
		var h tlog.Hash
		if size <= c.n {
			if h, err = tlog.TreeHash(size, c.tree); err != nil {
				return fmt.Errorf("tree hash at %s: %w", which, err)
			}
		}
		if size > c.n || h != root {
			// Too few rows (deleted within the log) or the wrong ones.
			if !differs {
				differs = true
				var last int64 = -1
				for _, g := range good {
					if g < size && g > last {
						last = g
					}
				}
				if last < 0 {
					p.add(0, "entries before %d differ from the signed checkpoint at size %d (altered, inserted or deleted; no good checkpoint before it)", size, size)
				} else {
					p.add(last, "entries before %d differ from the signed checkpoint at size %d (altered, inserted or deleted; last good checkpoint at %d)", size, size, last)
				}
			}
			continue
		}
		good = append(good, size)
		c.anchored = max(c.anchored, size)
	}
	return nil
}

// problemList collects up to maxListed problems and counts the rest.
type problemList struct {
	tenant string
	list   []Problem
	more   int
}

func (l *problemList) add(seq int64, format string, args ...any) {
	if len(l.list) >= maxListed {
		l.more++
		return
	}
	l.list = append(l.list, Problem{Tenant: l.tenant, Seq: seq, Reason: fmt.Sprintf(format, args...)})
}

// done returns the problems, ending with a count of those not listed.
func (l *problemList) done(what string) []Problem {
	if l.more > 0 {
		return append(l.list, Problem{Tenant: l.tenant, Seq: -1, Reason: fmt.Sprintf("%d more %s (not listed)", l.more, what)})
	}
	return l.list
}
