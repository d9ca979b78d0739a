package seal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// KMS wraps and unwraps key material under a master key that never leaves
// it. LocalKMS keeps the master key in a file; a cloud KMS can replace it in
// production without anything above this interface changing.
//
// Unwrap must accept anything wrapped under any master key version the KMS
// still holds, so that master rotation never strands a tenant. When a
// ciphertext does not authenticate, Unwrap should return an error wrapping
// ErrOpen, so callers can tell tampering from an unavailable KMS.
type KMS interface {
	Wrap(plaintext, associatedData []byte) ([]byte, error)
	Unwrap(ciphertext, associatedData []byte) ([]byte, error)
}

// ErrInsecureKeyFile is returned, wrapped, by OpenKeyFile when the master key
// file can be read or written by anyone but its owner. Whoever can read the
// file can read every record, so it is refused rather than warned about.
var ErrInsecureKeyFile = errors.New("key file is accessible to group or other")

// keyFileFormat names the key file layout, so a future layout is recognised
// rather than misread.
const keyFileFormat = "haven-seal-master-key-v1"

// maxKeyFileSize bounds what OpenKeyFile reads. A key file with hundreds of
// rotated keys is a few tens of kilobytes.
const maxKeyFileSize = 1 << 20

// keyFile is the on-disk form of a LocalKMS, a small JSON document:
//
//	{
//	  "format": "haven-seal-master-key-v1",
//	  "created": {"<key id>": "<RFC 3339 time>", ...},
//	  "keyset": <tink cleartext JSON keyset>
//	}
//
// "created" records when each key was added, because tink keysets carry no
// timestamps and operators need to know how old the primary is to decide
// when to rotate. The keyset is cleartext: the file is the root of trust,
// which is why it must be mode 0600.
type keyFile struct {
	Format  string               `json:"format"`
	Created map[uint32]time.Time `json:"created"`
	Keyset  json.RawMessage      `json:"keyset"`
}

// LocalKMS is a KMS whose master key is a tink AES-256-GCM keyset held in a
// local file. It is safe for concurrent use; Rotate may run while other
// goroutines wrap and unwrap.
//
// Only one process should rotate a given file at a time. Rotate refuses to
// proceed if the file changed since it was opened, which catches most
// mistakes, but it does not lock the file.
type LocalKMS struct {
	path     string
	rotateMu sync.Mutex // serialises Rotate
	state    atomic.Pointer[localState]
}

// localState is immutable once published, so Wrap and Unwrap read it without
// locking.
type localState struct {
	handle  *keyset.Handle
	aead    tink.AEAD
	created map[uint32]time.Time
	raw     []byte // the file's bytes as last read or written
}

// KeyStatus describes a LocalKMS's keyset without revealing any key.
type KeyStatus struct {
	// Keys is the number of master keys in the file. All of them can unwrap;
	// only the primary wraps.
	Keys int
	// PrimaryID is tink's id for the primary key. It changes on Rotate.
	PrimaryID uint32
	// PrimaryCreated is when the primary key was made, or the zero time if
	// the file does not record it.
	PrimaryCreated time.Time
}

// CreateKeyFile makes a new master key file at path holding one fresh
// AES-256-GCM key. It refuses to overwrite an existing file, because
// replacing a master key makes everything wrapped under it unrecoverable.
//
// The file is written with mode 0600 to a temporary name and then linked into
// place, so path either does not exist or holds a complete key file, even if
// the process dies midway. A missing parent directory is created with mode
// 0700.
func CreateKeyFile(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("seal: create key file %s: %w", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("seal: create key file: %w", err)
	}
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return fmt.Errorf("seal: create key file: generate master key: %w", err)
	}
	created := map[uint32]time.Time{h.KeysetInfo().GetPrimaryKeyId(): time.Now().UTC()}
	raw, err := encodeKeyFile(h, created)
	if err != nil {
		return fmt.Errorf("seal: create key file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("seal: create key file: %w", err)
	}
	if err := writeFileAtomic(path, raw, false); err != nil {
		return fmt.Errorf("seal: create key file: %w", err)
	}
	return nil
}

// OpenKeyFile loads the master key file at path. It refuses a file that
// group or other can read or write (ErrInsecureKeyFile), a file that is not
// in the expected format, and a keyset that is not AES-256-GCM.
func OpenKeyFile(path string) (*LocalKMS, error) {
	raw, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("seal: open key file: %w", err)
	}
	st, err := decodeKeyFile(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: open key file %s: %w", path, err)
	}
	m := &LocalKMS{path: path}
	m.state.Store(st)
	return m, nil
}

// readKeyFile reads path, checking permissions on the open file rather than
// the name so that the file checked is the file read.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %#o, want 0600 (chmod 600 %s): %w", path, perm, path, ErrInsecureKeyFile)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxKeyFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxKeyFileSize)
	}
	return raw, nil
}

func encodeKeyFile(h *keyset.Handle, created map[uint32]time.Time) ([]byte, error) {
	var ks bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&ks)); err != nil {
		return nil, fmt.Errorf("encode keyset: %w", err)
	}
	raw, err := json.MarshalIndent(keyFile{Format: keyFileFormat, Created: created, Keyset: ks.Bytes()}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode key file: %w", err)
	}
	return append(raw, '\n'), nil
}

func decodeKeyFile(raw []byte) (*localState, error) {
	var kf keyFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		return nil, fmt.Errorf("not a Haven key file: %w", err)
	}
	if kf.Format != keyFileFormat {
		return nil, fmt.Errorf("unknown key file format %q, want %q", kf.Format, keyFileFormat)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(kf.Keyset)))
	if err != nil {
		return nil, fmt.Errorf("read keyset: %w", err)
	}
	return newLocalState(h, kf.Created, raw)
}

