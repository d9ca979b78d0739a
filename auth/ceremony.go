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
	mu   sync.Mutex
	m    map[string]ceremony
	puts int
}

type ceremony struct {
	data    webauthn.SessionData
	purpose string // "register", "sign-in", "step-up"
	owner   string // session row id for register and step-up; "" for sign-in
	name    string // passkey name for register
	expires time.Time
}

func newCeremonies() *ceremonies { return &ceremonies{m: map[string]ceremony{}} }

// maxCeremonies bounds the memory an unauthenticated caller can make
// Haven hold by starting passkey sign-ins and never finishing them.
const maxCeremonies = 20000

// put stores a ceremony; false means too many are open (refuse and retry).
func (c *ceremonies) put(now time.Time, id string, cer ceremony) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.puts++; c.puts%256 == 0 || len(c.m) >= maxCeremonies {
		for k, v := range c.m {
			if now.After(v.expires) {
				delete(c.m, k)
			}
		}
	}
	if len(c.m) >= maxCeremonies {
		return false
	}
	cer.expires = now.Add(ceremonyLifetime)
	c.m[id] = cer
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
	delete(c.m, id)
	if now.After(cer.expires) || cer.purpose != purpose || cer.owner != owner {
		return ceremony{}, false
	}
	return cer, true
}
