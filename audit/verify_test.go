package audit

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// newTestStore returns a store holding 100 entries for each of the tenants
// acme and birch, with a checkpoint after every 10.
func newTestStore(t testing.TB) (*memStore, note.Verifier) {
	t.Helper()
	s, v := testKeys(t)
	st := newMemStore(t, s, 10)
	for i := range 100 {
		st.append(t, sampleEntry("acme", i))
		st.append(t, sampleEntry("birch", i))
	}
	return st, v
}

func verify(t *testing.T, src Source, v note.Verifier) Report {
	t.Helper()
	rep, err := Verify(src, v)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, p := range rep.Problems {
		t.Logf("problem: seq %d: %v", p.Seq, p)
	}
	return rep
}

// problems returns the problems reported for tenant.
func problems(rep Report, tenant string) []Problem {
	var ps []Problem
	for _, p := range rep.Problems {
		if p.Tenant == tenant {
			ps = append(ps, p)
		}
	}
	return ps
}

// wantFirst checks that the first problem for acme, and only acme, is at seq
// and says what it is in words containing reason.
func wantFirst(t *testing.T, rep Report, seq int64, reason string) {
	t.Helper()
	if rep.OK() {
		t.Fatal("Verify found nothing wrong")
	}
	if ps := problems(rep, "birch"); len(ps) > 0 {
		t.Errorf("untouched tenant birch has problems: %v", ps)
	}
	ps := problems(rep, "acme")
	if len(ps) == 0 {
		t.Fatal("no problem for acme")
	}
	if ps[0].Seq != seq || !strings.Contains(ps[0].Reason, reason) {
		t.Errorf("first problem = seq %d %q, want seq %d containing %q", ps[0].Seq, ps[0].Reason, seq, reason)
	}
}

// wantProblem checks that some problem for acme is at seq and contains reason.
func wantProblem(t *testing.T, rep Report, seq int64, reason string) {
	t.Helper()
	for _, p := range problems(rep, "acme") {
		if p.Seq == seq && strings.Contains(p.Reason, reason) {
			return
		}
	}
	t.Errorf("no problem at seq %d containing %q", seq, reason)
}

func TestVerifyClean(t *testing.T) {
	st, v := newTestStore(t)
	rep := verify(t, st, v)
	want := Report{Tenants: 2, Entries: 200, Checkpoints: 20}
	if !rep.OK() || !reflectEqualReport(rep, want) {
		t.Errorf("Verify = %+v, want %+v", rep, want)
	}

	for i := range 5 {
		st.append(t, sampleEntry("acme", 100+i))
	}
	rep = verify(t, st, v)
	want = Report{Tenants: 2, Entries: 205, Checkpoints: 20, Unanchored: 5}
	if !rep.OK() || !reflectEqualReport(rep, want) {
		t.Errorf("after 5 more entries, Verify = %+v, want %+v", rep, want)
	}
}

func reflectEqualReport(a, b Report) bool {
	return a.Tenants == b.Tenants && a.Entries == b.Entries && a.Checkpoints == b.Checkpoints &&
		a.Unanchored == b.Unanchored && slices.Equal(a.Problems, b.Problems)
}

func TestVerifyEmpty(t *testing.T) {
	s, v := testKeys(t)
	st := newMemStore(t, s, 10)
	rep := verify(t, st, v)
	if !rep.OK() || rep.Tenants != 0 {
		t.Errorf("empty store: %+v", rep)
	}

	// A tenant with no entries yet, and a checkpoint of the empty tree.
	st.checkpoint(t, "acme")
	rep = verify(t, st, v)
	if !rep.OK() || rep.Tenants != 1 || rep.Checkpoints != 1 {
		t.Errorf("empty log: %+v", rep)
	}
}

