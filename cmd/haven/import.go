package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/havencare/haven/fhir"
	"golang.org/x/sync/semaphore"
)

const importUsage = `Usage:
  haven import --tenant ID [--synthetic-nhs-numbers] [--report FILE] PATH...

Loads FHIR R4 data into a care organisation: transaction, batch or
collection Bundles (.json), NDJSON as a Bulk Data export writes it
(.ndjson), folders of them, and .tar.gz archives of them. urn:uuid:
references between a Bundle's entries are resolved. Importing the same data
again is safe: ids from the source are kept (or derived from it) and
patients are matched on their NHS number, so nothing is copied twice.

Every resource Haven does not keep (billing claims, for example) or cannot
accept is left out and reported with the reason; --report FILE writes the
full list as JSON. --synthetic-nhs-numbers gives patients who have no NHS
number one from the NHS's test range (999...), for test data only.
`

// importSource is one file to import, from disk or an archive.
type importSource struct {
	name    string
	open    func() (io.ReadCloser, error)
	archive bool // a .tar.gz whose .json and .ndjson members are imported
}

func cmdImport(args []string) error {
	fset := flag.NewFlagSet("import", flag.ContinueOnError)
	fset.Usage = func() { fmt.Fprint(os.Stderr, importUsage) }
	var o options
	o.register(fset)
	tenant := fset.String("tenant", "", "tenant id to import into")
	synthetic := fset.Bool("synthetic-nhs-numbers", false, "give patients without an NHS number one from the test range (test data only)")
	reportFile := fset.String("report", "", "write every rejected resource and why to this JSON file")
	if err := parseInterspersed(fset, args); err != nil {
		return err
	}
	if *tenant == "" || fset.NArg() == 0 {
		fmt.Fprint(os.Stderr, importUsage)
		return exitError{2}
	}
	var sources []importSource
	for _, path := range fset.Args() {
		more, err := findSources(path)
		if err != nil {
			return err
		}
		sources = append(sources, more...)
	}
	if len(sources) == 0 {
		return fmt.Errorf("import: no .json, .ndjson or .tar.gz files in %s", strings.Join(fset.Args(), ", "))
	}
	// Patients before what is about them: NDJSON files of a Bulk Data
	// export are one type each.
	sort.SliceStable(sources, func(i, j int) bool { return importRank(sources[i].name) < importRank(sources[j].name) })
	tuneGC(os.Getenv)

	ctx := context.Background()
	a, err := open(ctx, o, false)
	if err != nil {
		return err
	}
	defer a.close()
	im := fhir.NewImporter(a.svc, operator(*tenant, "FHIR import"), a.log)
	im.SyntheticNHSNumbers = *synthetic
	start := time.Now()
	files := 0
	for _, src := range sources {
		if !src.archive {
			files++
			continue
		}
		// Count an archive's files first, so that the bar means something.
		if err := walkArchive(src.name, func(name string, _ io.Reader) error {
			if strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".ndjson") {
				files++
			}
			return nil
		}); err != nil {
			return err
		}
	}
	bar := newProgress(os.Stderr, "importing files", files)
	q := newImportQueue(ctx, im, bar, importWorkersPerCore*runtime.GOMAXPROCS(0), importMemory)
	rank := -1
	for _, src := range sources {
		// What each rank refers to is in the ranks before it: let every
		// file of one rank finish before the next rank starts.
		if r := importRank(src.name); r != rank {
			if err := q.wait(); err != nil {
				return err
			}
			rank = r
		}
		if err := q.source(src); err != nil {
			return err
		}
	}
	if err := q.wait(); err != nil {
		return err
	}
	bar.done()
	rep := im.Report()
	printImportReport(os.Stdout, rep, time.Since(start))
	if *reportFile != "" {
		b, _ := json.MarshalIndent(rep.Rejected, "", "  ")
		if err := os.WriteFile(*reportFile, append(b, '\n'), 0o600); err != nil {
			return err
		}
		fmt.Printf("Rejected resources listed in %s\n", *reportFile)
	}
	return nil
}

