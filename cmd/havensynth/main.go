// Command havensynth makes a larger synthetic population for benchmarks
// from Synthea's Bundles: each copy of each patient's Bundle gets new
// uuids (fullUrls, references and ids alike), so that N copies of 100
// patients are N×100 distinct people with full histories.
//
//	havensynth -copies 10 -out /tmp/synth ../shared/data/synthea-r4/bundles-100.tar.gz
//
// It writes one transaction Bundle per person. The data stays synthetic:
// names and histories repeat across copies, which is what a load test
// needs and nothing more.
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var uuid = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func main() {
	copies := flag.Int("copies", 10, "copies of each patient")
	out := flag.String("out", "", "output folder")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: havensynth -copies N -out DIR BUNDLES.tar.gz")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, *copies); err != nil {
		fmt.Fprintln(os.Stderr, "havensynth:", err)
		os.Exit(1)
	}
}

func run(archive, out string, copies int) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		if !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		for c := range copies {
			// Every uuid is replaced by one derived from it and the copy,
			// so references inside the Bundle still meet.
			body := uuid.ReplaceAllStringFunc(string(b), func(u string) string {
				s := sha256.Sum256([]byte(fmt.Sprintf("%d/%s", c, u)))
				x := fmt.Sprintf("%x", s[:16])
				return x[0:8] + "-" + x[8:12] + "-4" + x[13:16] + "-a" + x[17:20] + "-" + x[20:32]
			})
			name := fmt.Sprintf("%03d-%s", c, filepath.Base(h.Name))
			if err := os.WriteFile(filepath.Join(out, name), []byte(body), 0o644); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Printf("wrote %d Bundles to %s\n", n, out)
	return nil
}
