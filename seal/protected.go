//go:build !havenbench_unprotected

package seal

// Unprotected reports whether this is the benchmark-only build (tag
// havenbench_unprotected) in which sealing and opening records are the
// identity. It is a constant false in every other build, so the compiler
// removes the benchmark path from Seal and Open entirely.
const Unprotected = false

// unprotectedSeal is never called in this build.
func unprotectedSeal(b []byte) []byte { panic("seal: unprotected path in a protected build") }