// parseInterspersed parses flags that may come before or after the paths,
// leaving the paths as the flag set's arguments.
func parseInterspersed(fset *flag.FlagSet, args []string) error {
	fset.SetOutput(os.Stderr)
	var paths []string
	for {
		if err := fset.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitError{0}
			}
			return exitError{2}
		}
		if fset.NArg() == 0 {
			break
		}
		paths = append(paths, fset.Arg(0))
		args = fset.Args()[1:]
	}
	return fset.Parse(append([]string{"--"}, paths...))
}

func importRank(name string) int {
	base := filepath.Base(name)
	switch {
	case strings.HasPrefix(base, "Patient"):
		return 0
	case strings.HasPrefix(base, "Organization"), strings.HasPrefix(base, "Practitioner"):
		return 1
	}
	return 2
}

// findSources lists the importable files at path.
func findSources(path string) ([]importSource, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return fileSources(path)
	}
	var out []importSource
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		more, err := fileSources(p)
		out = append(out, more...)
		return err
	})
	return out, err
}

func fileSources(path string) ([]importSource, error) {
	switch {
	case strings.HasSuffix(path, ".json"), strings.HasSuffix(path, ".ndjson"):
		return []importSource{{name: path, open: func() (io.ReadCloser, error) { return os.Open(path) }}}, nil
	case strings.HasSuffix(path, ".tar.gz"), strings.HasSuffix(path, ".tgz"):
		return archiveSources(path)
	}
	return nil, nil
}

// archiveSources lists a .tar.gz as one source whose members are imported
// as the archive is read, in one pass.
func archiveSources(path string) ([]importSource, error) {
	return []importSource{{name: path, archive: true}}, nil
}

func walkArchive(path string, fn func(name string, r io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if h.Typeflag == tar.TypeReg {
			if err := fn(h.Name, tr); err != nil {
				return err
			}
		}
	}
}

// maxImportFile bounds one Bundle file read into memory.
const maxImportFile = 256 << 20

// importWorkersPerCore is how many Bundles are read and checked at once
// for each core. The single committer writes a Bundle in about the time a
// worker decodes one; with one worker a core it often found nothing
// waiting, and committed a Bundle's units one per fsync. With four it
// nearly always has several waiting and commits them together: the
// 1,000-person import took 15.9–21.0 s against 21.0–23.0 s
// (docs/benchmarks.md).
const importWorkersPerCore = 4

// importMemory bounds the bytes of the Bundle files that the workers hold
// at once, however many workers there are (one file over it is held
// alone).
const importMemory = 512 << 20

// importQueue imports Bundle files on several workers at once, so that
// reading and checking one Bundle overlaps with writing another, and the
// store's group commit writes several Bundles in one commit. Each Bundle is
// still one unit of its own, all-or-nothing as before. NDJSON files, whose
// lines may refer to earlier lines, are imported one at a time in order.
type importQueue struct {
	ctx    context.Context
	im     *fhir.Importer
	bar    *progress
	slots  chan struct{}       // one per worker
	memory *semaphore.Weighted // bytes of Bundle files held by the workers
	limit  int64               // memory's size
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error // the first failure; nothing more is started after it
}

func newImportQueue(ctx context.Context, im *fhir.Importer, bar *progress, workers int, memory int64) *importQueue {
	return &importQueue{ctx: ctx, im: im, bar: bar, slots: make(chan struct{}, max(workers, 1)),
		memory: semaphore.NewWeighted(memory), limit: memory}
}

// hold waits until a file of n bytes fits within the queue's memory, and
// returns what gives the room back.
func (q *importQueue) hold(n int) (release func(), err error) {
	w := min(int64(n), q.limit)
	if err := q.memory.Acquire(q.ctx, w); err != nil {
		return nil, err
	}
	return func() { q.memory.Release(w) }, nil
}

