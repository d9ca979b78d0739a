// Package notify delivers alerts from the record service's outbox to each
// tenant's webhook.
//
// An alert waits in the outbox (care.PendingAlerts) from the moment it is
// raised when its tenant has a webhook. The deliverer POSTs it as JSON,
// signed with the tenant's secret, and records the result: delivered, or
// failed with the time of the next attempt. Attempts back off from 30 s to
// an hour, and stop 24 h after the alert was raised; the alert itself stays
// in the tenant's list either way.
//
// Delivery is at least once: if recording a delivery fails after the
// webhook accepted it, the alert is sent again. Receivers recognise a repeat
// by its X-Haven-Alert header (the alert's id).
//
// Receivers check the X-Haven-Signature header, "sha256=" followed by the
// hex HMAC-SHA256 of the raw body under the tenant's webhook secret.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// Delivery bounds.
const (
	// Timeout bounds one attempt, connection to last byte.
	Timeout = 10 * time.Second
	// FirstBackoff is the wait after the first failed attempt; it doubles
	// with each further failure up to MaxBackoff.
	FirstBackoff = 30 * time.Second
	MaxBackoff   = time.Hour
	// GiveUpAfter is how long after an alert was raised its delivery
	// stops being retried.
	GiveUpAfter = 24 * time.Hour

	// maxBodyInError is how much of a failed response's body the
	// delivery record keeps, to help whoever runs the receiver.
	maxBodyInError = 200
)

// Header names a delivery carries.
const (
	HeaderSignature = "X-Haven-Signature"
	HeaderAlert     = "X-Haven-Alert"
)

// Deliverer sends pending alerts to tenants' webhooks.
type Deliverer struct {
	Care *care.Service
	// Client sends the requests; nil means a plain http.Client. Whatever
	// it is, redirects are not followed and each attempt is bounded by
	// Timeout.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives failures; nil discards them.
	Log *slog.Logger
}

// payload is the body of a delivery. It names accounts, rules and record
// ids, never personal data.
type payload struct {
	Tenant string `json:"tenant"`
	Alert  alert  `json:"alert"`
}

// alert is a care.Alert as sent. The outer fields shadow the embedded ones
// of the same JSON name, and being nil are left out: the outbox's own
// progress is nobody else's business, and an administrator's free-text
// acknowledgement note is not known to be free of personal data.
type alert struct {
	care.Alert
	Delivery *struct{} `json:"delivery,omitempty"`
	Note     *struct{} `json:"note,omitempty"`
}

// Sign returns the X-Haven-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Backoff is the wait before the next attempt after the given number of
// failed attempts (1 for the first failure).
func Backoff(failures int) time.Duration {
	if failures < 1 {
		failures = 1
	}
	d := FirstBackoff
	for range failures - 1 {
		d *= 2
		if d >= MaxBackoff {
			return MaxBackoff
		}
	}
	return d
}

// RunOnce delivers every tenant's due alerts once. It goes on past a
// tenant it cannot read and returns those errors joined; failed counts
// attempts the webhooks did not accept.
func (d *Deliverer) RunOnce(ctx context.Context) (delivered, failed int, err error) {
	tenants, err := d.Care.Store().Tenants(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("alert delivery: list tenants: %w", err)
	}
	var errs []error
	for _, t := range tenants {
		if t.ID == haven.SupplierPartition {
			continue
		}
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		n, f, err := d.tenant(ctx, t.ID)
		delivered, failed = delivered+n, failed+f
		if err != nil {
			errs = append(errs, fmt.Errorf("alert delivery for %s: %w", t.ID, err))
		}
	}
	return delivered, failed, errors.Join(errs...)
}

// tenant delivers one tenant's due alerts, oldest first. After the first
// failure it leaves the rest for the next round, so that a receiver that is
// down costs one timeout per round, not one per alert.
func (d *Deliverer) tenant(ctx context.Context, tenant string) (delivered, failed int, err error) {
	now := d.now()
	alerts, st, err := d.Care.PendingAlerts(ctx, tenant, now)
	if err != nil || len(alerts) == 0 {
		return 0, 0, err
	}
	for _, a := range alerts {
		sendErr := d.send(ctx, tenant, st.WebhookURL, st.WebhookSecret, a)
		if sendErr != nil && ctx.Err() != nil {
			// Shutting down: this was not the receiver's failure.
			return delivered, failed, ctx.Err()
		}
		now := d.now()
		rec := care.Delivery{Attempts: a.Delivery.Attempts + 1}
		if sendErr == nil {
			rec.Delivered = now
			delivered++
		} else {
			failed++
			rec.LastError = sendErr.Error()
			if now.Sub(a.Time) >= GiveUpAfter {
				rec.LastError = fmt.Sprintf("gave up after %d attempts over %s; last: %s", rec.Attempts, GiveUpAfter, rec.LastError)
			} else {
				rec.Next = now.Add(Backoff(rec.Attempts))
			}
			d.log().Warn("alert delivery failed", "tenant", tenant, "alert", a.ID, "attempts", rec.Attempts, "err", rec.LastError, "next", rec.Next)
		}
		if err := d.Care.RecordDelivery(ctx, tenant, a.ID, rec); err != nil {
			return delivered, failed, fmt.Errorf("record delivery of %s: %w", a.ID, err)
		}
		if sendErr != nil {
			break
		}
	}
	return delivered, failed, nil
}

// send makes one attempt. Its error is short and safe to keep with the
// alert: it never includes the webhook URL (which may carry a token).
func (d *Deliverer) send(ctx context.Context, tenant, webhook, secret string, a care.Alert) error {
	if webhook == "" {
		return errors.New("no webhook is set")
	}
	if len(secret) < 16 {
		return errors.New("the webhook has no signing secret")
	}
	u, err := url.Parse(webhook)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("the webhook is not an http(s) URL")
	}
	body, err := json.Marshal(payload{Tenant: tenant, Alert: alert{Alert: a}})
	if err != nil {
		return fmt.Errorf("encode alert: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return errors.New("the webhook is not a valid request URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Haven-Alerts/1")
	req.Header.Set(HeaderSignature, Sign(secret, body))
	req.Header.Set(HeaderAlert, a.ID)

	resp, err := d.client().Do(req)
	if err != nil {
		var ue *url.Error
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.As(err, &ue) && ue.Timeout():
			return errors.New("timed out waiting for the webhook's answer")
		case ue != nil:
			// Without the URL, which url.Error would repeat.
			return errors.New(clip(ue.Err.Error(), 200))
		}
		return errors.New(clip(err.Error(), 200))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyInError))
	// Drain a little more so the connection can be reused; never all of it.
	io.CopyN(io.Discard, resp.Body, 64<<10)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := "HTTP " + resp.Status
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += " (redirects are not followed)"
	}
	if s := clip(string(snippet), maxBodyInError); s != "" {
		msg += ": " + s
	}
	return errors.New(msg)
}

// clip makes s one printable line of at most n bytes.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

func (d *Deliverer) client() *http.Client {
	c := &http.Client{}
	if d.Client != nil {
		c2 := *d.Client
		c = &c2
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Timeout <= 0 || c.Timeout > Timeout {
		c.Timeout = Timeout
	}
	return c
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deliverer) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Run delivers every interval until ctx is done, starting at once.
func (d *Deliverer) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.log().Error("alert delivery", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
