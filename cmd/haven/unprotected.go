//go:build havenbench_unprotected

package main

// The benchmark-only build of Haven: go build -tags havenbench_unprotected.
// Records are sealed by copying (seal.Unprotected) and no audit entry is
// written (store/unprotected), so that scripts/bench-http can show what
// protection costs as a ratio against the normal build. Everything else
// (sign-in, tokens, policy, the guard) runs as usual.
//
// So that it cannot be mistaken for Haven, this build prints a warning at
// every start, serves only on a loopback address (even with TLS), refuses
// PostgreSQL, and opens only a data directory it created itself (marked by
// unprotectedMarker): a protected data directory is never mixed with
// plaintext rows. A normal build contains none of this; see env.go and
// TestProtectedBuildHooks.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/unprotected"
)

// unprotectedMarker names the file that marks a data directory made by the
// benchmark-only build.
const unprotectedMarker = "UNPROTECTED-BENCHMARK-DATA"

const unprotectedBanner = `
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  BENCHMARK-ONLY BUILD OF HAVEN (tag havenbench_unprotected)         !!
!!  Records are NOT encrypted and NO audit log is written.             !!
!!  It serves on loopback only, from a data directory it made itself.  !!
!!  Never give it real data. Build without the tag for any real use.   !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!

`

func init() {
	if !seal.Unprotected {
		panic("havenbench_unprotected: seal was built with sealing on; build everything with the same tags")
	}
	fmt.Fprint(os.Stderr, unprotectedBanner)
	wrapStore = wrapUnprotected
	checkListen = loopbackOnly
}

func wrapUnprotected(ctx context.Context, opt options, st store.Store) (store.Store, error) {
	if opt.databaseURL != "" {
		return nil, errors.New("the benchmark-only build runs on SQLite in a data directory of its own; it refuses --database-url")
	}
	marker := filepath.Join(opt.data, unprotectedMarker)
	if _, err := os.Stat(marker); err != nil {
		ts, err := st.Tenants(ctx)
		if err != nil {
			return nil, err
		}
		if len(ts) > 0 {
			return nil, fmt.Errorf("refusing to open %s: it was made by a protected Haven (it has no %s file), and this benchmark-only build would write plaintext into it", opt.data, unprotectedMarker)
		}
		if err := os.WriteFile(marker, []byte("Made by the benchmark-only build of Haven: records here are plaintext and unaudited.\n"), 0o600); err != nil {
			return nil, err
		}
	}
	return unprotected.Wrap(st), nil
}

func loopbackOnly(a net.Addr) error {
	if t, ok := a.(*net.TCPAddr); ok && t.IP.IsLoopback() {
		fmt.Fprintf(os.Stderr, "WARNING: serving UNPROTECTED (no encryption, no audit) on %s, for benchmarks only\n", a)
		return nil
	}
	return fmt.Errorf("refusing to listen on %s: the benchmark-only build (no encryption, no audit) serves on a loopback address only", a)
}
