package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type loadOptions struct {
	concurrency int
	duration    time.Duration // 0: no time limit
	maxRequests int           // 0: no request limit
}

// Result is one run's measurements. It is written as JSON for reports.
type Result struct {
	Label       string  `json:"label"`
	Target      string  `json:"target"`
	Auth        string  `json:"auth"`
	Scenario    string  `json:"scenario"`
	Concurrency int     `json:"concurrency"`
	DurationMax string  `json:"durationLimit"`
	MaxRequests int     `json:"maxRequests"`
	Stopped     string  `json:"stoppedBy"` // duration, requests, interrupted
	Elapsed     float64 `json:"elapsedSeconds"`
	Requests    int     `json:"requests"` // completed, whatever their status
	OK          int     `json:"ok"`       // 2xx (and, for search, a match)
	Errors      int     `json:"errors"`
	// RPS counts every completed request; OKRPS only the successful ones.
	RPS   float64 `json:"rps"`
	OKRPS float64 `json:"okRps"`
	// Latency of every completed request, in milliseconds.
	Latency Latency `json:"latencyMs"`
	// ErrorsByStatus counts errors by HTTP status, "transport" for requests
	// that got no answer and "no-match" for searches that found nobody.
	ErrorsByStatus map[string]int    `json:"errorsByStatus,omitempty"`
	SampleErrors   map[string]string `json:"sampleErrors,omitempty"`
	TokensFetched  int               `json:"tokensFetched,omitempty"`
	// Processor time: the server's in all (when run with -server-pid), and
	// the server's and the load tool's per completed request, in µs.
	ServerCPU           float64 `json:"serverCpuSeconds,omitempty"`
	ServerCPUPerRequest float64 `json:"serverCpuUsPerRequest,omitempty"`
	LoadCPUPerRequest   float64 `json:"loadCpuUsPerRequest,omitempty"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// worker is one connection's measurements, merged at the end.
type worker struct {
	lat     []time.Duration
	ok      int
	errs    map[string]int
	samples map[string]string
}

func (w *worker) fail(class, sample string) {
	if w.errs == nil {
		w.errs, w.samples = map[string]int{}, map[string]string{}
	}
	w.errs[class]++
	if _, ok := w.samples[class]; !ok {
		w.samples[class] = sample
	}
}

// load runs sc with o.concurrency workers until o.duration has passed or
// o.maxRequests have been sent, whichever comes first, or ctx ends.
// Requests under way when time runs out are finished and counted.
func load(ctx context.Context, fc *fhirClient, sc scenario, o loadOptions) Result {
	var (
		issued   atomic.Int64
		stopped  atomic.Value
		wg       sync.WaitGroup
		workers  = make([]*worker, o.concurrency)
		start    = time.Now()
		deadline time.Time
	)
	if o.duration > 0 {
		deadline = start.Add(o.duration)
	}
	stop := func(why string) { stopped.CompareAndSwap(nil, why) }
	for k := range workers {
		w := &worker{}
		workers[k] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if ctx.Err() != nil {
					stop("interrupted")
					return
				}
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					stop("duration")
					return
				}
				i := issued.Add(1)
				if o.maxRequests > 0 && i > int64(o.maxRequests) {
					stop("requests")
					return
				}
				method, path, body, check := sc.next(int(i - 1))
				t0 := time.Now()
				r := fc.do(ctx, method, path, body, check != nil)
				w.lat = append(w.lat, time.Since(t0))
				switch {
				case r.err != nil && r.status == 0:
					if ctx.Err() != nil && errors.Is(r.err, context.Canceled) {
						w.lat = w.lat[:len(w.lat)-1] // cut short by ^C: not a measurement
						continue
					}
					w.fail("transport", r.err.Error())
				case r.status < 200 || r.status > 299:
					w.fail(strconv.Itoa(r.status), string(r.body))
				case r.err != nil:
					w.fail("transport", "reading the body: "+r.err.Error())
				case check != nil && !check(r.body):
					w.fail("no-match", string(r.body))
				default:
					w.ok++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{Scenario: sc.name, Concurrency: o.concurrency, MaxRequests: o.maxRequests, Elapsed: elapsed.Seconds()}
	if o.duration > 0 {
		res.DurationMax = o.duration.String()
	}
	if s, ok := stopped.Load().(string); ok {
		res.Stopped = s
	}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.lat...)
		res.OK += w.ok
		for class, n := range w.errs {
			if res.ErrorsByStatus == nil {
				res.ErrorsByStatus, res.SampleErrors = map[string]int{}, map[string]string{}
			}
			res.ErrorsByStatus[class] += n
			res.Errors += n
			if _, ok := res.SampleErrors[class]; !ok {
				res.SampleErrors[class] = truncate(w.samples[class], 600)
			}
		}
	}
	res.Requests = len(all)
	if s := elapsed.Seconds(); s > 0 {
		res.RPS = float64(res.Requests) / s
		res.OKRPS = float64(res.OK) / s
	}
	res.Latency = distribution(all)
	if fc.tokens != nil {
		fc.tokens.mu.Lock()
		res.TokensFetched = fc.tokens.fetched
		fc.tokens.mu.Unlock()
	}
	return res
}

// distribution summarises latencies (nearest-rank percentiles).
func distribution(lat []time.Duration) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(lat)))) - 1
		return lat[max(0, min(i, len(lat)-1))]
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return Latency{P50: ms(rank(0.50)), P90: ms(rank(0.90)), P99: ms(rank(0.99)), Max: ms(lat[len(lat)-1]), Mean: ms(sum / time.Duration(len(lat)))}
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// printResult writes a run as a small table, its errors by status and one
// sample error body per status.
func printResult(w io.Writer, r Result) {
	limit := "no time limit"
	if r.DurationMax != "" {
		limit = r.DurationMax
	}
	if r.MaxRequests > 0 {
		limit += fmt.Sprintf(", at most %d requests", r.MaxRequests)
	}
	fmt.Fprintf(w, "%s against %s (%s), %d concurrent, %s; stopped by %s\n", r.Scenario, r.Label, r.Target, r.Concurrency, limit, r.Stopped)
	fmt.Fprintf(w, "  %-9s %-9s %-7s %-9s %-9s %-9s %-9s %-9s %-9s\n", "requests", "ok", "errors", "elapsed", "req/s", "p50", "p90", "p99", "max")
	fmt.Fprintf(w, "  %-9d %-9d %-7d %-9s %-9.1f %-9s %-9s %-9s %-9s\n", r.Requests, r.OK, r.Errors,
		fmt.Sprintf("%.2fs", r.Elapsed), r.RPS, msString(r.Latency.P50), msString(r.Latency.P90), msString(r.Latency.P99), msString(r.Latency.Max))
	if r.ServerCPUPerRequest > 0 {
		fmt.Fprintf(w, "  processor time per request: server %.0f µs, load tool %.0f µs\n", r.ServerCPUPerRequest, r.LoadCPUPerRequest)
	}
	if len(r.ErrorsByStatus) > 0 {
		classes := sortedKeys(r.ErrorsByStatus)
		parts := make([]string, len(classes))
		for i, c := range classes {
			parts[i] = fmt.Sprintf("%s: %d", c, r.ErrorsByStatus[c])
		}
		fmt.Fprintf(w, "  errors by status: %s\n", strings.Join(parts, ", "))
		for _, c := range classes {
			fmt.Fprintf(w, "  sample %s: %s\n", c, truncate(r.SampleErrors[c], 300))
		}
	}
}

func msString(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fms", ms)
	}
}
