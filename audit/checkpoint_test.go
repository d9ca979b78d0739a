package audit

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// goldenCheckpoint is the checkpoint the test key signs for acme-care's log
// at size 2 with the RFC 6962 reference root for two leaves, ctRoots[2].
// Ed25519 signatures are deterministic (RFC 8032 §5.1.6), so it never changes.
const goldenCheckpoint = "haven.audit/acme-care\n" +
	"2\n" +
	"+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=\n" +
	"\n" +
	"— haven.audit 4WODbEGNtV/u0Lja2dCJo8JXTsHWJXtOCcXUzaMvX3wwkUbPuUw8ZGRcP5nYZ2w/7slWzlk0lbiyMdsYR3ILgUKFqQ0=\n"

func ctRoot(t testing.TB, n int) tlog.Hash {
	t.Helper()
	b, err := hex.DecodeString(ctRoots[n])
	if err != nil {
		t.Fatal(err)
	}
	return tlog.Hash(b)
}

func TestCheckpointGolden(t *testing.T) {
	s, v := testKeys(t)
	msg, err := SignCheckpoint(s, Origin("acme-care"), 2, ctRoot(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	if string(msg) != goldenCheckpoint {
		t.Errorf("SignCheckpoint =\n%s\nwant\n%s", msg, goldenCheckpoint)
	}
	size, root, err := OpenCheckpoint([]byte(goldenCheckpoint), v, Origin("acme-care"))
	if err != nil || size != 2 || root != ctRoot(t, 2) {
		t.Errorf("OpenCheckpoint = %d, %v, %v; want 2, %v", size, root, err, ctRoot(t, 2))
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	s, v := testKeys(t)
	for _, size := range []int64{0, 1, 2, 9, 1 << 40} {
		root := tlog.RecordHash([]byte{byte(size)})
		msg, err := SignCheckpoint(s, Origin("acme"), size, root)
		if err != nil {
			t.Fatal(err)
		}
		gotSize, gotRoot, err := OpenCheckpoint(msg, v, Origin("acme"))
		if err != nil || gotSize != size || gotRoot != root {
			t.Errorf("size %d: OpenCheckpoint = %d, %v, %v", size, gotSize, gotRoot, err)
		}
	}
}

func TestCheckpointRejected(t *testing.T) {
	s, v := testKeys(t)
	otherSigner, otherVerifier := otherKeys(t)
	good, err := SignCheckpoint(s, Origin("acme"), 5, ctRoot(t, 5))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := SignCheckpoint(otherSigner, Origin("acme"), 5, ctRoot(t, 5))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		msg    string
		v      note.Verifier
		origin string
		want   error
	}{
		{"wrong key", string(good), otherVerifier, Origin("acme"), ErrCheckpointSignature},
		{"forged", string(forged), v, Origin("acme"), ErrCheckpointSignature},
		{"wrong origin", string(good), v, Origin("birch"), ErrCheckpointOrigin},
		{"edited size", strings.Replace(string(good), "\n5\n", "\n6\n", 1), v, Origin("acme"), ErrCheckpointSignature},
		{"edited root", strings.Replace(string(good), ctRoot(t, 5).String(), ctRoot(t, 4).String(), 1), v, Origin("acme"), ErrCheckpointSignature},
		{"edited origin", strings.Replace(string(good), "acme", "acmf", 1), v, Origin("acmf"), ErrCheckpointSignature},
		{"extra line", strings.Replace(string(good), "\n\n", "\nextra\n\n", 1), v, Origin("acme"), ErrCheckpointSignature},
		{"no signature", strings.SplitAfter(string(good), "\n\n")[0], v, Origin("acme"), ErrMalformedCheckpoint},
		{"empty", "", v, Origin("acme"), ErrMalformedCheckpoint},
		{"control character", strings.Replace(string(good), "acme", "ac\x00e", 1), v, Origin("acme"), ErrMalformedCheckpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := OpenCheckpoint([]byte(tt.msg), tt.v, tt.origin)
			if !errors.Is(err, tt.want) {
				t.Errorf("OpenCheckpoint error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestCheckpointText signs malformed and unusual note texts directly with
// note.Sign and checks how OpenCheckpoint parses them.
func TestCheckpointText(t *testing.T) {
	s, v := testKeys(t)
	root := ctRoot(t, 3).String()
	// The same hash in base64 with a nonzero unused bit, which lenient
	// decoders accept.
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	lenient := root[:42] + string(b64[strings.IndexByte(b64, root[42])^1]) + "="
	if h, err := tlog.ParseHash(lenient); err != nil || h != ctRoot(t, 3) {
		t.Fatalf("tlog.ParseHash(%q) = %v, %v; want it to accept the lenient form", lenient, h, err)
	}
	tests := []struct {
		text string
		size int64 // -1: want ErrMalformedCheckpoint
	}{
		{"haven.audit/acme\n3\n" + root + "\n", 3},
		{"haven.audit/acme\n3\n" + root + "\nextension line\n", 3}, // extensions are ignored
		{"haven.audit/acme\n0\n" + root + "\n", 0},
		{"haven.audit/acme\n03\n" + root + "\n", -1}, // leading zero
		{"haven.audit/acme\n+3\n" + root + "\n", -1},
		{"haven.audit/acme\n-3\n" + root + "\n", -1},
		{"haven.audit/acme\n 3\n" + root + "\n", -1},
		{"haven.audit/acme\n3.0\n" + root + "\n", -1},
		{"haven.audit/acme\n9223372036854775808\n" + root + "\n", -1}, // overflows int64
		{"haven.audit/acme\n3\n" + strings.TrimRight(root, "=") + "\n", -1},
		{"haven.audit/acme\n3\n" + lenient + "\n", -1},
		{"haven.audit/acme\n3\nAAAA\n", -1},                      // too short
		{"haven.audit/acme\n3\n" + root + "\n\nextension\n", -1}, // empty line
		{"haven.audit/acme\n3\n", -1},
		{"haven.audit/acme\n", -1},
	}
	for _, tt := range tests {
		msg, err := note.Sign(&note.Note{Text: tt.text}, s)
		if err != nil {
			t.Fatalf("note.Sign(%q): %v", tt.text, err)
		}
		size, _, err := OpenCheckpoint(msg, v, "haven.audit/acme")
		switch {
		case tt.size < 0 && !errors.Is(err, ErrMalformedCheckpoint):
			t.Errorf("%q: OpenCheckpoint = %d, %v; want ErrMalformedCheckpoint", tt.text, size, err)
		case tt.size >= 0 && (err != nil || size != tt.size):
			t.Errorf("%q: OpenCheckpoint = %d, %v; want %d", tt.text, size, err, tt.size)
		}
	}
}

func TestSignCheckpointInvalid(t *testing.T) {
	s, _ := testKeys(t)
	for _, origin := range []string{"", "a\nb", "a\x00", "a\x7f", "\xff"} {
		if _, err := SignCheckpoint(s, origin, 1, tlog.Hash{}); err == nil {
			t.Errorf("SignCheckpoint accepted origin %q", origin)
		}
	}
	if _, err := SignCheckpoint(s, "x", -1, tlog.Hash{}); err == nil {
		t.Error("SignCheckpoint accepted size -1")
	}
	if _, _, err := Checkpoint(s, "x", -1, memHashes(nil)); err == nil {
		t.Error("Checkpoint accepted size -1")
	}
	if _, _, err := Checkpoint(s, "x", 3, memHashes(nil)); err == nil {
		t.Error("Checkpoint of 3 entries with no stored hashes succeeded")
	}
	if _, _, err := OpenCheckpoint([]byte(goldenCheckpoint), nil, "x"); err == nil {
		t.Error("OpenCheckpoint with a nil verifier succeeded")
	}
}

// FuzzOpenCheckpoint checks that OpenCheckpoint never panics, that every
// error it returns is one of the three kinds, and that whatever it accepts
// re-signs to a checkpoint that opens the same.
func FuzzOpenCheckpoint(f *testing.F) {
	f.Add([]byte(goldenCheckpoint))
	f.Add([]byte(strings.Replace(goldenCheckpoint, "\n2\n", "\n3\n", 1)))
	f.Add([]byte(strings.Replace(goldenCheckpoint, "— ", "—  ", 1)))
	f.Add([]byte("haven.audit/acme-care\n2\n\n— haven.audit AAAAAA==\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte{})
	s, v := testKeys(f)
	for _, text := range []string{
		"haven.audit/acme-care\n2\n" + ctRoots[2] + "\n",
		"haven.audit/acme-care\n2\n+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=\next\n",
		"haven.audit/acme-care\n99999999999999999999\n+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=\n",
		"haven.audit/acme-care\n",
	} {
		msg, err := note.Sign(&note.Note{Text: text}, s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg)
	}
	origin := Origin("acme-care")
	f.Fuzz(func(t *testing.T, msg []byte) {
		size, root, err := OpenCheckpoint(msg, v, origin)
		if err != nil {
			if !errors.Is(err, ErrCheckpointSignature) && !errors.Is(err, ErrCheckpointOrigin) && !errors.Is(err, ErrMalformedCheckpoint) {
				t.Fatalf("OpenCheckpoint error %v is of no known kind", err)
			}
			return
		}
		if size < 0 {
			t.Fatalf("OpenCheckpoint accepted size %d", size)
		}
		again, err := SignCheckpoint(s, origin, size, root)
		if err != nil {
			t.Fatal(err)
		}
		size2, root2, err := OpenCheckpoint(again, v, origin)
		if err != nil || size2 != size || root2 != root {
			t.Fatalf("re-signed checkpoint opens as %d, %v, %v; want %d, %v", size2, root2, err, size, root)
		}
	})
}
