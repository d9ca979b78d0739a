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
	mu sync.Mutex
	m  map[string]ceremony
}

type ceremony struct {
	data    webauthn.SessionData
	purpose string // "register", "sign-in", "step-up"
	owner   string // session row id for register and step-up; "" for sign-in
	name    string // passkey name for register
	expires time.Time
}

func newCeremonies() *ceremonies { return &ceremonies{m: map[string]ceremony{}} }

func (c *ceremonies) put(now time.Time, id string, cer ceremony) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.m {
		if now.After(v.expires) {
			delete(c.m, k)
		}
	}
	cer.expires = now.Add(ceremonyLifetime)
	c.m[id] = cer
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
