package care

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sealedrow"
)

const (
	kindGrant = haven.Kind("support-grant")
	// fieldGrantAccount finds a supplier account's grants in a tenant.
	fieldGrantAccount = "grant.account"
)

// Grant states.
const (
	GrantRequested = "requested"
	GrantApproved  = "approved"
	GrantRevoked   = "revoked"
	GrantDeclined  = "declined"
)

// SupportGrant is supplier support's access to one tenant for one ticket:
// requested by the supplier, approved (with a scope and an expiry of at most
// policy.MaxSupportGrant) or declined by the tenant's administrator, and
// revocable by them at any moment. It is kept in the tenant's partition, so
// the tenant sees it and everything done under it.
type SupportGrant struct {
	ID        string          `json:"id"`
	Account   string          `json:"account"` // the supplier-support account
	Ticket    string          `json:"ticket"`
	Reason    string          `json:"reason"`
	Requested time.Time       `json:"requested"`
	Status    string          `json:"status"`
	Actions   []policy.Action `json:"actions,omitempty"`
	Expires   time.Time       `json:"expires,omitzero"`
	DecidedBy string          `json:"decidedBy,omitempty"`
	Decided   time.Time       `json:"decided,omitzero"`
}

// Live reports whether the grant gives access at now.
func (g SupportGrant) Live(now time.Time) bool {
	return g.Status == GrantApproved && now.Before(g.Expires)
}

// GrantableActions are what an administrator can approve for supplier
// support; policy refuses anything else even if a grant named it.
var GrantableActions = []policy.Action{policy.ListPeople, policy.ReadRecord, policy.WriteRecord, policy.ReadAudit, policy.ManageSettings}

// liveGrant returns the account's live grant in the transaction's tenant.
func liveGrant(tx store.Tx, tk *seal.TenantKey, account string, now time.Time) (*SupportGrant, int64, error) {
	hits, err := tx.Lookup(fieldGrantAccount, tk.BlindIndex(fieldGrantAccount, account), 1000)
	if err != nil {
		return nil, 0, err
	}
	var best *SupportGrant
	var version int64
	for _, h := range hits {
		var g SupportGrant
		v, err := sealedrow.Get(tx, tk, kindGrant, h.ID, &g)
		if err != nil {
			return nil, 0, err
		}
		if g.Account == account && g.Live(now) && (best == nil || g.Expires.After(best.Expires)) {
			best, version = &g, v
		}
	}
	return best, version, nil
}

// RequestSupport asks a tenant for access on a support ticket. p is a
// supplier-support principal with SupportTenant set to the tenant asked.
func (s *Service) RequestSupport(ctx context.Context, p haven.Principal, ticket, reason string) (SupportGrant, error) {
	ticket, reason = strings.TrimSpace(ticket), strings.TrimSpace(reason)
	var g SupportGrant
	err := s.access(ctx, p, ActionSupportAsk, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{kind: kindGrant}}
		if haven.ReservedTenantID(tx.Tenant()) {
			return t, haven.Invalid("tenant", "support is requested from a care organisation")
		}
		if err := f.authorizeOrg(policy.RequestSupport, ""); err != nil {
			return t, err
		}
		if ticket == "" || len(ticket) > haven.MaxShortField {
			return t, haven.Invalid("ticket", "name the support ticket (1 to %d characters)", haven.MaxShortField)
		}
		if len(reason) < policy.MinReasonLength || len(reason) > haven.MaxLongField {
			return t, haven.Invalid("reason", "say what needs doing (%d to %d characters)", policy.MinReasonLength, haven.MaxLongField)
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		g = SupportGrant{ID: newTimeID(f.now), Account: p.ID, Ticket: ticket, Reason: reason, Requested: f.now.UTC(), Status: GrantRequested}
		if err := saveGrant(tx, tk, &g, 0, f.now); err != nil {
			return nil, err
		}
		t[0].recordID = g.ID
		f.alerts = append(f.alerts, guard.Finding{Rule: guard.RuleSupportRequest, Level: guard.AlertOnly,
			Detail: fmt.Sprintf("supplier support asks for access on ticket %s (request %s); approve or decline it", ticket, g.ID)})
		return t, nil
	})
	return g, err
}

