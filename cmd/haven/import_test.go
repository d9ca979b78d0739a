package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// synthea is the archive of 100 Synthea patient Bundles beside the
// repository.
var synthea = filepath.Join("..", "..", "..", "shared", "data", "synthea-r4", "bundles-100.tar.gz")

// TestImportCommand runs `haven import` on the Synthea archive, as a user
// would: its Bundles go through several workers at once, and every clinical
// resource must still be kept, the billing ones refused with a reason, and
// a second run must change nothing.
func TestImportCommand(t *testing.T) {
	if _, err := os.Stat(synthea); err != nil {
		if os.Getenv("CI") != "" || os.Getenv("HAVEN_REQUIRE_SYNTHEA") != "" {
			t.Fatalf("the Synthea archive is missing: %v", err)
		}
		t.Skipf("the Synthea archive is not beside the repository: %v", err)
	}
	dir := t.TempDir()
	report := filepath.Join(dir, "rejected.json")
	quiet(t, func() {
		if err := run([]string{"admin", "create-tenant", "--data", dir, "--id", "north", "--name", "North"}); err != nil {
			t.Fatal(err)
		}
	})
	summary := regexp.MustCompile(`Imported (\d+) resources .*: (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) rejected`)
	importOnce := func() []int {
		out := quiet(t, func() {
			if err := run([]string{"import", "--data", dir, "--tenant", "north", "--synthetic-nhs-numbers", "--report", report, synthea}); err != nil {
				t.Fatal(err)
			}
		})
		m := summary.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no summary in %q", out)
		}
		n := make([]int, 5)
		for i := range n {
			n[i], _ = strconv.Atoi(m[i+1])
		}
		return n
	}
	// resources, created, updated, unchanged, rejected
	first := importOnce()
	// Organizations and Practitioners recur across patients' Bundles: the
	// first copy is created, the later ones are found unchanged.
	if first[0] != 11659 || first[1]+first[3] != 9501 || first[2] != 0 || first[4] != 2158 {
		t.Fatalf("first import: %v; want 11659 read, 9501 created or unchanged, none updated, 2158 rejected", first)
	}
	var rejected []struct{ Type, Reason string }
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rejected); err != nil || len(rejected) != 2158 {
		t.Fatalf("report: %d entries, %v", len(rejected), err)
	}
	for _, r := range rejected {
		if (r.Type != "Claim" && r.Type != "ExplanationOfBenefit") || r.Reason == "" {
			t.Fatalf("rejected %s: %q", r.Type, r.Reason)
		}
	}
	if again := importOnce(); again[1] != 0 || again[2] != 0 || again[3] != 9501 {
		t.Fatalf("second import: %v; want 0 created, 0 updated, 9501 unchanged", again)
	}
}

// quiet runs fn with standard output captured, and returns it.
func quiet(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	defer func() { os.Stdout = stdout }()
	fn()
	w.Close()
	os.Stdout = stdout
	return <-done
}

// TestImportQueueMemory checks that the workers' Bundle files are held
// within the queue's memory, and that a file larger than all of it is
// still imported, alone.
func TestImportQueueMemory(t *testing.T) {
	q := newImportQueue(context.Background(), nil, nil, 8, 100)
	release, err := q.hold(60)
	if err != nil {
		t.Fatal(err)
	}
	if q.memory.TryAcquire(41) {
		t.Fatal("a file of 60 bytes left room for 41 more within 100")
	}
	release()
	big, err := q.hold(1000)
	if err != nil {
		t.Fatal(err)
	}
	if q.memory.TryAcquire(1) {
		t.Fatal("a file larger than the memory left room beside it")
	}
	big()
	if !q.memory.TryAcquire(100) {
		t.Fatal("the memory was not given back")
	}
}