// source imports one file or archive, handing its Bundles to the workers.
func (q *importQueue) source(src importSource) error {
	if src.archive {
		return walkArchive(src.name, func(name string, r io.Reader) error {
			if !strings.HasSuffix(name, ".json") && !strings.HasSuffix(name, ".ndjson") {
				return nil
			}
			return q.file(filepath.Base(src.name)+":"+name, r)
		})
	}
	r, err := src.open()
	if err != nil {
		return err
	}
	defer r.Close()
	return q.file(src.name, r)
}

// file imports one NDJSON file now, after the Bundles before it, or reads
// one Bundle and starts it on a worker.
func (q *importQueue) file(name string, r io.Reader) error {
	if err := q.failed(); err != nil {
		return err
	}
	if strings.HasSuffix(name, ".ndjson") {
		if err := q.wait(); err != nil {
			return err
		}
		defer q.bar.add(1)
		// The whole name: the folder tells one export's files from
		// another's (fhir.Importer.NDJSON).
		if err := q.im.NDJSON(q.ctx, name, r, nil); err != nil {
			return fmt.Errorf("import %s: %w", name, explain(err))
		}
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r, maxImportFile+1))
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	if len(b) > maxImportFile {
		return fmt.Errorf("import %s: larger than %d MiB; split it, or export it as NDJSON", name, maxImportFile>>20)
	}
	release, err := q.hold(len(b))
	if err != nil {
		return err
	}
	q.slots <- struct{}{}
	q.wg.Add(1)
	go func() {
		defer func() { <-q.slots; release(); q.wg.Done() }()
		defer q.bar.add(1)
		if _, err := q.im.Bundle(q.ctx, filepath.Base(name), b); err != nil {
			q.fail(fmt.Errorf("import %s: %w", name, explain(err)))
		}
	}()
	return nil
}

// wait lets every Bundle started so far finish.
func (q *importQueue) wait() error {
	q.wg.Wait()
	return q.failed()
}

func (q *importQueue) fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err == nil {
		q.err = err
	}
}

func (q *importQueue) failed() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// printImportReport prints the summary: per type, and the reasons
// resources were left out, most common first.
func printImportReport(out io.Writer, rep fhir.ImportReport, took time.Duration) {
	fmt.Fprintf(out, "\nImported %d resources in %s (%.0f resources/s): %d created, %d updated, %d unchanged, %d rejected.\n\n",
		rep.Resources, took.Round(time.Millisecond), float64(rep.Resources)/took.Seconds(), rep.Created, rep.Updated, rep.Unchanged, len(rep.Rejected))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "type\tcreated\tupdated\tunchanged\trejected\t")
	names := make([]string, 0, len(rep.ByType))
	for t := range rep.ByType {
		names = append(names, t)
	}
	slices.Sort(names)
	for _, t := range names {
		c := rep.ByType[t]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", t, c.Created, c.Updated, c.Unchanged, c.Rejected)
	}
	tw.Flush()
	if len(rep.Rejected) == 0 {
		return
	}
	type group struct {
		reason  string
		sources []string
	}
	byReason := map[string]*group{}
	var order []*group
	for _, r := range rep.Rejected {
		g := byReason[r.Reason]
		if g == nil {
			g = &group{reason: r.Reason}
			byReason[r.Reason] = g
			order = append(order, g)
		}
		g.sources = append(g.sources, r.Source)
	}
	sort.SliceStable(order, func(i, j int) bool { return len(order[i].sources) > len(order[j].sources) })
	fmt.Fprintln(out, "\nLeft out, and why:")
	for i, g := range order {
		if i == 10 {
			fmt.Fprintf(out, "  ... and %d other reasons (--report FILE lists every one)\n", len(order)-10)
			break
		}
		ex := g.sources
		if len(ex) > 2 {
			ex = ex[:2]
		}
		fmt.Fprintf(out, "  %5d  %s\n         e.g. %s\n", len(g.sources), g.reason, strings.Join(ex, "; "))
	}
}
