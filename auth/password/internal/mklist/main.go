// Command mklist turns a password list (one entry a line, on standard input)
// into the form package password embeds (on standard output): each entry
// normalised with pwnorm.ListKey and trimmed, empty lines dropped,
// duplicates removed, sorted by bytes, one entry a line.
//
// It is run by scripts/update-password-list; it is a Go program rather than a
// few lines of shell so that the list is normalised by exactly the code that
// normalises passwords at look-up time, and sorted in exactly the order the
// look-up's binary search expects, whatever the machine's locale.
package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/havencare/haven/auth/password/internal/pwnorm"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mklist:", err)
		os.Exit(1)
	}
}

func run() error {
	sc := bufio.NewScanner(os.Stdin)
	// Lines in leaked lists can be long; a longer one is an error, never
	// silently cut.
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	seen := make(map[string]struct{})
	for sc.Scan() {
		// Normalise before trimming: NFKC turns some characters (e.g. the
		// no-break space) into ordinary spaces.
		k := strings.TrimSpace(pwnorm.ListKey(sc.Text()))
		if k != "" {
			seen[k] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	list := make([]string, 0, len(seen))
	for k := range seen {
		list = append(list, k)
	}
	slices.Sort(list)

	w := bufio.NewWriter(os.Stdout)
	for _, k := range list {
		w.WriteString(k)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	fmt.Fprintf(os.Stderr, "mklist: %d entries\n", len(list))
	return nil
}
