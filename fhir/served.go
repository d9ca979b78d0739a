package fhir

// The Patient read, served without decoding what was kept. A person who
// came through FHIR keeps the Patient as it was sent (haven.Person.FHIR),
// and while they still hold what it maps to, a read serves it as sent with
// the record's id and meta. render does that by decoding the kept bytes
// into an object and encoding it again, and by decoding and mapping them
// once more to see that they still hold: together about a quarter of the
// CPU of a protected read. keptPatientJSON writes the same bytes from the
// kept ones directly, and held remembers the second answer.

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"strconv"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// renderJSON is render, encoded as writeResource encodes it (with its
// trailing newline), and the resource's type.
func renderJSON(f care.Found) ([]byte, string, error) {
	if p, ok := f.Record.(*haven.Person); ok && len(p.FHIR) > 0 && held(p) {
		if b, ok := keptPatientJSON(p.FHIR, f.Record.RecordID(), f.Meta); ok {
			return b, "Patient", nil
		}
	}
	res, err := render(f)
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(res); err != nil {
		return nil, "", err
	}
	typ, _ := res["resourceType"].(string)
	return buf.Bytes(), typ, nil
}

// keptPatientJSON is the kept Patient with id and meta added where
// encoding/json puts them when it encodes the decoded object (its names in
// order), followed by a newline: byte for byte what render and
// writeResource make of it, since Haven kept it as encoding/json wrote it
// (stored). ok is false for anything else — names out of order or
// escaped, an id or meta already there, another resourceType, trailing
// data — and the caller then takes the long way.
func keptPatientJSON(kept []byte, id string, m care.Meta) (out []byte, ok bool) {
	idJSON, err := json.Marshal(id)
	if err != nil {
		return nil, false
	}
	metaJSON, err := json.Marshal(struct {
		LastUpdated string `json:"lastUpdated"`
		VersionID   string `json:"versionId"`
	}{m.Updated, strconv.FormatInt(m.Version, 10)})
	if err != nil {
		return nil, false
	}
	added := [...]struct {
		name  string
		value []byte
	}{{"id", idJSON}, {"meta", metaJSON}}

	dec := jsontext.NewDecoder(bytes.NewReader(kept))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, false
	}
	out = make([]byte, 0, len(kept)+len(idJSON)+len(metaJSON)+32)
	out = append(out, '{')
	next, prev, members := 0, "", 0
	member := func(name string, value []byte) {
		if members > 0 {
			out = append(out, ',')
		}
		members++
		out = append(out, '"')
		out = append(out, name...)
		out = append(out, '"', ':')
		out = append(out, value...)
	}
	patient := false
	for dec.PeekKind() == '"' {
		// What the decoder returns is only good until its next read; a
		// name without escapes is written back as it reads.
		rawName, err := dec.ReadValue()
		if err != nil || bytes.IndexByte(rawName, '\\') >= 0 {
			return nil, false
		}
		name := string(rawName[1 : len(rawName)-1])
		if members > 0 && name <= prev || name == "id" || name == "meta" {
			return nil, false
		}
		value, err := dec.ReadValue()
		if err != nil {
			return nil, false
		}
		if name == "resourceType" {
			if string(value) != `"Patient"` {
				return nil, false
			}
			patient = true
		}
		for ; next < len(added) && added[next].name < name; next++ {
			member(added[next].name, added[next].value)
		}
		member(name, value)
		prev = name
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' || !patient {
		return nil, false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, false
	}
	for ; next < len(added); next++ {
		member(added[next].name, added[next].value)
	}
	return append(out, '}', '\n'), true
}

// held is sentStillHeld(rec), remembered by a keyed digest of the whole
// record: the answer depends on nothing else, so a record changed in any
// way is a new question. The digest covers the person as encoding/json
// writes them without the kept Patient, then the kept Patient's bytes as
// they are (encoding them would check and compact them again, the larger
// part of the cost); bytes that differ only in spacing are merely a
// different question. It is keyed with a secret of this process, so that
// what is remembered (a digest and one bit per record) says nothing of the
// record without the key.
func held(rec *haven.Person) bool {
	rest := *rec
	rest.FHIR = nil
	b, err := json.Marshal(rest)
	if err != nil {
		return sentStillHeld(rec)
	}
	key := heldAnswers.digest(b, rec.FHIR)
	if v, ok := heldAnswers.get(key); ok {
		return v
	}
	v := sentStillHeld(rec)
	heldAnswers.put(key, v)
	return v
}

var heldAnswers = newAnswers(1 << 16)

// answers remembers yes or no by digest, up to a bound; when full it starts
// again rather than track which answers are in use.
type answers struct {
	secret []byte
	limit  int
	mu     sync.Mutex
	m      map[[sha256.Size]byte]bool
}

func newAnswers(limit int) *answers {
	secret := make([]byte, 32)
	rand.Read(secret) // never fails (crypto/rand)
	return &answers{secret: secret, limit: limit, m: map[[sha256.Size]byte]bool{}}
}

// digest is the keyed digest of parts, each preceded by its length so
// that no two lists of parts run together the same.
func (a *answers) digest(parts ...[]byte) (d [sha256.Size]byte) {
	h := hmac.New(sha256.New, a.secret)
	for _, p := range parts {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(p))))
		h.Write(p)
	}
	h.Sum(d[:0])
	return d
}

func (a *answers) get(k [sha256.Size]byte) (v, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok = a.m[k]
	return v, ok
}

func (a *answers) put(k [sha256.Size]byte, v bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.m) >= a.limit {
		clear(a.m)
	}
	a.m[k] = v
}
