package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// cmdReport prints the JSON results of several runs as one markdown table,
// rows scenario × server, and the ratios between the servers.
func cmdReport(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	protected := fs.String("protected", "haven", "label of Haven as built")
	unprotected := fs.String("unprotected", "haven-unprotected", "label of the benchmark-only build without encryption and audit")
	peer := fs.String("peer", "medplum-peer", "label of the peer server")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("report: give the JSON files of havenload run -json")
	}
	var results []Result
	for _, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		results = append(results, r)
	}
	writeReport(stdout, results, *protected, *unprotected, *peer)
	return nil
}

func writeReport(w io.Writer, results []Result, protected, unprotected, peer string) {
	var scenarios, servers []string
	by := map[[2]string]Result{}
	for _, r := range results {
		if !slices.Contains(scenarios, r.Scenario) {
			scenarios = append(scenarios, r.Scenario)
		}
		if !slices.Contains(servers, r.Label) {
			servers = append(servers, r.Label)
		}
		by[[2]string{r.Scenario, r.Label}] = r
	}
	fmt.Fprintln(w, "| scenario | server | requests | req/s (2xx) | p50 | p99 | server CPU/req | load tool CPU/req | errors |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---|")
	for _, sc := range scenarios {
		for _, sv := range servers {
			r, ok := by[[2]string{sc, sv}]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", sc, sv, r.Requests, thousands(r.OKRPS), msString(r.Latency.P50), msString(r.Latency.P99),
				usString(r.ServerCPUPerRequest), usString(r.LoadCPUPerRequest), errorSummary(r))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Ratios (req/s of 2xx answers; p99 latency). *Cost of protection* is %s ÷ %s req/s: how many times faster Haven would be without encryption and audit. *Peer ÷ Haven* is %s ÷ %s req/s.\n\n", unprotected, protected, peer, protected)
	fmt.Fprintln(w, "| scenario | cost of protection (req/s) | p99 protected ÷ unprotected | peer ÷ Haven (req/s) | p99 Haven ÷ peer |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, sc := range scenarios {
		h, hok := by[[2]string{sc, protected}]
		u, uok := by[[2]string{sc, unprotected}]
		p, pok := by[[2]string{sc, peer}]
		cell := func(ok bool, num, den float64) string {
			if !ok || den == 0 || num == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f×", num/den)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", sc,
			cell(hok && uok, u.OKRPS, h.OKRPS), cell(hok && uok, h.Latency.P99, u.Latency.P99),
			cell(hok && pok, p.OKRPS, h.OKRPS), cell(hok && pok, h.Latency.P99, p.Latency.P99))
	}
}

func errorSummary(r Result) string {
	if r.Errors == 0 {
		return "0"
	}
	var parts []string
	for _, c := range sortedKeys(r.ErrorsByStatus) {
		parts = append(parts, fmt.Sprintf("%d × %s", r.ErrorsByStatus[c], c))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]int) []string {
	return slices.Sorted(maps.Keys(m))
}

// usString formats a processor time per request, or "–" when not measured.
func usString(us float64) string {
	if us <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f µs", us)
}

// thousands formats a rate with a thousands separator: 12,345.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