func saveGrant(tx store.Tx, tk *seal.TenantKey, g *SupportGrant, version int64, now time.Time) error {
	if _, err := sealedrow.Put(tx, tk, kindGrant, g.ID, version, g, now); err != nil {
		return err
	}
	return tx.SetIndex(kindGrant, g.ID, "", []store.IndexEntry{{Field: fieldGrantAccount, Digest: tk.BlindIndex(fieldGrantAccount, g.Account)}})
}

// SupportGrants lists the tenant's support requests and grants, newest
// first. Supplier support sees only its own.
func (s *Service) SupportGrants(ctx context.Context, p haven.Principal) ([]SupportGrant, error) {
	var out []SupportGrant
	err := s.view(ctx, p, ActionAuditRead, func(tx store.Tx, f *facts) ([]touch, error) {
		action := policy.ReviewAlerts
		if p.Role == haven.RoleSupplierSupport {
			action = policy.RequestSupport
		}
		if err := f.authorizeOrg(action, ""); err != nil {
			return nil, err
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		rows, err := tx.ListKind(kindGrant, "", maxRelated)
		if err != nil {
			return nil, err
		}
		for i := len(rows) - 1; i >= 0; i-- {
			var g SupportGrant
			if err := sealedrow.Open(tx, tk, rows[i], &g); err != nil {
				return nil, err
			}
			if p.Role != haven.RoleSupplierSupport || g.Account == p.ID {
				out = append(out, g)
			}
		}
		return []touch{{kind: kindGrant}}, nil
	})
	return out, err
}

// DecideSupport approves (with actions and a duration of at most
// policy.MaxSupportGrant) or declines a request. Only the tenant's
// administrator, stepped up, may.
func (s *Service) DecideSupport(ctx context.Context, p haven.Principal, id string, approve bool, actions []policy.Action, d time.Duration) (SupportGrant, error) {
	var g SupportGrant
	err := s.access(ctx, p, ActionSupportGrant, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{kind: kindGrant, recordID: id}}
		if err := f.authorizeOrg(policy.ApproveSupport, ""); err != nil {
			return t, err
		}
		if approve {
			if d <= 0 || d > policy.MaxSupportGrant {
				return t, haven.Invalid("duration", "approve for more than 0 and at most %s", policy.MaxSupportGrant)
			}
			if len(actions) == 0 {
				return t, haven.Invalid("actions", "approve at least one of %v", GrantableActions)
			}
			for _, a := range actions {
				if !slices.Contains(GrantableActions, a) {
					return t, haven.Invalid("actions", "%q cannot be granted to supplier support", a)
				}
			}
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		v, err := sealedrow.Get(tx, tk, kindGrant, id, &g)
		if err != nil {
			return t, err
		}
		if g.Status != GrantRequested {
			return t, fmt.Errorf("request %s is already %s: %w", id, g.Status, haven.ErrConflict)
		}
		g.Status, g.DecidedBy, g.Decided = GrantDeclined, p.ID, f.now.UTC()
		if approve {
			g.Status, g.Actions, g.Expires = GrantApproved, slices.Clone(actions), f.now.Add(d).UTC()
		}
		return t, saveGrant(tx, tk, &g, v, f.now)
	})
	return g, err
}

// RevokeSupport ends a grant at once. Whoever reviews alerts for the
// tenant (its administrator or data-protection officer) may, without
// step-up: taking access away must never wait.
func (s *Service) RevokeSupport(ctx context.Context, p haven.Principal, id string) error {
	return s.access(ctx, p, ActionSupportRevoke, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{kind: kindGrant, recordID: id}}
		if err := f.authorizeOrg(policy.ReviewAlerts, ""); err != nil {
			return t, err
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		var g SupportGrant
		v, err := sealedrow.Get(tx, tk, kindGrant, id, &g)
		if err != nil {
			return t, err
		}
		if g.Status == GrantRevoked || g.Status == GrantDeclined {
			return t, nil
		}
		g.Status, g.DecidedBy, g.Decided = GrantRevoked, p.ID, f.now.UTC()
		return t, saveGrant(tx, tk, &g, v, f.now)
	})
}
