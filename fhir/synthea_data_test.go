package fhir

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SyntheaArchive holds 100 Synthea patients' transaction Bundles: data
// shaped by a tool nobody here wrote.
var SyntheaArchive = filepath.Join("..", "..", "shared", "data", "synthea-r4", "bundles-100.tar.gz")

// SyntheaBundles reads the archive's Bundles.
func SyntheaBundles(t testing.TB) map[string][]byte {
	t.Helper()
	f, err := os.Open(SyntheaArchive)
	if os.IsNotExist(err) && os.Getenv("CI") == "" && os.Getenv("HAVEN_REQUIRE_SYNTHEA") == "" {
		t.Skipf("no Synthea data at %s", SyntheaArchive)
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(h.Name, ".json") {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[h.Name] = b
		}
	}
	return out
}