func TestVerifyAltered(t *testing.T) {
	edits := map[string]func(*Entry){
		"Time":       func(e *Entry) { e.Time = e.Time.Add(-1e3) },
		"Actor":      func(e *Entry) { e.Actor = "staff-99" },
		"ActorRole":  func(e *Entry) { e.ActorRole = "manager" },
		"Action":     func(e *Entry) { e.Action = "erase" },
		"Kind":       func(e *Entry) { e.Kind = "home-access" },
		"RecordID":   func(e *Entry) { e.RecordID = "rec-0" },
		"PersonID":   func(e *Entry) { e.PersonID = "per-0" },
		"Purpose":    func(e *Entry) { e.Purpose = "" },
		"Outcome":    func(e *Entry) { e.Outcome = "denied" },
		"ClientAddr": func(e *Entry) { e.ClientAddr = "198.51.100.7" },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			st, v := newTestStore(t)
			edit(&st.logs["acme"].rows[41])
			rep := verify(t, st, v)
			wantFirst(t, rep, 41, "entry 41 was altered")
			wantProblem(t, rep, 40, "entries before 50 differ from the signed checkpoint at size 50")
		})
	}
}

func TestVerifyDeleted(t *testing.T) {
	st, v := newTestStore(t)
	l := st.logs["acme"]
	l.rows = slices.Delete(l.rows, 41, 42)
	rep := verify(t, st, v)
	wantFirst(t, rep, 41, "entry 41 is missing (deleted)")
	wantProblem(t, rep, 40, "last good checkpoint at 40")
	for _, p := range rep.Problems {
		if strings.Contains(p.Reason, "from the end") {
			t.Errorf("deletion within the log reported as %q", p.Reason)
		}
	}

	st, v = newTestStore(t)
	l = st.logs["acme"]
	l.rows = slices.Delete(l.rows, 41, 45)
	wantFirst(t, verify(t, st, v), 41, "entries 41 to 44 are missing (deleted)")

	// Deleting the first entry is no different.
	st, v = newTestStore(t)
	l = st.logs["acme"]
	l.rows = l.rows[1:]
	rep = verify(t, st, v)
	wantFirst(t, rep, 0, "entry 0 is missing")
	wantProblem(t, rep, 0, "no good checkpoint before it")
}

func TestVerifyDeletedFromEnd(t *testing.T) {
	// Rows deleted, their hashes left behind.
	st, v := newTestStore(t)
	l := st.logs["acme"]
	l.rows = l.rows[:95]
	rep := verify(t, st, v)
	wantFirst(t, rep, 95, "entry 95 is missing (deleted from the end")
	wantProblem(t, rep, 95, "log holds 95 entries but checkpoint signed 100 (entries deleted from the end)")

	// Rows and hashes deleted: the checkpoint still knows.
	st, v = newTestStore(t)
	l = st.logs["acme"]
	l.rows = l.rows[:95]
	for x := range l.hashes {
		if x >= HashIndex(95) {
			delete(l.hashes, x)
		}
	}
	wantFirst(t, verify(t, st, v), 95, "log holds 95 entries but checkpoint signed 100")

	// Every row deleted.
	st, v = newTestStore(t)
	st.logs["acme"].rows = nil
	rep = verify(t, st, v)
	wantFirst(t, rep, 0, "entry 0 is missing (deleted from the end")
	wantProblem(t, rep, 0, "log holds 0 entries but checkpoint signed 10")
}

// TestVerifyLimit documents what offline verification cannot see: entries
// deleted from the end together with their hashes and every checkpoint that
// covered them. Keeping copies of checkpoints elsewhere closes the gap.
func TestVerifyLimit(t *testing.T) {
	st, v := newTestStore(t)
	l := st.logs["acme"]
	l.rows = l.rows[:95]
	l.checkpoints = l.checkpoints[:9]
	for x := range l.hashes {
		if x >= HashIndex(95) {
			delete(l.hashes, x)
		}
	}
	rep := verify(t, st, v)
	if !rep.OK() || rep.Unanchored != 5 {
		t.Errorf("Verify = %+v, want OK with 5 unanchored entries", rep)
	}
}

