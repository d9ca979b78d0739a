package audit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestGenerateKey(t *testing.T) {
	skey, vkey, err := GenerateKey("example.org/key")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(skey, "PRIVATE+KEY+example.org/key+") || !strings.HasPrefix(vkey, "example.org/key+") {
		t.Errorf("GenerateKey = %q, %q", skey[:20], vkey)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := SignCheckpoint(s, "o", 1, tlog.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenCheckpoint(msg, v, "o"); err != nil {
		t.Errorf("generated key pair does not verify: %v", err)
	}
	skey2, _, err := GenerateKey("example.org/key")
	if err != nil || skey2 == skey {
		t.Errorf("second GenerateKey = same key or %v", err)
	}

	for _, name := range []string{"", "has space", "has+plus", "\xff"} {
		if _, _, err := GenerateKey(name); err == nil {
			t.Errorf("GenerateKey(%q) succeeded", name)
		}
	}
}

func TestCreateKeyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := CreateKeyFiles(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{SigningKeyFile: 0o600, VerifierKeyFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", name, got, want)
		}
	}

	s, err := LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadVerifier(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != KeyName || v.Name() != KeyName || s.KeyHash() != v.KeyHash() {
		t.Errorf("keys %s+%08x and %s+%08x do not pair", s.Name(), s.KeyHash(), v.Name(), v.KeyHash())
	}
	msg, err := SignCheckpoint(s, Origin("acme"), 3, ctRoot(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenCheckpoint(msg, v, Origin("acme")); err != nil {
		t.Errorf("loaded keys do not verify: %v", err)
	}

	// Never replaced.
	before, _ := os.ReadFile(filepath.Join(dir, SigningKeyFile))
	if err := CreateKeyFiles(dir); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateKeyFiles = %v, want fs.ErrExist", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, SigningKeyFile)); string(after) != string(before) {
		t.Error("second CreateKeyFiles replaced the signing key")
	}
}

func TestCreateKeyFilesVerifierExists(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, VerifierKeyFile), []byte(testVerifierKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CreateKeyFiles(dir); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateKeyFiles = %v, want fs.ErrExist", err)
	}
	if _, err := os.Stat(filepath.Join(dir, SigningKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CreateKeyFiles left a signing key behind: %v", err)
	}
}

func TestLoadKeys(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadSigner(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadSigner of missing file = %v", err)
	}
	if _, err := LoadVerifier(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadVerifier of missing file = %v", err)
	}

	// Swapped files: each fails to parse, and the error does not quote the key.
	os.WriteFile(filepath.Join(dir, SigningKeyFile), []byte(testVerifierKey), 0o600)
	os.WriteFile(filepath.Join(dir, VerifierKeyFile), []byte(testSignerKey), 0o644)
	if _, err := LoadSigner(dir); err == nil {
		t.Error("LoadSigner accepted a verifier key")
	}
	if _, err := LoadVerifier(dir); err == nil || strings.Contains(err.Error(), "AQcH") {
		t.Errorf("LoadVerifier of a signer key = %v", err)
	}
}

func TestParseVerifier(t *testing.T) {
	v, err := ParseVerifier("  " + testVerifierKey + "\r\n")
	if err != nil || v.Name() != KeyName {
		t.Errorf("ParseVerifier with white space = %v, %v", v, err)
	}
	for _, bad := range []string{"", "garbage", testSignerKey, strings.Replace(testVerifierKey, "e163836c", "e163836d", 1)} {
		if _, err := ParseVerifier(bad); err == nil {
			t.Errorf("ParseVerifier(%q) succeeded", bad)
		}
	}
}
