package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/havencare/haven/auth/password/internal/pwnorm"
)

// commonGz is the block list: gzip of one entry a line, each already in
// pwnorm.ListKey form, unique, sorted by bytes. See README.md for its source;
// scripts/update-password-list rebuilds it.
//
//go:embed common-passwords.txt.gz
var commonGz []byte

// commonList is the decompressed list, made on first use so that programs
// that never check a password do not pay for it. It is one string holding
// every line plus the offset of each line (about 13 MB for a million
// entries), rather than a map or a []string, which would need several times
// that in headers and buckets.
type commonList struct {
	data   string   // the lines, each ending in '\n'
	starts []uint32 // starts[i] is the offset in data of line i
}

var loadCommon = sync.OnceValue(func() *commonList {
	zr, err := gzip.NewReader(bytes.NewReader(commonGz))
	if err != nil {
		panic("password: embedded list: " + err.Error()) // a build error; the tests load it
	}
	var b strings.Builder
	// gzip's trailer holds the uncompressed size: grow once, not by doubling.
	b.Grow(int(binary.LittleEndian.Uint32(commonGz[len(commonGz)-4:])))
	if _, err := io.Copy(&b, zr); err != nil {
		panic("password: embedded list: " + err.Error())
	}
	l := &commonList{data: b.String()}
	l.starts = make([]uint32, 0, strings.Count(l.data, "\n"))
	for off := 0; off < len(l.data); {
		l.starts = append(l.starts, uint32(off))
		off += strings.IndexByte(l.data[off:], '\n') + 1
	}
	return l
})

// line returns the entry starting at off, without its newline.
func (l *commonList) line(off uint32) string {
	s := l.data[off:]
	return s[:strings.IndexByte(s, '\n')]
}

// has reports whether key is an entry, by binary search.
func (l *commonList) has(key string) bool {
	_, found := slices.BinarySearchFunc(l.starts, key, func(off uint32, key string) int {
		return strings.Compare(l.line(off), key)
	})
	return found
}

// inList reports whether key, already in pwnorm.ListKey form, is on the list.
func inList(key string) bool {
	return loadCommon().has(key)
}

// Common reports whether pw is on the bundled list of common and breached
// passwords. The comparison ignores case (and Unicode compatibility forms,
// by NFKC): the list is stored lower-cased, so "Password1234", "PASSWORD1234"
// and "password1234" are all refused. Spaces are significant.
func Common(pw string) bool {
	return inList(pwnorm.ListKey(pw))
}

// ListSize is the number of entries on the bundled list.
func ListSize() int {
	return len(loadCommon().starts)
}
