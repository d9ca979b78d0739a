package auth

import (
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// ceremonyLifetime bounds how long a passkey prompt may stay open.
const ceremonyLifetime = 5 * time.Minute

// ceremonies holds the server half of WebAuthn ceremonies in progress: the
// challenge each browser must sign. A challenge is taken (removed) when it
// is checked, so each can be answered once. They live in memory: a
// ceremony interrupted by a restart is simply begun again.
type ceremonies struct {
	mu      sync.Mutex
	m       map[string]ceremony
	perAddr map[string]int // open ceremonies per client address
	addrCap int            // 0: no per-address cap
	puts    int
}

type ceremony struct {
	data    webauthn.SessionData
	purpose string // "register", "sign-in", "step-up"
	owner   string // session row id for register and step-up; "" for sign-in
	name    string // passkey name for register
	addr    string // client address that began it
	expires time.Time
}

// newCeremonies makes a table; addrCap > 0 limits how many ceremonies one
// client address may have open at once.
func newCeremonies(addrCap int) *ceremonies {
	return &ceremonies{m: map[string]ceremony{}, perAddr: map[string]int{}, addrCap: addrCap}
}

func (c *ceremonies) drop(id string, cer ceremony) {
	delete(c.m, id)
	if c.perAddr[cer.addr]--; c.perAddr[cer.addr] <= 0 {
		delete(c.perAddr, cer.addr)
	}
}

// maxCeremonies bounds the memory an unauthenticated caller can make
// Haven hold by starting passkey sign-ins and never finishing them.
const maxCeremonies = 20000

// put stores a ceremony; false means too many are open (refuse and retry).
func (c *ceremonies) put(now time.Time, id string, cer ceremony) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.puts++; c.puts%256 == 0 || len(c.m) >= maxCeremonies || c.addrCap > 0 && c.perAddr[cer.addr] >= c.addrCap {
		for k, v := range c.m {
			if now.After(v.expires) {
				c.drop(k, v)
			}
		}
	}
	if len(c.m) >= maxCeremonies || c.addrCap > 0 && c.perAddr[cer.addr] >= c.addrCap {
		return false
	}
	if old, ok := c.m[id]; ok {
		c.drop(id, old)
	}
	cer.expires = now.Add(ceremonyLifetime)
	c.m[id] = cer
	c.perAddr[cer.addr]++
	return true
}

// take removes and returns the ceremony id for purpose and owner.
func (c *ceremonies) take(now time.Time, id, purpose, owner string) (ceremony, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cer, ok := c.m[id]
	if !ok {
		return ceremony{}, false
	}
	c.drop(id, cer)
	if now.After(cer.expires) || cer.purpose != purpose || cer.owner != owner {
		return ceremony{}, false
	}
	return cer, true
}
