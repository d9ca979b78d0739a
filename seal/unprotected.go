//go:build havenbench_unprotected

package seal

// Unprotected is true in this build: the benchmark-only build made with
// -tags havenbench_unprotected, in which sealing and opening records is the
// identity, so that "go run ./cmd/havenload" can measure what encryption
// costs. Records it writes are plaintext at rest. Never ship it: cmd/haven
// refuses to listen on anything but loopback when this is set, and prints a
// warning at every start (see cmd/haven/unprotected.go).
//
// Key wrapping, person-key generation and blind indexes still run: they
// are tiny next to record sealing, and search needs the indexes.
const Unprotected = true

// unprotectedSeal "seals" or "opens" b by copying it, so a caller that
// keeps or changes the result never aliases the input, as with real AEAD.
func unprotectedSeal(b []byte) []byte { return append([]byte(nil), b...) }
