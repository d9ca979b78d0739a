package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/notify"
	"github.com/havencare/haven/web"
)

// serveOptions are the flags of serve and demo.
type serveOptions struct {
	options
	addr       string
	checkpoint time.Duration
	tlsCert    string
	tlsKey     string
}

func (o *serveOptions) register(fs *flag.FlagSet) {
	o.options.register(fs)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.DurationVar(&o.checkpoint, "checkpoint-interval", 30*time.Second, "how often to sign audit-log checkpoints")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM); required unless listening on loopback")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
}

// prepare checks the listening options and fills in the default origin.
// Plain HTTP is only for loopback: anywhere else a session cookie would
// cross the network in the clear.
func (o *serveOptions) prepare() error {
	host, port, err := net.SplitHostPort(o.addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", o.addr, err)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || ip != nil && ip.IsLoopback()
	if o.tlsCert == "" && !loopback {
		return fmt.Errorf("refusing to serve plain HTTP on %s: use --tls-cert and --tls-key, or listen on 127.0.0.1 behind a TLS proxy", o.addr)
	}
	if o.origin == "" {
		scheme := "http"
		if o.tlsCert != "" {
			scheme = "https"
		}
		o.origin = scheme + "://localhost:" + port
	}
	return nil
}

func (o *serveOptions) insecure() bool { return o.tlsCert == "" }

func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var o serveOptions
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := o.prepare(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := open(ctx, o.options, true)
	if err != nil {
		return err
	}
	defer a.close()
	return a.serve(ctx, o, nil)
}

// handler is Haven's HTTP surface.
func (a *app) handler(o serveOptions) http.Handler {
	return web.New(web.Config{Origin: a.opt.origin, Insecure: o.insecure(), OrgName: a.orgName}, a.auth, a.svc, a.log)
}

// orgName names a tenant for page headers.
func (a *app) orgName(ctx context.Context, id string) string {
	ts, err := a.db.Tenants(ctx)
	if err != nil {
		return ""
	}
	for _, t := range ts {
		if t.ID == id {
			return t.Name
		}
	}
	return ""
}

// serve listens until ctx ends (SIGINT or SIGTERM), signing audit
// checkpoints periodically and once more on the way down. ready, if not
// nil, receives the bound address.
func (a *app) serve(ctx context.Context, o serveOptions, ready func(addr string)) error {
	if err := a.logToFile(); err != nil {
		return err
	}
	tuneGC(os.Getenv)
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	if err := checkListen(ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: a.handler(o), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			errc <- srv.ServeTLS(ln, o.tlsCert, o.tlsKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	a.log.Info("haven serving", "addr", ln.Addr().String(), "store", a.db.Dialect().Name)
	if ready != nil {
		ready(ln.Addr().String())
	}

	// Alerts go to tenants' webhooks while the server runs; on the way
	// down the deliverer stops before the store closes.
	deliverCtx, stopDelivery := context.WithCancel(ctx)
	delivering := make(chan struct{})
	go func() {
		defer close(delivering)
		(&notify.Deliverer{Care: a.svc, Log: a.log}).Run(deliverCtx, 10*time.Second)
	}()
	defer func() { stopDelivery(); <-delivering }()

	tick := time.NewTicker(max(o.checkpoint, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if n, err := a.svc.Checkpoint(ctx, a.signer); err != nil {
				a.log.Error("audit checkpoint failed", "err", err)
			} else if n > 0 {
				a.log.Info("audit checkpoint signed", "logs", n)
			}
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
			a.log.Info("shutting down")
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("shutdown", "err", err)
			}
			// The final checkpoint anchors every entry written so far.
			n, err := a.svc.Checkpoint(shutdownCtx, a.signer)
			if err != nil {
				a.log.Error("final audit checkpoint failed", "err", err)
				return err
			}
			a.log.Info("final audit checkpoint signed", "logs", n)
			return nil
		}
	}
}

// operator is the principal for console commands run by the supplier's
// operator on a tenant's data; everything it does is audited as "system".
func operator(tenantID, purpose string) haven.Principal {
	p := haven.SystemPrincipal(tenantID, purpose)
	if host, err := os.Hostname(); err == nil {
		p.ClientAddr = "console@" + host
	}
	return p
}

// The garbage collector's settings for serve, demo and import, unless the
// operator sets GOGC or GOMEMLIMIT. Every request or imported resource
// allocates a little (decoded records, JSON) and keeps almost nothing: under
// the read benchmark the live heap is about 7 MB, and Go's default (collect
// when the heap has doubled) ran 17 collections a second, each marking for
// about 10 ms on one of the two processors the single writer also needs.
// Letting the heap grow to five times what is live collects a quarter as
// often (docs/benchmarks.md); the soft limit makes the collector work
// harder instead once the heap nears 1 GiB, so that a large export or
// import cannot grow it without bound.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 1 << 30
)

// tuneGC applies the serving settings that getenv does not override.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