func TestVerifySwapped(t *testing.T) {
	st, v := newTestStore(t)
	rows := st.logs["acme"].rows
	a, b := rows[20], rows[27]
	a.Seq, b.Seq = b.Seq, a.Seq
	rows[20], rows[27] = b, a // contents swapped, each row keeps its seq
	rep := verify(t, st, v)
	wantFirst(t, rep, 20, "entry 20 was altered")
	wantProblem(t, rep, 27, "entry 27 was altered")
	wantProblem(t, rep, 20, "entries before 30 differ from the signed checkpoint")
}

func TestVerifyDuplicated(t *testing.T) {
	st, v := newTestStore(t)
	l := st.logs["acme"]
	l.rows = slices.Insert(l.rows, 31, l.rows[30])
	rep := verify(t, st, v)
	wantFirst(t, rep, 30, "entry 30 appears more than once")
	wantProblem(t, rep, 30, "entries before 40 differ")
}

func TestVerifyOutOfOrder(t *testing.T) {
	// A store that does not order by seq, or whose rows were moved.
	st, v := newTestStore(t)
	st.unsorted = true
	rows := st.logs["acme"].rows
	rows[60], rows[61], rows[62] = rows[62], rows[60], rows[61]
	rep := verify(t, st, v)
	wantFirst(t, rep, 60, "entries 60 to 61 are missing")
	wantProblem(t, rep, 60, "entries out of order at 60")
}

func TestVerifyInserted(t *testing.T) {
	forged := sampleEntry("acme", 7)
	forged.Actor = "staff-forged"

	// Inserted at 50, later entries renumbered, hashes untouched.
	st, v := newTestStore(t)
	l := st.logs["acme"]
	forged.Seq = 50
	l.rows = slices.Insert(l.rows, 50, forged)
	for i := 51; i < len(l.rows); i++ {
		l.rows[i].Seq++
	}
	rep := verify(t, st, v)
	wantFirst(t, rep, 50, "entry 50 was altered")
	wantProblem(t, rep, 50, "entries before 60 differ from the signed checkpoint at size 60")

	// The same, with every stored hash recomputed to match.
	l.rehash(t)
	rep = verify(t, st, v)
	wantFirst(t, rep, 50, "entries before 60 differ from the signed checkpoint at size 60 (altered, inserted or deleted; last good checkpoint at 50)")
}

func TestVerifyRewrittenHashes(t *testing.T) {
	// Entry and its stored leaf hash both changed.
	st, v := newTestStore(t)
	l := st.logs["acme"]
	l.rows[41].PersonID = "per-someone-else"
	l.hashes[HashIndex(41)] = l.rows[41].Hash()
	rep := verify(t, st, v)
	wantFirst(t, rep, 40, "entries before 50 differ from the signed checkpoint at size 50 (altered, inserted or deleted; last good checkpoint at 40)")

	// Entry changed and the whole hash store recomputed.
	l.rehash(t)
	wantFirst(t, verify(t, st, v), 40, "entries before 50 differ from the signed checkpoint at size 50")
}

func TestVerifyForgedCheckpoint(t *testing.T) {
	// Entry 95 altered, hashes recomputed, and the checkpoint at 100 replaced
	// by one signed with another key of the same name.
	st, v := newTestStore(t)
	l := st.logs["acme"]
	l.rows[95].Outcome = "ok-forged"
	l.rehash(t)
	forger, _ := otherKeys(t)
	msg, _, err := Checkpoint(forger, Origin("acme"), 100, l.reader())
	if err != nil {
		t.Fatal(err)
	}
	l.checkpoints[9] = msg
	rep := verify(t, st, v)
	wantFirst(t, rep, -1, "checkpoint 10 of 10 is not signed by the audit key")
	if rep.Unanchored != 10 {
		t.Errorf("Unanchored = %d, want 10", rep.Unanchored)
	}

	// A genuine checkpoint with its text edited.
	st, v = newTestStore(t)
	l = st.logs["acme"]
	l.checkpoints[4] = []byte(strings.Replace(string(l.checkpoints[4]), "\n50\n", "\n40\n", 1))
	wantFirst(t, verify(t, st, v), -1, "checkpoint 5 of 10 is not signed by the audit key")

	// Garbage.
	st, v = newTestStore(t)
	st.logs["acme"].checkpoints[0] = []byte("not a checkpoint")
	wantFirst(t, verify(t, st, v), -1, "checkpoint 1 of 10 is malformed")
}

