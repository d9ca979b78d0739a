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
	"syscall"
	"time"

	"github.com/havencare/haven"
)

// serveOptions are the flags of serve and demo.
type serveOptions struct {
	options
	addr       string
	checkpoint time.Duration
}

func (o *serveOptions) register(fs *flag.FlagSet) {
	o.options.register(fs)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.DurationVar(&o.checkpoint, "checkpoint-interval", 30*time.Second, "how often to sign audit-log checkpoints")
}

func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var o serveOptions
	o.register(fs)
	if err := parse(fs, args); err != nil {
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

// handler is Haven's HTTP surface. Until sign-in exists it serves nothing
// that holds personal data: only health and a page that says so.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if _, err := a.db.Tenants(r.Context()); err != nil {
			a.log.Error("health check failed", "err", err)
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Haven is running. Records are reached through signed-in sessions and the FHIR API, which are not served by this version.")
	})
	return securityHeaders(mux)
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// serve listens until ctx ends (SIGINT or SIGTERM), signing audit
// checkpoints periodically and once more on the way down. ready, if not
// nil, receives the bound address.
func (a *app) serve(ctx context.Context, o serveOptions, ready func(addr string)) error {
	if err := a.logToFile(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("haven serving", "addr", ln.Addr().String(), "store", a.db.Dialect().Name)
	if ready != nil {
		ready(ln.Addr().String())
	}

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
