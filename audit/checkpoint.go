package audit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Errors from [OpenCheckpoint], wrapped with the details.
var (
	// ErrCheckpointSignature means the checkpoint carries no valid signature
	// by the verifier's key: it was forged, or its text was edited.
	ErrCheckpointSignature = errors.New("checkpoint not signed by the audit key")
	// ErrCheckpointOrigin means the checkpoint is validly signed but for
	// another log.
	ErrCheckpointOrigin = errors.New("checkpoint is for another log")
	// ErrMalformedCheckpoint means the message is not a well-formed signed
	// note, or its text is not a well-formed checkpoint.
	ErrMalformedCheckpoint = errors.New("malformed checkpoint")
)

// SignCheckpoint returns a checkpoint for the tree of size entries with root
// hash root, signed by s: the C2SP signed note (https://c2sp.org/signed-note)
// whose text is the C2SP tlog-checkpoint body ("Note text")
//
//	<origin>\n<size in decimal>\n<root in base64>\n
//
// with no extension lines. The origin must be non-empty UTF-8 without control
// characters, since it is one line of a note.
func SignCheckpoint(s note.Signer, origin string, size int64, root tlog.Hash) ([]byte, error) {
	if !validOrigin(origin) {
		return nil, fmt.Errorf("audit: sign checkpoint: %w: invalid origin %q", ErrMalformedCheckpoint, origin)
	}
	if size < 0 {
		return nil, fmt.Errorf("audit: sign checkpoint: %w: negative size %d", ErrMalformedCheckpoint, size)
	}
	text := origin + "\n" + strconv.FormatInt(size, 10) + "\n" + root.String() + "\n"
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint verifies that msg is a checkpoint signed by v for the log
// named origin and returns the tree size and root hash it states. Signatures
// by other keys are ignored (C2SP signed-note, "Signatures"); extension lines
// are accepted and ignored (C2SP tlog-checkpoint, "Note text").
//
// The error wraps [ErrCheckpointSignature], [ErrCheckpointOrigin] or
// [ErrMalformedCheckpoint].
func OpenCheckpoint(msg []byte, v note.Verifier, origin string) (size int64, root tlog.Hash, err error) {
	if v == nil {
		return 0, tlog.Hash{}, errors.New("audit: open checkpoint: nil verifier")
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return 0, tlog.Hash{}, fmt.Errorf("audit: open checkpoint: %w: %w", ErrCheckpointSignature, err)
		}
		return 0, tlog.Hash{}, fmt.Errorf("audit: open checkpoint: %w: %w", ErrMalformedCheckpoint, err)
	}
	got, size, root, err := parseCheckpoint(n.Text)
	if err != nil {
		return 0, tlog.Hash{}, fmt.Errorf("audit: open checkpoint: %w: %v", ErrMalformedCheckpoint, err)
	}
	if got != origin {
		return 0, tlog.Hash{}, fmt.Errorf("audit: open checkpoint: %w: origin %q, want %q", ErrCheckpointOrigin, got, origin)
	}
	return size, root, nil
}

// parseCheckpoint parses the text of a checkpoint note (C2SP tlog-checkpoint,
// "Note text"): at least three non-empty lines, each ending in a newline;
// origin, tree size in decimal without leading zeros, and the root hash in
// standard padded base64. It insists on the canonical form of each line, so
// each (origin, size, root) has exactly one text.
func parseCheckpoint(text string) (origin string, size int64, root tlog.Hash, err error) {
	body, ok := strings.CutSuffix(text, "\n")
	if !ok {
		return "", 0, tlog.Hash{}, errors.New("text does not end in a newline")
	}
	lines := strings.Split(body, "\n")
	if len(lines) < 3 {
		return "", 0, tlog.Hash{}, errors.New("fewer than three lines")
	}
	for i, line := range lines {
		if line == "" {
			return "", 0, tlog.Hash{}, fmt.Errorf("line %d is empty", i+1)
		}
	}
	origin = lines[0]
	size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return "", 0, tlog.Hash{}, fmt.Errorf("invalid tree size %q", lines[1])
	}
	root, err = tlog.ParseHash(lines[2])
	if err != nil || root.String() != lines[2] {
		return "", 0, tlog.Hash{}, fmt.Errorf("invalid root hash %q", lines[2])
	}
	return origin, size, root, nil
}

// validOrigin reports whether origin can be the first line of a checkpoint:
// non-empty (C2SP tlog-checkpoint) and valid UTF-8 without control
// characters (C2SP signed-note, "Note text").
func validOrigin(origin string) bool {
	if origin == "" || !utf8.ValidString(origin) {
		return false
	}
	for _, r := range origin {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Checkpoint computes the root hash of the tree of the first size entries,
// reading stored hashes from r (RFC 6962 §2.1, via [tlog.TreeHash]), and
// returns the checkpoint for it signed by s, with the root.
func Checkpoint(s note.Signer, origin string, size int64, r tlog.HashReader) ([]byte, tlog.Hash, error) {
	if size < 0 {
		return nil, tlog.Hash{}, fmt.Errorf("audit: checkpoint: negative size %d", size)
	}
	root, err := tlog.TreeHash(size, r)
	if err != nil {
		return nil, tlog.Hash{}, fmt.Errorf("audit: checkpoint: tree hash of size %d: %w", size, err)
	}
	msg, err := SignCheckpoint(s, origin, size, root)
	if err != nil {
		return nil, tlog.Hash{}, err // names the operation already
	}
	return msg, root, nil
}
