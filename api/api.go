package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/certs"
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
	// Auth signs callers in and checks their tokens. If nil, the API makes
	// one with a random token secret (tokens die with the process), no
	// staff, and OTPs written to Logger.
	Auth *auth.Service
	// AccessLog records who read whose record (default: Logger).
	AccessLog *slog.Logger
	// Certificates gives people's certificates in force, for download
	// (normally the server's *issuance.Issuer); if nil, there are none.
	Certificates Certificates
	// Metrics is the registry served at /metrics, with the API's own
	// metrics added (default: a new registry).
	Metrics *prometheus.Registry
	// Keys is the certificate issuer's key ring, served to verifiers:
	// /.well-known/jwks.json, /.well-known/crl/{kid}.json and
	// /api/v1/trust-bundle (all public). If nil, those answer 404.
	// IssuerURL, the iss of the cards, is then required; IssuerName is
	// shown by verifiers (default DefaultIssuerName). TrustedIssuers are
	// other issuers the trust bundle lists beside this one.
	Keys           *certs.KeyRing
	IssuerURL      string
	IssuerName     string
	TrustedIssuers []certs.TrustedIssuer
}

// Defaults of Config.
const (
	DefaultMaxBody      = 64 << 10
	DefaultMaxBatchBody = 1 << 20
	DefaultWriteWait    = 2 * time.Second
	// MaxBatch is the most doses one batch upload may carry.
	MaxBatch = 1000
)

// server holds the API's dependencies; its methods are the endpoints.
type server struct {
	cfg   Config
	h     *command.Handler
	store ledger.Store
	proj  *projections.Projector
	log   *slog.Logger
	auth  *auth.Service
	// access logs who read whose record.
	access  *slog.Logger
	metrics *metrics
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
	if cfg.Keys != nil && cfg.IssuerURL == "" {
		panic("api.New: Config has Keys but no IssuerURL")
	}
	if cfg.AccessLog == nil {
		cfg.AccessLog = cfg.Logger
	}
	if cfg.Auth == nil {
		a, err := auth.NewService(auth.Config{Sender: auth.LogSender{Logger: cfg.Logger}, Account: cfg.Handler.AccountOf, Now: cfg.Now})
		if err != nil {
			panic("api.New: " + err.Error()) // only a short secret fails, and this one is random
		}
		cfg.Auth = a
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	s := &server{cfg: cfg, h: cfg.Handler, store: cfg.Store, proj: cfg.Projector, log: cfg.Logger,
		auth: cfg.Auth, access: cfg.AccessLog, asof: make(chan struct{}, 1)}
	s.metrics = newMetrics(cfg.Metrics, cfg.Projector, func() float64 {
		last, err := cfg.Store.LastPosition(context.Background())
		if err != nil {
			return -1
		}
		return float64(last)
	})
	return logRequests(s.log, s.routes())
}

// routes is every endpoint, in one place.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, a access, fn handlerFunc) {
		mux.Handle(pattern, s.metrics.instrument(pattern, s.endpoint(s.authorize(a, fn))))
	}
	const (
		citizen    = auth.Citizen
		vaccinator = auth.Vaccinator
		official   = auth.Official
		auditor    = auth.Auditor
	)

	handle("GET /openapi.json", public, serveOpenAPI)
	mux.Handle("GET /metrics", s.metrics.handler)

	// What verifiers download, offline ones included (wellknown.go).
	handle("GET /.well-known/jwks.json", public, s.jwks)
	handle("GET /.well-known/crl/{file}", public, s.crl)
	handle("GET /api/v1/trust-bundle", public, s.trustBundle)

	handle("POST /api/v1/auth/otp", public, s.sendOTP)
	handle("POST /api/v1/auth/token", public, s.signIn)
	handle("GET /api/v1/me", signedIn, s.me)

	// A citizen registers and books for their own account's people only
	// (checked in the handlers); a vaccinator registers walk-ins.
	handle("POST /api/v1/beneficiaries", roles(citizen, vaccinator), s.register)
	handle("GET /api/v1/beneficiaries/{id}", roles(citizen, vaccinator, official, auditor), s.beneficiary)
	handle("GET /api/v1/beneficiaries/{id}/history", roles(citizen, official, auditor), s.history)
	handle("POST /api/v1/beneficiaries/{id}/disputes", roles(citizen, official), s.raiseDispute)
	handle("GET /api/v1/beneficiaries/{id}/disputes", roles(citizen, official, auditor), s.personDisputes)
	handle("GET /api/v1/beneficiaries/{id}/certificate", roles(citizen, vaccinator, official), s.certificateJSON)
	handle("GET /api/v1/beneficiaries/{id}/certificate.pdf", roles(citizen, vaccinator, official), s.certificatePDF)
	handle("GET /api/v1/beneficiaries/{id}/certificate.png", roles(citizen, vaccinator, official), s.certificateQR)
	handle("GET /api/v1/beneficiaries/{id}/certificate.smart-health-card", roles(citizen, vaccinator, official), s.certificateFile)

	handle("GET /api/v1/sessions", public, s.sessions)
	handle("POST /api/v1/sessions", roles(official), s.publishSession)
	handle("POST /api/v1/sessions/{id}/cancel", roles(official), s.cancelSession)
	handle("GET /api/v1/sessions/{id}/due", roles(vaccinator, official), s.due)
	handle("GET /api/v1/sessions/{id}/bookings/{code}", roles(vaccinator, official), s.bookingByCode)

	handle("POST /api/v1/bookings", roles(citizen, official), s.book)
	handle("POST /api/v1/bookings/cancel", roles(citizen, official), s.cancelBooking)
	handle("POST /api/v1/bookings/reschedule", roles(citizen, official), s.reschedule)

	handle("POST /api/v1/doses", roles(vaccinator), s.recordDose)
	handle("POST /api/v1/doses/batch", roles(vaccinator), s.recordBatch)
	handle("POST /api/v1/doses/{id}/void", roles(official), s.voidDose)

	handle("GET /api/v1/coverage", roles(official, auditor), s.coverage)
	handle("GET /api/v1/eligibility", roles(vaccinator, official), s.eligibility)
	handle("GET /api/v1/anomalies", roles(official, auditor), s.anomalies)
	handle("POST /api/v1/anomalies/{dose_event_id}/review", roles(official), s.reviewAnomaly)

	handle("GET /api/v1/disputes", roles(official, auditor), s.disputes)
	handle("POST /api/v1/disputes/{dispute_id}/resolve", roles(official), s.resolveDispute)

	handle("GET /api/v1/events", roles(auditor), s.events)
	handle("GET /api/v1/asof/coverage", roles(official, auditor), s.asofCoverage)
	handle("GET /api/v1/asof/anomalies", roles(official, auditor), s.asofAnomalies)
	handle("GET /api/v1/asof/eligibility", roles(official, auditor), s.asofEligibility)

	return jsonFallback(mux)
}

// today is the current date in India, the day statuses are judged on.
func (s *server) today() string { return ledger.DateOf(s.cfg.Now()) }
