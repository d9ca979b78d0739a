package care

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sealedrow"
)

// Tenant-level documents the record service keeps as sealed rows.
const (
	kindSettings = haven.Kind("settings")
	kindAlert    = haven.Kind("alert")
	settingsID   = "tenant"

	// Constant-value indexes: which alerts are unacknowledged, and which
	// are waiting for webhook delivery (the outbox).
	fieldAlertOpen    = "alert.open"
	fieldAlertPending = "alert.pending"
)

// Audit actions of the controls around records.
const (
	ActionList          = "list" // a person appeared in a list or search result
	ActionSettings      = "settings-change"
	ActionAlertAck      = "alert-ack"
	ActionBreakGlass    = "break-glass"
	ActionLeaseReview   = "lease-review"
	ActionSupportAsk    = "support-request"
	ActionSupportGrant  = "support-approve"
	ActionSupportRevoke = "support-revoke"
)

// Alert is a finding of the guard or policy, kept for the tenant's
// administrator and data-protection officer, and sent to the tenant's
// webhook. It names accounts and ids, never personal data.
type Alert struct {
	ID        string     `json:"id"`
	Time      time.Time  `json:"time"`
	Rule      guard.Rule `json:"rule"`
	Action    string     `json:"containment"` // what was done: guard.Level's text
	Actor     string     `json:"actor"`
	ActorRole haven.Role `json:"actorRole"`
	Addr      string     `json:"addr,omitempty"`
	PersonID  string     `json:"personId,omitempty"`
	Detail    string     `json:"detail"`

	Acknowledged   time.Time `json:"acknowledged,omitzero"`
	AcknowledgedBy string    `json:"acknowledgedBy,omitempty"`
	Note           string    `json:"note,omitempty"`

	Delivery Delivery `json:"delivery"`
}

// Delivery is an alert's progress through the webhook outbox.
type Delivery struct {
	Attempts  int       `json:"attempts"`
	Next      time.Time `json:"next,omitzero"`
	Delivered time.Time `json:"delivered,omitzero"`
	LastError string    `json:"lastError,omitempty"`
}

// Open reports whether nobody has acknowledged the alert yet.
func (a Alert) Open() bool { return a.Acknowledged.IsZero() }

// newTimeID returns an id that sorts by creation time, so ListKind returns
// alerts oldest first.
func newTimeID(t time.Time) string {
	b := make([]byte, 5)
	rand.Read(b)
	return fmt.Sprintf("%013x-%s", t.UnixMilli(), hex.EncodeToString(b))
}

func alertIndex(tk *seal.TenantKey, a *Alert) []store.IndexEntry {
	var out []store.IndexEntry
	if a.Open() {
		out = append(out, store.IndexEntry{Field: fieldAlertOpen, Digest: tk.BlindIndex(fieldAlertOpen, "open")})
	}
	if a.Delivery.Delivered.IsZero() && !a.Delivery.Next.IsZero() {
		out = append(out, store.IndexEntry{Field: fieldAlertPending, Digest: tk.BlindIndex(fieldAlertPending, "pending")})
	}
	return out
}

