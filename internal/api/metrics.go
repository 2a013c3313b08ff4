package api

import (
	"database/sql"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the service's Prometheus metrics, in a registry of their
// own (the global one would collect whatever any imported package
// registers, and could not be had twice in one test binary).
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// inFlight counts requests being served; the gauge reads it at
	// scrape time, so a request pays one atomic add each way, not a
	// float compare-and-swap loop.
	inFlight atomic.Int64
	replays  prometheus.Counter

	// series holds the children of requests and duration already resolved
	// for a route, method and status, so that a request looks its series
	// up in a map instead of hashing label values in the vectors. It is
	// copied on write: reads take no lock.
	mu     sync.Mutex
	series atomic.Pointer[map[seriesKey]*series]
}

type seriesKey struct {
	route, method string
	status        int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// latencyBuckets span a request answered from a warm connection (well
// under a millisecond) to one that ran into the request timeout (5 s).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics returns the service's metrics; db's pool statistics are read
// at each scrape.
func NewMetrics(db *sql.DB) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time from a request's headers to the end of its handler, by route pattern and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "http_idempotent_replays_total",
			Help: "Creates answered with the first answer of their Idempotency-Key (Idempotent-Replayed: true).",
		}),
	}
	m.series.Store(&map[seriesKey]*series{})
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "http_requests_in_flight",
		Help: "HTTP requests being served.",
	}, func() float64 { return float64(m.inFlight.Load()) })
	m.reg.MustRegister(m.requests, m.duration, inFlight, m.replays,
		collectors.NewDBStatsCollector(db, "tasks"),
		collectors.NewBuildInfoCollector(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// observe counts one answered request. route must be a registered
// pattern, never a raw path, so that clients cannot create series.
func (m *Metrics) observe(route, method string, status int, d time.Duration, replayed bool) {
	s := m.get(seriesKey{route, method, status})
	s.requests.Inc()
	s.duration.Observe(d.Seconds())
	if replayed {
		m.replays.Inc()
	}
}

func (m *Metrics) get(k seriesKey) *series {
	if s, ok := (*m.series.Load())[k]; ok {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.series.Load()
	if s, ok := old[k]; ok {
		return s
	}
	s := &series{
		requests: m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.status)),
		duration: m.duration.WithLabelValues(k.route, k.method),
	}
	next := make(map[seriesKey]*series, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[k] = s
	m.series.Store(&next)
	return s
}
