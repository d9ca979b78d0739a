//go:build havenbench_pprof

package main

// Profiling for benchmarks: go build -tags havenbench_pprof (alone, or with
// havenbench_unprotected). With HAVEN_PPROF=127.0.0.1:PORT set, the process
// serves net/http/pprof on that loopback address, on a listener and mux of
// its own, apart from Haven's handler. A normal build has no profiling
// endpoint at all.

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("HAVEN_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		if t, ok := ln.Addr().(*net.TCPAddr); !ok || !t.IP.IsLoopback() {
			ln.Close()
			err = fmt.Errorf("%s is not a loopback address", addr)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "haven: HAVEN_PPROF: %v\n", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	fmt.Fprintf(os.Stderr, "haven: profiling endpoint on http://%s/debug/pprof/ (benchmark build)\n", ln.Addr())
	go http.Serve(ln, mux) //nolint:errcheck // lives as long as the process
}
