package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sealedrow"
)

// ActionContain is the audit action of a containment.
const ActionContain = "containment"

// Contain carries out what the guard decided about an account (it
// implements guard.Container): freeze the session until its user confirms
// a factor, end it, or lock the account and end all its sessions. An API
// client's access tokens are revoked at every level; its key can still get a
// new token, but the guard's budgets keep refusing it.
func (s *Service) Contain(ctx context.Context, c guard.Contain) error {
	return s.in(ctx, c.Tenant, func(tx store.Tx, tk *seal.TenantKey) error {
		if c.Role == haven.RoleAPIClient {
			if err := s.revokeClientTokens(tx, tk, c.Actor); err != nil {
				return err
			}
			return s.recordContain(tx, c)
		}
		switch c.Level {
		case guard.Freeze:
			if c.Session == "" {
				break
			}
			ss, err := s.loadSession(tx, tk, c.Session)
			if errors.Is(err, errDropped) || errors.Is(err, ErrSession) {
				break // already gone
			} else if err != nil {
				return err
			}
			ss.Frozen = true
			if err := s.saveSession(tx, tk, ss); err != nil {
				return err
			}
		case guard.EndSession:
			if c.Session == "" {
				break
			}
			if err := tx.Delete(kindSession, c.Session); err != nil && !errors.Is(err, haven.ErrNotFound) {
				return err
			}
		case guard.Lock:
			a, err := loadAccount(tx, tk, c.Actor)
			if errors.Is(err, haven.ErrNotFound) {
				break // no account to lock (the console, a removed account)
			} else if err != nil {
				return fmt.Errorf("lock %s: %w", c.Actor, err)
			}
			if !a.IsLocked() {
				a.Locked = s.Now().UTC()
				if err := s.saveAccount(tx, tk, &a); err != nil {
					return err
				}
			}
			if _, err := s.revokeAccountSessions(tx, tk, c.Actor, ""); err != nil {
				return err
			}
		}
		return s.recordContain(tx, c)
	})
}

func (s *Service) recordContain(tx store.Tx, c guard.Contain) error {
	return s.record(tx, event{actor: "guard", role: string(haven.RoleSystem), action: ActionContain, recordID: c.Actor,
		outcome: "ok", purpose: c.Level.String()})
}

// revokeClientTokens deletes every access token of one client.
func (s *Service) revokeClientTokens(tx store.Tx, tk *seal.TenantKey, clientID string) error {
	for after := ""; ; {
		rows, err := tx.ListKind(kindToken, after, 500)
		if err != nil {
			return err
		}
		for _, r := range rows {
			var t accessToken
			if err := sealedrow.Open(tx, tk, r, &t); err != nil {
				return err
			}
			if t.Client == clientID {
				if err := tx.Delete(kindToken, r.ID); err != nil {
					return err
				}
			}
			after = r.ID
		}
		if len(rows) < 500 {
			return nil
		}
	}
}
