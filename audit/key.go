package audit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// KeyName is the name of the key that signs Haven's audit checkpoints, as it
// appears in signature lines (C2SP signed-note, "Signatures").
const KeyName = "haven.audit"

// Key file names within the key directory.
const (
	SigningKeyFile  = "audit-signing.key"  // private; mode 0600
	VerifierKeyFile = "audit-verifier.key" // public; mode 0644
)

// GenerateKey returns a new Ed25519 note key pair named name, encoded as
// C2SP signed-note signer ("PRIVATE+KEY+<name>+<hash>+<key>") and verifier
// ("<name>+<hash>+<key>") key strings. It reads randomness from crypto/rand.
func GenerateKey(name string) (signerKey, verifierKey string, err error) {
	if !validKeyName(name) {
		return "", "", fmt.Errorf("audit: generate key: invalid key name %q", name)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("audit: generate key %q: %w", name, err)
	}
	return skey, vkey, nil
}

// validKeyName reports whether name can name a note key: non-empty UTF-8
// with neither Unicode spaces nor plus (C2SP signed-note, "Signatures").
// note.GenerateKey does not check, and would make keys nothing can load.
func validKeyName(name string) bool {
	return name != "" && utf8.ValidString(name) &&
		strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}

// CreateKeyFiles generates a key pair named [KeyName] and writes it to dir
// as [SigningKeyFile] (mode 0600) and [VerifierKeyFile] (mode 0644), each
// holding the key string and a newline. It creates dir (mode 0700) if
// needed. It fails, writing nothing, if either file already exists: an
// audit key is never replaced silently.
func CreateKeyFiles(dir string) error {
	skey, vkey, err := note.GenerateKey(rand.Reader, KeyName)
	if err != nil {
		return fmt.Errorf("audit: create key files: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("audit: create key files: %w", err)
	}
	spath := filepath.Join(dir, SigningKeyFile)
	vpath := filepath.Join(dir, VerifierKeyFile)
	for _, p := range []string{spath, vpath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("audit: create key files: %s: %w", p, fs.ErrExist)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("audit: create key files: %w", err)
		}
	}
	if err := writeNewFile(spath, skey+"\n", 0o600); err != nil {
		return fmt.Errorf("audit: create key files: %w", err)
	}
	if err := writeNewFile(vpath, vkey+"\n", 0o644); err != nil {
		os.Remove(spath)
		return fmt.Errorf("audit: create key files: %w", err)
	}
	return nil
}

// writeNewFile creates path, which must not exist, with exactly mode perm
// (whatever the umask) and writes data to it durably. On failure it removes
// what it created.
func writeNewFile(path, data string, perm fs.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		return err
	}
	return f.Sync()
}

// LoadSigner reads the signing key from [SigningKeyFile] in dir.
func LoadSigner(dir string) (note.Signer, error) {
	data, err := os.ReadFile(filepath.Join(dir, SigningKeyFile))
	if err != nil {
		return nil, fmt.Errorf("audit: load signing key: %w", err)
	}
	s, err := note.NewSigner(strings.TrimSpace(string(data)))
	if err != nil {
		// The error from note never quotes the key; keep it that way.
		return nil, fmt.Errorf("audit: load signing key %s: %w", filepath.Join(dir, SigningKeyFile), err)
	}
	return s, nil
}

// LoadVerifier reads the verifier key from [VerifierKeyFile] in dir.
func LoadVerifier(dir string) (note.Verifier, error) {
	data, err := os.ReadFile(filepath.Join(dir, VerifierKeyFile))
	if err != nil {
		return nil, fmt.Errorf("audit: load verifier key: %w", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("audit: load verifier key %s: %w", filepath.Join(dir, VerifierKeyFile), err)
	}
	return v, nil
}

// ParseVerifier parses a C2SP signed-note verifier key, "<name>+<hash>+<key>",
// ignoring surrounding white space.
func ParseVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("audit: parse verifier key: %w", err)
	}
	return v, nil
}
