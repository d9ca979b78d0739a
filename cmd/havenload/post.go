package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// PostResult is what havenload post measured: every Bundle file POSTed to
// the server's base URL once, over kept-alive connections.
type PostResult struct {
	Target    string            `json:"target"`
	Bundles   int               `json:"bundles"`   // Bundles sent
	Resources int               `json:"resources"` // entries in the Bundles sent
	OK        int               `json:"ok"`        // Bundles answered 2xx
	Accepted  int               `json:"accepted"`  // entries in the Bundles answered 2xx
	ByStatus  map[string]int    `json:"by_status"`
	Sample    map[string]string `json:"sample_errors,omitempty"`
	Elapsed   float64           `json:"elapsed_s"`
	Stopped   string            `json:"stopped"` // "done" or "duration"
}

// cmdPost loads a directory of Bundles into a server the way a client
// would: the same files haven import reads, so that an import into the peer
// is timed with a client as light as Haven's own, not with a process per
// file.
func cmdPost(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("post", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs, 2)
	dir := fs.String("dir", "", "directory of Bundle files (*.json), e.g. from havensynth")
	dur := fs.Duration("d", 10*time.Minute, "stop sending new Bundles after this long")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file (\"-\": standard output)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *dur <= 0 {
		return errors.New("post: -dir DIR and a positive -d are required")
	}
	files, err := filepath.Glob(filepath.Join(*dir, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("post: no *.json files in %s", *dir)
	}
	slices.Sort(files)
	ctx, stop := signalContext()
	defer stop()
	fc, err := cf.client(ctx)
	if err != nil {
		return err
	}
	res, err := post(ctx, fc, files, cf.concurrency, *dur)
	if err != nil {
		return err
	}
	res.Target = cf.target
	// The rate counts only what the server accepted: a quick refusal is
	// not throughput.
	fmt.Fprintf(stdout, "posted %d Bundles (%d resources) to %s in %.2fs: %.0f resources/s accepted; %d answered 2xx",
		res.Bundles, res.Resources, res.Target, res.Elapsed, float64(res.Accepted)/res.Elapsed, res.OK)
	if res.OK != res.Bundles {
		fmt.Fprintf(stdout, "; by status: %v; e.g. %v", res.ByStatus, res.Sample)
	}
	fmt.Fprintln(stdout)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", " ")
		b = append(b, '\n')
		if *jsonOut == "-" {
			_, err = stdout.Write(b)
		} else {
			err = os.WriteFile(*jsonOut, b, 0o600)
		}
	}
	return err
}

// post sends each file once, c at a time. Files are read before the clock
// starts, so disk reads are not timed; a file that is not a Bundle with
// entries is refused before anything is sent.
func post(ctx context.Context, fc *fhirClient, files []string, c int, dur time.Duration) (PostResult, error) {
	bodies := make([][]byte, len(files))
	entries := make([]int, len(files))
	res := PostResult{ByStatus: map[string]int{}, Sample: map[string]string{}, Stopped: "done"}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return res, err
		}
		var bundle struct {
			ResourceType string            `json:"resourceType"`
			Entry        []json.RawMessage `json:"entry"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil || bundle.ResourceType != "Bundle" {
			return res, fmt.Errorf("post: %s is not a FHIR Bundle", f)
		}
		bodies[i], entries[i] = b, len(bundle.Entry)
	}
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(dur)
	for range c {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				if time.Now().After(deadline) {
					mu.Lock()
					res.Stopped = "duration"
					mu.Unlock()
					return
				}
				r := fc.do(ctx, "POST", "", bodies[i], false)
				mu.Lock()
				res.Bundles++
				res.Resources += entries[i]
				switch {
				case r.err != nil:
					res.ByStatus["transport"]++
					res.Sample["transport"] = truncate(r.err.Error(), 200)
				case r.status >= 200 && r.status < 300:
					res.OK++
					res.Accepted += entries[i]
				default:
					k := strconv.Itoa(r.status)
					res.ByStatus[k]++
					res.Sample[k] = truncate(string(r.body), 200)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start).Seconds()
	return res, ctx.Err()
}
