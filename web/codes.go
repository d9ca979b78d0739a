package web

import (
	"sync"
	"time"
)

// pendingCodes holds freshly made recovery codes between the request that
// made them and the page that shows them, for at most a few minutes. They
// are never stored anywhere else in the clear.
type pendingCodes struct {
	mu sync.Mutex
	m  map[string]pendingEntry
}

type pendingEntry struct {
	codes   []string
	expires time.Time
}

func (p *pendingCodes) put(now time.Time, sessionID string, codes []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]pendingEntry{}
	}
	for k, e := range p.m {
		if now.After(e.expires) {
			delete(p.m, k)
		}
	}
	p.m[sessionID] = pendingEntry{codes: codes, expires: now.Add(5 * time.Minute)}
}

func (p *pendingCodes) take(now time.Time, sessionID string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[sessionID]
	delete(p.m, sessionID)
	if !ok || now.After(e.expires) {
		return nil
	}
	return e.codes
}