// markedRows returns the rows of kind that carry a constant-value marker
// index (open alerts, leases awaiting review).
func markedRows(tx store.Tx, tk *seal.TenantKey, kind haven.Kind, field, marker string) ([]store.Row, error) {
	hits, err := tx.Lookup(field, tk.BlindIndex(field, marker), maxRelated)
	if err != nil {
		return nil, err
	}
	rows := make([]store.Row, 0, len(hits))
	for _, h := range hits {
		r, err := tx.Get(kind, h.ID)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// saveAlert stores a (new when version is 0) with its indexes.
func saveAlert(tx store.Tx, tk *seal.TenantKey, a *Alert, version int64, now time.Time) error {
	if _, err := sealedrow.Put(tx, tk, kindAlert, a.ID, version, a, now); err != nil {
		return err
	}
	return tx.SetIndex(kindAlert, a.ID, "", alertIndex(tk, a))
}

// raise writes the findings of one unit of work as alerts. An alert waits in
// the outbox when the tenant has a webhook.
func (f *facts) raise(findings []guard.Finding) error {
	if len(findings) == 0 {
		return nil
	}
	tk, err := f.key()
	if err != nil {
		return err
	}
	st, err := f.guardSettings()
	if err != nil {
		return err
	}
	for _, fd := range findings {
		if fd.Repeat {
			continue
		}
		a := &Alert{ID: newTimeID(f.now), Time: f.now.UTC(), Rule: fd.Rule, Action: fd.Level.String(), Actor: f.p.ID,
			ActorRole: f.p.Role, Addr: f.p.ClientAddr, PersonID: fd.PersonID, Detail: fd.Detail}
		if st.WebhookURL != "" {
			a.Delivery.Next = f.now.UTC()
		}
		if err := saveAlert(f.tx, tk, a, 0, f.now); err != nil {
			return err
		}
	}
	return nil
}

// AlertQuery selects alerts.
type AlertQuery struct {
	OpenOnly bool
	Limit    int // 0 means 500
}

// Alerts lists the tenant's alerts, newest first.
func (s *Service) Alerts(ctx context.Context, p haven.Principal, q AlertQuery) ([]Alert, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 500
	}
	var out []Alert
	err := s.view(ctx, p, ActionAuditRead, func(tx store.Tx, f *facts) ([]touch, error) {
		if err := f.authorizeOrg(policy.ReviewAlerts, ""); err != nil {
			return nil, err
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		out, err = listAlerts(tx, tk, q)
		return []touch{{kind: kindAlert}}, err
	})
	return out, err
}

func listAlerts(tx store.Tx, tk *seal.TenantKey, q AlertQuery) ([]Alert, error) {
	var rows []store.Row
	if q.OpenOnly {
		var err error
		if rows, err = markedRows(tx, tk, kindAlert, fieldAlertOpen, "open"); err != nil {
			return nil, err
		}
	} else {
		for after := ""; ; {
			page, err := tx.ListKind(kindAlert, after, 1000)
			if err != nil {
				return nil, err
			}
			rows = append(rows, page...)
			if len(page) < 1000 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID > rows[j].ID })
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	out := make([]Alert, 0, len(rows))
	for _, r := range rows {
		var a Alert
		if err := sealedrow.Open(tx, tk, r, &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// AcknowledgeAlert marks an alert as seen and dealt with, with a note.
func (s *Service) AcknowledgeAlert(ctx context.Context, p haven.Principal, id, note string) error {
	return s.access(ctx, p, ActionAlertAck, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{kind: kindAlert, recordID: id}}
		if err := f.authorizeOrg(policy.ReviewAlerts, ""); err != nil {
			return t, err
		}
		if len(note) > haven.MaxLongField {
			return t, haven.Invalid("note", "is longer than %d characters", haven.MaxLongField)
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		var a Alert
		v, err := sealedrow.Get(tx, tk, kindAlert, id, &a)
		if err != nil {
			return t, err
		}
		if !a.Open() {
			return t, fmt.Errorf("alert %s was acknowledged by %s: %w", id, a.AcknowledgedBy, haven.ErrConflict)
		}
		a.Acknowledged, a.AcknowledgedBy, a.Note = f.now.UTC(), p.ID, note
		return t, saveAlert(tx, tk, &a, v, f.now)
	})
}

// Outbox delivery. The deliverer runs as Haven itself in each tenant.

// deliveryClaim is how long a process that took an alert from the outbox
// has to deliver it before another may try: longer than one attempt's
// timeout.
const deliveryClaim = 2 * time.Minute

// PendingAlerts returns a tenant's alerts due for webhook delivery at now,
// with the webhook settings to deliver them with.
func (s *Service) PendingAlerts(ctx context.Context, tenant string, now time.Time) ([]Alert, guard.Settings, error) {
	var out []Alert
	var st guard.Settings
	p := haven.SystemPrincipal(tenant, "alert delivery")
	err := s.st.Update(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
		tk, err := s.tenantKey(tx)
		if err != nil {
			return err
		}
		if st, err = s.loadSettings(tx, tk); err != nil {
			return err
		}
		hits, err := tx.Lookup(fieldAlertPending, tk.BlindIndex(fieldAlertPending, "pending"), 1000)
		if err != nil {
			return err
		}
		for _, h := range hits {
			var a Alert
			v, err := sealedrow.Get(tx, tk, kindAlert, h.ID, &a)
			if err != nil {
				return err
			}
			if a.Delivery.Next.After(now) {
				continue
			}
			out = append(out, a)
			// Claim it: another Haven process running the outbox skips
			// it until the claim lapses, so receivers get one copy.
			// RecordDelivery replaces the claim with the outcome.
			claimed := a
			claimed.Delivery.Next = now.Add(deliveryClaim)
			if err := saveAlert(tx, tk, &claimed, v, now); err != nil {
				return err
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, st, err
}

// RecordDelivery stores the result of one delivery attempt: delivered, or
// failed with the time of the next attempt (zero: give up).
func (s *Service) RecordDelivery(ctx context.Context, tenant, id string, d Delivery) error {
	p := haven.SystemPrincipal(tenant, "alert delivery")
	return s.st.Update(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
		tk, err := s.tenantKey(tx)
		if err != nil {
			return err
		}
		var a Alert
		v, err := sealedrow.Get(tx, tk, kindAlert, id, &a)
		if err != nil {
			return err
		}
		a.Delivery = d
		return saveAlert(tx, tk, &a, v, s.Now())
	})
}

// Settings.

// loadSettings reads the tenant's settings. Every access the guard judges
// needs them, so the last settings opened for each tenant are kept with the
// ciphertext they came from: the row is still read every time, so a change
// made by any process is seen at once, but it is opened and decoded again
// only when its ciphertext changed (every write seals afresh, with a new
// nonce).
func (s *Service) loadSettings(tx store.Tx, tk *seal.TenantKey) (guard.Settings, error) {
	r, err := tx.Get(kindSettings, settingsID)
	if errors.Is(err, haven.ErrNotFound) {
		return guard.Defaults(), nil
	} else if err != nil {
		return guard.Settings{}, err
	}
	if c, ok := s.settings.Load(tx.Tenant()); ok {
		if c := c.(openedSettings); bytes.Equal(c.sealed, r.Sealed) {
			return c.settings, nil
		}
	}
	var st guard.Settings
	if err := sealedrow.Open(tx, tk, r, &st); err != nil {
		return guard.Settings{}, err
	}
	st = st.WithDefaults()
	s.settings.Store(tx.Tenant(), openedSettings{sealed: r.Sealed, settings: st})
	return st, nil
}

// openedSettings is a tenant's settings as last opened, with the sealed row
// they were opened from.
type openedSettings struct {
	sealed   []byte
	settings guard.Settings
}

// Settings returns the tenant's thresholds and alert channel.
func (s *Service) Settings(ctx context.Context, p haven.Principal) (guard.Settings, error) {
	var st guard.Settings
	err := s.view(ctx, p, ActionAuditRead, func(tx store.Tx, f *facts) ([]touch, error) {
		if err := f.authorizeOrg(policy.ManageSettings, ""); err != nil {
			return nil, err
		}
		var err error
		st, err = f.guardSettings()
		return []touch{{kind: kindSettings}}, err
	})
	return st, err
}

// SetSettings replaces the tenant's thresholds and alert channel.
func (s *Service) SetSettings(ctx context.Context, p haven.Principal, st guard.Settings) error {
	st = st.WithDefaults()
	return s.access(ctx, p, ActionSettings, func(tx store.Tx, f *facts) ([]touch, error) {
		t := []touch{{kind: kindSettings, recordID: settingsID}}
		if err := f.authorizeOrg(policy.ManageSettings, ""); err != nil {
			return t, err
		}
		if err := st.Validate(); err != nil {
			return t, err
		}
		tk, err := f.key()
		if err != nil {
			return nil, err
		}
		var old guard.Settings
		v, err := sealedrow.Get(tx, tk, kindSettings, settingsID, &old)
		if err != nil && !errors.Is(err, haven.ErrNotFound) {
			return nil, err
		}
		_, err = sealedrow.Put(tx, tk, kindSettings, settingsID, v, &st, f.now)
		return t, err
	})
}
