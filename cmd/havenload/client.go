package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// fhirClient sends FHIR requests to one base URL on loopback.
type fhirClient struct {
	base   string // without a trailing slash
	http   *http.Client
	tokens *tokenSource // nil: no authentication
}

// errNotLoopback is returned for any address off this machine.
var errNotLoopback = errors.New("havenload sends load to loopback addresses only (127.0.0.0/8, ::1, localhost)")

// checkLoopbackURL accepts http(s) URLs whose host is a loopback IP
// address or "localhost".
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q: %w", raw, errNotLoopback)
}

// loopbackControl refuses, at connect time, any address that is not
// loopback, so that neither a name that resolves elsewhere nor a redirect
// can take the load off the machine.
func loopbackControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("connect to %s: %w", address, errNotLoopback)
	}
	return nil
}

func newFHIRClient(base string, concurrency int, timeout time.Duration) (*fhirClient, error) {
	if err := checkLoopbackURL(base); err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: loopbackControl}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConns:        concurrency + 4,
		MaxIdleConnsPerHost: concurrency + 4,
		MaxConnsPerHost:     concurrency + 4,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &fhirClient{
		base: strings.TrimRight(base, "/"),
		http: &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer to report, not to follow
		}},
	}, nil
}

// discoverTokenURL reads the token endpoint from the SMART configuration.
func (c *fhirClient) discoverTokenURL(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/.well-known/smart-configuration", nil)
	if err != nil {
		return "", err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var conf struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&conf) != nil || conf.TokenEndpoint == "" {
		return "", fmt.Errorf("no token endpoint at %s/.well-known/smart-configuration (%s); give -token-url", c.base, res.Status)
	}
	return conf.TokenEndpoint, nil
}

// reply is what a request came back with.
type reply struct {
	status int
	body   []byte // kept only when asked for, or for errors
	err    error  // transport error
}

// do sends one request. keep says whether to keep a successful body; an
// unsuccessful one is always kept (up to 4 KiB) for the error sample.
// A 401 drops the token so the next request gets a fresh one.
func (c *fhirClient) do(ctx context.Context, method, path string, body []byte, keep bool) reply {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	var tok string
	if c.tokens != nil {
		if tok, err = c.tokens.token(ctx); err != nil {
			return reply{err: err}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode}
	ok := res.StatusCode >= 200 && res.StatusCode < 300
	switch {
	case ok && keep:
		r.body, r.err = io.ReadAll(res.Body)
	case ok:
		_, r.err = io.Copy(io.Discard, res.Body)
	default:
		r.body, _ = io.ReadAll(io.LimitReader(res.Body, 4<<10))
		io.Copy(io.Discard, res.Body)
	}
	if res.StatusCode == http.StatusUnauthorized && c.tokens != nil {
		c.tokens.invalidate(tok)
	}
	return r
}
