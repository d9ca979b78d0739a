package password

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/havencare/haven/auth/password/internal/pwnorm"
)

func TestListSize(t *testing.T) {
	if n := ListSize(); n < 100_000 {
		t.Fatalf("ListSize() = %d, want at least 100000", n)
	}
}

// TestListWellFormed checks what look-ups rely on: entries sorted by bytes
// and unique (binary search), already in ListKey form and trimmed (or they
// could never match), valid UTF-8, none empty.
func TestListWellFormed(t *testing.T) {
	l := loadCommon()
	if !strings.HasSuffix(l.data, "\n") {
		t.Fatal("list does not end in a newline")
	}
	prev := ""
	for i, off := range l.starts {
		e := l.line(off)
		switch {
		case e == "":
			t.Fatalf("entry %d is empty", i)
		case i > 0 && e <= prev:
			t.Fatalf("entry %d %q not after %q: not sorted or not unique", i, e, prev)
		case !utf8.ValidString(e):
			t.Fatalf("entry %d %q is not UTF-8", i, e)
		case pwnorm.ListKey(e) != e || strings.TrimSpace(e) != e:
			t.Fatalf("entry %d %q is not normalised", i, e)
		}
		prev = e
	}
}

func TestCommon(t *testing.T) {
	l := loadCommon()
	// Every entry, first and last included, is found (checks the search's
	// edges); a sample, to keep the test quick.
	for i := 0; i < len(l.starts); i += 997 {
		if e := l.line(l.starts[i]); !Common(e) {
			t.Fatalf("entry %d %q not found", i, e)
		}
	}
	for _, i := range []int{0, len(l.starts) - 1} {
		if e := l.line(l.starts[i]); !Common(e) {
			t.Fatalf("entry %d %q not found", i, e)
		}
	}
	for _, pw := range []string{"123456", "password", "PassWord", "qwerty", "password1234", "letmein"} {
		if !Common(pw) {
			t.Errorf("Common(%q) = false", pw)
		}
	}
	for _, pw := range []string{"", "tumbling ochre giraffe", "password1234 ", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "\x00", "\xff"} {
		if Common(pw) {
			t.Errorf("Common(%q) = true", pw)
		}
	}
}

func BenchmarkCommon(b *testing.B) {
	loadCommon()
	for b.Loop() {
		Common("tumbling ochre giraffe")
	}
}