func newLocalState(h *keyset.Handle, created map[uint32]time.Time, raw []byte) (*localState, error) {
	for i := range h.Len() {
		e, err := h.Entry(i)
		if err != nil {
			return nil, fmt.Errorf("read keyset: %w", err)
		}
		p, ok := e.Key().Parameters().(*aesgcm.Parameters)
		if !ok || p.KeySizeInBytes() != 32 {
			return nil, fmt.Errorf("key %d is not AES-256-GCM", e.KeyID())
		}
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("load master key: %w", err)
	}
	if created == nil {
		created = map[uint32]time.Time{}
	}
	return &localState{handle: h, aead: a, created: created, raw: raw}, nil
}

// Wrap encrypts plaintext under the primary master key, bound to
// associatedData.
func (m *LocalKMS) Wrap(plaintext, associatedData []byte) ([]byte, error) {
	ct, err := m.state.Load().aead.Encrypt(plaintext, associatedData)
	if err != nil {
		return nil, fmt.Errorf("seal: local KMS wrap: %w", err)
	}
	return ct, nil
}

// Unwrap decrypts ciphertext wrapped under any master key in the file. It
// fails with ErrOpen if the ciphertext or associatedData is not what was
// wrapped.
//
// If the ciphertext does not open and the key file has changed on disk
// (another process, such as "haven keys rotate", added a key), the file is
// read again and the unwrap retried once: rotation needs no restart.
func (m *LocalKMS) Unwrap(ciphertext, associatedData []byte) ([]byte, error) {
	pt, err := m.state.Load().aead.Decrypt(ciphertext, associatedData)
	if err != nil && m.reload() {
		pt, err = m.state.Load().aead.Decrypt(ciphertext, associatedData)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: local KMS unwrap: %w", ErrOpen)
	}
	return pt, nil
}

// reload reads the key file again and reports whether it held a different
// keyset, which is then used. A file that no longer holds every key in use
// is ignored: keys are only ever added.
func (m *LocalKMS) reload() bool {
	m.rotateMu.Lock()
	defer m.rotateMu.Unlock()
	old := m.state.Load()
	raw, err := readKeyFile(m.path)
	if err != nil || bytes.Equal(raw, old.raw) {
		return false
	}
	st, err := decodeKeyFile(raw)
	if err != nil {
		return false
	}
	for id := range old.created {
		if _, ok := st.created[id]; !ok {
			return false
		}
	}
	m.state.Store(st)
	return true
}

// Rotate adds a fresh AES-256-GCM master key and makes it primary, so new
// wraps use it. Old keys stay in the file so everything wrapped before still
// unwraps; re-wrap tenants with Keyring.RewrapTenant to move them onto the
// new key.
//
// The file is rewritten atomically (mode 0600) before the new key is used in
// memory: a key that wraps data must already be on disk. Rotate refuses to
// run if the file changed since it was opened or last rotated, since
// overwriting a key another process added would strand what it wrapped.
func (m *LocalKMS) Rotate() error {
	m.rotateMu.Lock()
	defer m.rotateMu.Unlock()
	old := m.state.Load()

	current, err := readKeyFile(m.path)
	if err != nil {
		return fmt.Errorf("seal: rotate master key: %w", err)
	}
	if !bytes.Equal(current, old.raw) {
		return fmt.Errorf("seal: rotate master key: %s changed since it was opened; open it again and retry", m.path)
	}

	mgr := keyset.NewManagerFromHandle(old.handle)
	id, err := mgr.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return fmt.Errorf("seal: rotate master key: %w", err)
	}
	if err := mgr.SetPrimary(id); err != nil {
		return fmt.Errorf("seal: rotate master key: %w", err)
	}
	h, err := mgr.Handle()
	if err != nil {
		return fmt.Errorf("seal: rotate master key: %w", err)
	}
	created := make(map[uint32]time.Time, len(old.created)+1)
	for k, v := range old.created {
		created[k] = v
	}
	created[id] = time.Now().UTC()

	raw, err := encodeKeyFile(h, created)
	if err != nil {
		return fmt.Errorf("seal: rotate master key: %w", err)
	}
	st, err := newLocalState(h, created, raw)
	if err != nil {
		return fmt.Errorf("seal: rotate master key: %w", err)
	}
	if err := writeFileAtomic(m.path, raw, true); err != nil {
		return fmt.Errorf("seal: rotate master key: %w", err)
	}
	m.state.Store(st)
	return nil
}

// Status reports the number of master keys, the primary's id and when it
// was made.
func (m *LocalKMS) Status() KeyStatus {
	st := m.state.Load()
	primary := st.handle.KeysetInfo().GetPrimaryKeyId()
	return KeyStatus{
		Keys:           st.handle.Len(),
		PrimaryID:      primary,
		PrimaryCreated: st.created[primary],
	}
}

// writeFileAtomic writes data to path with mode 0600 so that path never holds
// a partial file. With replace it renames over any existing file; without,
// it hard-links into place, which fails if path exists, so two concurrent
// creators cannot both succeed.
func writeFileAtomic(path string, data []byte, replace bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		// After a rename tmp no longer exists; after a link it is a second
		// name for path. Either way removing it is right.
		if rerr := os.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
			err = rerr
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	cerr := f.Close()
	f = nil
	if cerr != nil {
		return cerr
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
