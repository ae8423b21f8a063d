package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/projections"
)

// Config is what the API needs. Handler, Store and Projector are
// required; the zero value of every other field takes its default.
type Config struct {
	// Handler carries out the commands; Store is the ledger it writes to,
	// read for histories, the event feed and positions.
	Handler *command.Handler
	Store   ledger.Store
	// Projector keeps the read models the queries answer from; it must be
	// running (Projector.Run) for reads to follow writes.
	Projector *projections.Projector
	Logger    *slog.Logger
	// Now is the clock for "today" in due lists and eligibility; the
	// default is time.Now.
	Now func() time.Time
	// MaxBody bounds a request body (default 64 KiB); MaxBatchBody bounds
	// a batch upload of doses (default 1 MiB). Larger bodies get 413.
	MaxBody, MaxBatchBody int64
	// WriteWait bounds how long a write waits for the read models to
	// apply it before answering (default 2s). The write is durable either
	// way; only a read straight after may not see it yet.
	WriteWait time.Duration
}

// Defaults of Config.
const (
	DefaultMaxBody      = 64 << 10
	DefaultMaxBatchBody = 1 << 20
	DefaultWriteWait    = 2 * time.Second
	// MaxBatch is the most doses one batch upload may carry.
	MaxBatch = 1000
)

// actor is who every write of this step is recorded as: there is no
// authentication yet (see the package comment).
const actor command.Actor = "api:unauthenticated"

// server holds the API's dependencies; its methods are the endpoints.
type server struct {
	cfg   Config
	h     *command.Handler
	store ledger.Store
	proj  *projections.Projector
	log   *slog.Logger
	// asof admits one time-travel build at a time: each replays the log.
	asof chan struct{}
}

// New returns the API as an http.Handler, with request logging. It
// panics if cfg lacks Handler, Store or Projector, as http.Handle panics
// on a nil handler: that is a wiring mistake, not a runtime condition.
// The handler may serve many requests at once.
func New(cfg Config) http.Handler {
	if cfg.Handler == nil || cfg.Store == nil || cfg.Projector == nil {
		panic("api.New: Config needs a Handler, a Store and a Projector")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxBatchBody <= 0 {
		cfg.MaxBatchBody = DefaultMaxBatchBody
	}
	if cfg.WriteWait <= 0 {
		cfg.WriteWait = DefaultWriteWait
	}
	s := &server{cfg: cfg, h: cfg.Handler, store: cfg.Store, proj: cfg.Projector, log: cfg.Logger,
		asof: make(chan struct{}, 1)}
	return logRequests(s.log, s.routes())
}

// routes is every endpoint, in one place.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, fn handlerFunc) { mux.Handle(pattern, s.endpoint(fn)) }

	handle("GET /openapi.json", serveOpenAPI)

	handle("POST /api/v1/beneficiaries", s.register)
	handle("GET /api/v1/beneficiaries/{id}", s.beneficiary)
	handle("GET /api/v1/beneficiaries/{id}/history", s.history)

	handle("GET /api/v1/sessions", s.sessions)
	handle("POST /api/v1/sessions", s.publishSession)
	handle("POST /api/v1/sessions/{id}/cancel", s.cancelSession)
	handle("GET /api/v1/sessions/{id}/due", s.due)

	handle("POST /api/v1/bookings", s.book)
	handle("POST /api/v1/bookings/cancel", s.cancelBooking)
	handle("POST /api/v1/bookings/reschedule", s.reschedule)

	handle("POST /api/v1/doses", s.recordDose)
	handle("POST /api/v1/doses/batch", s.recordBatch)
	handle("POST /api/v1/doses/{id}/void", s.voidDose)

	handle("GET /api/v1/coverage", s.coverage)
	handle("GET /api/v1/eligibility", s.eligibility)
	handle("GET /api/v1/anomalies", s.anomalies)
	handle("POST /api/v1/anomalies/{dose_event_id}/review", s.reviewAnomaly)

	handle("GET /api/v1/events", s.events)
	handle("GET /api/v1/asof/coverage", s.asofCoverage)

	return jsonFallback(mux)
}

// today is the current date in India, the day statuses are judged on.
func (s *server) today() string { return ledger.DateOf(s.cfg.Now()) }
