package seal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

func TestCreateKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	path := filepath.Join(dir, "master.json")
	before := time.Now().Add(-time.Second)
	if err := CreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %#o, want 0600", perm)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("created directory mode %#o, want 0700", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file (temporary file left behind?)", len(entries))
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kf struct {
		Format  string
		Created map[string]time.Time
		Keyset  struct{ PrimaryKeyID uint32 }
	}
	if err := json.Unmarshal(raw, &kf); err != nil {
		t.Fatalf("key file is not JSON: %v", err)
	}
	if kf.Format != keyFileFormat || len(kf.Created) != 1 {
		t.Fatalf("key file: %+v", kf)
	}

	m, err := OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st := m.Status()
	if st.Keys != 1 || st.PrimaryID == 0 || st.PrimaryID != kf.Keyset.PrimaryKeyID {
		t.Errorf("status %+v, file primary %d", st, kf.Keyset.PrimaryKeyID)
	}
	if st.PrimaryCreated.Before(before) || st.PrimaryCreated.After(time.Now()) {
		t.Errorf("primary created %v, want about now", st.PrimaryCreated)
	}
}

func TestCreateKeyFileRefusesToOverwrite(t *testing.T) {
	_, path := newKMS(t)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := CreateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateKeyFile over an existing file: got %v, want fs.ErrExist", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("CreateKeyFile changed an existing key file")
	}
	// Nor over a dangling symlink: it would create the target.
	link := filepath.Join(t.TempDir(), "link.json")
	if err := os.Symlink(filepath.Join(t.TempDir(), "target.json"), link); err != nil {
		t.Skip(err)
	}
	if err := CreateKeyFile(link); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateKeyFile over a symlink: got %v, want fs.ErrExist", err)
	}
}

func TestOpenKeyFileRefusesLoosePermissions(t *testing.T) {
	_, path := newKMS(t)
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660, 0o606, 0o610, 0o601} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := OpenKeyFile(path)
		if !errors.Is(err, ErrInsecureKeyFile) {
			t.Errorf("mode %#o: got %v, want ErrInsecureKeyFile", mode, err)
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("mode %#o: error %q does not name the file", mode, err)
		}
	}
	for _, mode := range []fs.FileMode{0o600, 0o400} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenKeyFile(path); err != nil {
			t.Errorf("mode %#o: %v", mode, err)
		}
	}
}

func TestOpenKeyFileRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var chacha bytes.Buffer
	h, err := keyset.NewHandle(aead.ChaCha20Poly1305KeyTemplate())
	if err != nil {
		t.Fatal(err)
	}
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&chacha)); err != nil {
		t.Fatal(err)
	}
	notAES, _ := json.Marshal(keyFile{Format: keyFileFormat, Keyset: chacha.Bytes()})
	wrongFormat, _ := json.Marshal(keyFile{Format: "something-else", Keyset: chacha.Bytes()})

	for name, path := range map[string]string{
		"missing":      filepath.Join(dir, "missing.json"),
		"directory":    dir,
		"empty":        write("empty.json", nil),
		"not json":     write("garbage.json", []byte("not json")),
		"bare keyset":  write("bare.json", chacha.Bytes()),
		"wrong format": write("format.json", wrongFormat),
		"not AES-GCM":  write("chacha.json", notAES),
	} {
		if _, err := OpenKeyFile(path); err == nil {
			t.Errorf("%s: OpenKeyFile succeeded", name)
		}
	}
}

func TestLocalKMSWrapUnwrap(t *testing.T) {
	m, _ := newKMS(t)
	ct, err := m.Wrap([]byte("key material"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := m.Unwrap(ct, []byte("ad")); err != nil || string(pt) != "key material" {
		t.Fatalf("Unwrap: %q, %v", pt, err)
	}
	if _, err := m.Unwrap(ct, []byte("other")); !errors.Is(err, ErrOpen) {
		t.Fatalf("Unwrap with other associated data: got %v, want ErrOpen", err)
	}
	other, _ := newKMS(t)
	if _, err := other.Unwrap(ct, []byte("ad")); !errors.Is(err, ErrOpen) {
		t.Fatalf("Unwrap under another master key: got %v, want ErrOpen", err)
	}
}

func TestRotateKeepsFileSafe(t *testing.T) {
	m, path := newKMS(t)
	ct, err := m.Wrap([]byte("k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Rotate(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("rotated key file mode %#o, want 0600", perm)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Rotate, want 1", len(entries))
	}
	reopened, err := OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reopened.Unwrap(ct, nil); err != nil {
		t.Fatalf("pre-rotation wrap after reopening: %v", err)
	}

	// Another process rotates the same file; this one must not overwrite it.
	if err := reopened.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := m.Rotate(); err == nil {
		t.Fatal("Rotate overwrote a key file changed by someone else")
	}
	if st := m.Status(); st.Keys != 2 {
		t.Fatalf("failed Rotate changed the keys in memory: %+v", st)
	}
	final, err := OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := final.Status(); st != reopened.Status() {
		t.Fatalf("file status %+v, want %+v", st, reopened.Status())
	}
}

// TestUnwrapAfterRotationByAnotherProcess: a server holding the key file
// open keeps working when "haven keys rotate" adds a key from another
// process and re-wraps tenant keys under it.
func TestUnwrapAfterRotationByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := CreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	server, err := OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Rotate(); err != nil {
		t.Fatal(err)
	}
	wrapped, err := cli.Wrap([]byte("tenant keyset"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := server.Unwrap(wrapped, []byte("ad"))
	if err != nil || string(got) != "tenant keyset" {
		t.Fatalf("server could not unwrap after rotation elsewhere: %v", err)
	}
	if server.Status().Keys != 2 {
		t.Fatalf("server sees %d keys, want 2", server.Status().Keys)
	}
	// Garbage still fails, and does not change the keys in use.
	if _, err := server.Unwrap([]byte("garbage"), []byte("ad")); !errors.Is(err, ErrOpen) {
		t.Fatalf("garbage unwrapped: %v", err)
	}
}
