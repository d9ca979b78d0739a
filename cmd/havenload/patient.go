package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
)

// nhsSystem is the FHIR identifier system of NHS numbers.
const nhsSystem = "https://fhir.nhs.uk/Id/nhs-number"

// Pool is the patients a seed created, for read and search runs.
type Pool struct {
	Target   string        `json:"target"`
	Patients []PoolPatient `json:"patients"`
	// NHSNext is where the next NHS number comes from, so that a create
	// run after the seed does not reuse the seed's numbers.
	NHSNext uint32 `json:"nhsNext"`
}

// PoolPatient is one created patient.
type PoolPatient struct {
	ID  string `json:"id"`
	NHS string `json:"nhs,omitempty"`
}

// nhsCheckDigit returns the modulus 11 check digit of nine digits, or -1
// if there is none (no valid number starts with them).
func nhsCheckDigit(nine string) int {
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(nine[i]-'0') * (10 - i)
	}
	switch c := 11 - sum%11; c {
	case 11:
		return 0
	case 10:
		return -1
	default:
		return c
	}
}

// nhsNumbers hands out distinct valid NHS numbers in the range set aside
// for testing (999 000 0000 to 999 999 9999), in sequence from a start.
type nhsNumbers struct{ next atomic.Uint32 }

func newNHSNumbers(start uint32) *nhsNumbers {
	n := &nhsNumbers{}
	if start == 0 {
		var b [4]byte
		rand.Read(b[:])
		start = binary.BigEndian.Uint32(b[:]) % 900000
	}
	n.next.Store(start)
	return n
}

// take returns the next valid number.
func (n *nhsNumbers) take() string {
	for {
		v := n.next.Add(1) % 1000000
		nine := fmt.Sprintf("999%06d", v)
		if c := nhsCheckDigit(nine); c >= 0 {
			return nine + strconv.Itoa(c)
		}
	}
}

var (
	families = []string{"Quarrington", "Fennimore", "Ashdown", "Belthorpe", "Cardew", "Dunstable", "Eversley", "Fairweather", "Gosforth", "Hathersage", "Ilkley", "Jessop"}
	givens   = []string{"Zebedee", "Ottoline", "Ada", "Bartholomew", "Clementine", "Dorian", "Eliza", "Fergus", "Gwendolen", "Horace", "Imogen", "Jasper"}
	genders  = []string{"male", "female", "other", "unknown"}
)

// patientBody is a valid UK Core Patient: the NHS number as identifier, an
// official name with family and given names, gender, birth date and a home
// address, which is what Haven requires and the peer accepts.
func patientBody(nhs string, i int) []byte {
	type ident struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	type name struct {
		Use    string   `json:"use"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
	}
	type address struct {
		Use        string   `json:"use"`
		Line       []string `json:"line"`
		City       string   `json:"city"`
		PostalCode string   `json:"postalCode"`
	}
	b, _ := json.Marshal(struct {
		ResourceType string    `json:"resourceType"`
		Identifier   []ident   `json:"identifier"`
		Name         []name    `json:"name"`
		Gender       string    `json:"gender"`
		BirthDate    string    `json:"birthDate"`
		Address      []address `json:"address"`
	}{
		ResourceType: "Patient",
		Identifier:   []ident{{nhsSystem, nhs}},
		Name:         []name{{"official", families[i%len(families)], []string{givens[(i/len(families))%len(givens)]}}},
		Gender:       genders[i%len(genders)],
		BirthDate:    fmt.Sprintf("%04d-%02d-%02d", 1925+i%75, 1+i%12, 1+i%28),
		Address:      []address{{"home", []string{strconv.Itoa(1+i%200) + " Wistful Vista"}, "Otley", "LS21 9ZZ"}},
	})
	return b
}

// scenario makes the requests of one kind of load.
type scenario struct {
	name string
	// next returns request i's method, path and body, and whether to keep
	// and check the response body.
	next func(i int) (method, path string, body []byte, check func([]byte) bool)
}

func newScenario(name string, pool Pool) (scenario, error) {
	switch name {
	case "read":
		if len(pool.Patients) == 0 {
			return scenario{}, errors.New("read: no patient ids (give -pool from havenload seed, or -ids)")
		}
		paths := make([]string, len(pool.Patients))
		for i, p := range pool.Patients {
			paths[i] = "/Patient/" + url.PathEscape(p.ID)
		}
		return scenario{name: name, next: func(i int) (string, string, []byte, func([]byte) bool) {
			return "GET", paths[i%len(paths)], nil, nil
		}}, nil
	case "search":
		var paths, want []string
		for _, p := range pool.Patients {
			if p.NHS != "" {
				paths = append(paths, "/Patient?identifier="+url.QueryEscape(nhsSystem+"|"+p.NHS))
				want = append(want, `"`+p.NHS+`"`)
			}
		}
		if len(paths) == 0 {
			return scenario{}, errors.New("search: the pool has no NHS numbers (give -pool from havenload seed)")
		}
		return scenario{name: name, next: func(i int) (string, string, []byte, func([]byte) bool) {
			k := i % len(paths)
			// A search that answers 200 but finds nobody is an error too.
			return "GET", paths[k], nil, func(b []byte) bool { return bytes.Contains(b, []byte(want[k])) }
		}}, nil
	case "create":
		nhs := newNHSNumbers(pool.NHSNext) // after the seed's numbers; random without a pool
		return scenario{name: name, next: func(i int) (string, string, []byte, func([]byte) bool) {
			return "POST", "/Patient", patientBody(nhs.take(), i), nil
		}}, nil
	}
	return scenario{}, fmt.Errorf("unknown scenario %q: use read, search or create", name)
}

// seed creates n patients with concurrency c and returns their ids and NHS
// numbers. It stops at the first failure.
func seed(ctx context.Context, fc *fhirClient, n, c int) (Pool, error) {
	nhs := newNHSNumbers(0)
	out := make([]PoolPatient, n)
	var next atomic.Int64
	var (
		mu       sync.Mutex
		firstErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range min(c, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				number := nhs.take()
				r := fc.do(ctx, "POST", "/Patient", patientBody(number, i), true)
				var created struct {
					ID string `json:"id"`
				}
				err := r.err
				if err == nil && (r.status != 201 && r.status != 200) {
					err = fmt.Errorf("create patient: status %d: %.500s", r.status, r.body)
				}
				if err == nil {
					if json.Unmarshal(r.body, &created) != nil || created.ID == "" {
						err = fmt.Errorf("create patient: no id in the answer: %.200s", r.body)
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				out[i] = PoolPatient{ID: created.ID, NHS: number}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return Pool{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return Pool{}, err
	}
	return Pool{Patients: out, NHSNext: nhs.next.Load()}, nil
}
