package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/doseledger/doseledger/projections"
)

// metrics are the API's Prometheus metrics, served at /metrics.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

func newMetrics(reg *prometheus.Registry, proj *projections.Projector, last func() float64) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doseledger_http_requests_total",
			Help: "HTTP requests answered, by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "doseledger_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "doseledger_ledger_last_position",
			Help: "Global position of the newest event in the ledger.",
		}, last),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "doseledger_read_models_position",
			Help: "Global position the read models have applied; the gap to doseledger_ledger_last_position is how far behind they are.",
		}, func() float64 { return float64(proj.Position()) }),
	)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return m
}

// instrument counts and times the requests of one route. The route is
// the mux pattern, not the path, so ids do not explode the label set.
func (m *metrics) instrument(route string, next http.Handler) http.Handler {
	count := m.requests.MustCurryWith(prometheus.Labels{"route": route})
	observe := m.duration.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec, ok := w.(*recorder)
		if !ok {
			rec = &recorder{ResponseWriter: w}
			w = rec
		}
		next.ServeHTTP(w, r)
		observe.Observe(time.Since(start).Seconds())
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		count.WithLabelValues(strconv.Itoa(status)).Inc()
	})
}