func TestVerifyForeignCheckpoint(t *testing.T) {
	st, v := newTestStore(t)
	st.logs["acme"].checkpoints[3] = st.logs["birch"].checkpoints[3]
	wantFirst(t, verify(t, st, v), -1, "checkpoint 4 of 10 was signed for another log, not haven.audit/acme")
}

func TestVerifyForeignEntry(t *testing.T) {
	// Another tenant's entry in place of entry 41.
	st, v := newTestStore(t)
	st.logs["acme"].rows[41] = st.logs["birch"].rows[41]
	wantFirst(t, verify(t, st, v), 41, `entry 41 belongs to tenant "birch"`)

	// Another tenant's entry appended, with the stored hashes to match.
	st, v = newTestStore(t)
	l := st.logs["acme"]
	e := st.logs["birch"].rows[3]
	e.Seq = 100
	hs, err := StoredHashes(e, l.reader())
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hs {
		l.hashes[HashIndex(100)+int64(i)] = h
	}
	l.rows = append(l.rows, e)
	wantFirst(t, verify(t, st, v), 100, `entry 100 belongs to tenant "birch"`)
}

func TestVerifyMissingHash(t *testing.T) {
	st, v := newTestStore(t)
	delete(st.logs["acme"].hashes, HashIndex(17))
	wantFirst(t, verify(t, st, v), 17, "entry 17 has no hash in the log")
}

func TestVerifyManyProblems(t *testing.T) {
	st, v := newTestStore(t)
	l := st.logs["acme"]
	for i := 5; i < 100; i++ {
		l.rows[i].Purpose = "edited"
	}
	rep := verify(t, st, v)
	wantFirst(t, rep, 5, "entry 5 was altered")
	ps := problems(rep, "acme")
	// 10 listed, a count of the other 85, one checkpoint problem.
	if len(ps) != maxListed+2 {
		t.Fatalf("%d problems, want %d", len(ps), maxListed+2)
	}
	if p := ps[maxListed]; p.Seq != -1 || p.Reason != "85 more entry problems (not listed)" {
		t.Errorf("summary = %d %q", p.Seq, p.Reason)
	}
	if p := ps[maxListed+1]; p.Seq != 0 || !strings.Contains(p.Reason, "size 10") {
		t.Errorf("checkpoint problem = %d %q", p.Seq, p.Reason)
	}
}

// failingSource fails StoredHash, as a store whose database went away.
type failingSource struct{ *memStore }

var errDown = errors.New("database is down")

func (failingSource) StoredHash(string, int64) (tlog.Hash, bool, error) {
	return tlog.Hash{}, false, errDown
}

func TestVerifySourceError(t *testing.T) {
	st, v := newTestStore(t)
	_, err := Verify(failingSource{st}, v)
	if !errors.Is(err, errDown) || !strings.Contains(err.Error(), "audit: verify tenant acme") {
		t.Errorf("Verify = %v, want an error wrapping %v", err, errDown)
	}
	if _, err := Verify(st, nil); err == nil {
		t.Error("Verify with a nil verifier succeeded")
	}
}

func TestVerifyWrongKey(t *testing.T) {
	st, _ := newTestStore(t)
	_, other := otherKeys(t)
	rep := verify(t, st, other)
	if got := len(rep.Problems); got != 20 {
		t.Errorf("%d problems, want all 20 checkpoints rejected", got)
	}
	for _, p := range rep.Problems {
		if !strings.Contains(p.Reason, "is not signed by the audit key") {
			t.Errorf("problem %v, want a rejected checkpoint", p)
		}
	}
	if rep.Unanchored != 200 {
		t.Errorf("Unanchored = %d, want 200", rep.Unanchored)
	}
}
