package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doseledger/doseledger/api"
	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/api/web"
	"github.com/doseledger/doseledger/certs/issuance"
	"github.com/doseledger/doseledger/cmd/internal/seed"
	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/projections"
)

func (m *Main) serve(ctx context.Context, args []string) error {
	fs := m.newFlags("serve", "serve [--addr HOST:PORT] [--demo] [--esdb-listen ADDR] [--pprof-addr ADDR]\n\n"+
		"Runs the server on the ledger (the embedded store in the data directory, or\n"+
		"--store): the pages (citizens /portal/, vaccinators /vaccinator/, officials\n"+
		"/official/, the offline certificate verifier /verify/), the JSON API under\n"+
		"/api/v1 (described at /openapi.json), /healthz, /readyz and /metrics, and\n"+
		"the issuer's keys and revocation lists at /.well-known/ with a trust bundle\n"+
		"at /api/v1/trust-bundle.\n\n"+
		"Everyone signs in with a mobile number and an OTP. No SMS gateway is\n"+
		"configured: OTPs are written to the log and to data/outbox.ndjson. Staff\n"+
		"roles come from data/staff.json (doseledger staff add); --demo adds one demo\n"+
		"member of each role, for that run only. Staff reads of a person's record are logged to\n"+
		"data/access.ndjson. Runs four Go processors per core, since durable writes\n"+
		"wait in system calls; the GOMAXPROCS variable overrides that.")
	addr := fs.String("addr", envOr("DOSELEDGER_ADDR", "127.0.0.1:8080"), "address to listen on (env DOSELEDGER_ADDR)")
	demo := fs.Bool("demo", false, "on an empty ledger, first seed a small country (2,000 people); let demo staff sign in (this run only)")
	pprofAddr := fs.String("pprof-addr", "", "serve Go's profiler (net/http/pprof) on this address, such as 127.0.0.1:6060 (default: off); keep it off the network")
	esdbFlags := addESDBFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *pprofAddr != "" {
		stop, err := m.servePprof(*pprofAddr)
		if err != nil {
			return err
		}
		defer stop()
	}
	m.Log.Debug("Go processors for the server", "gomaxprocs", tuneProcsForServe())
	if *demo {
		if err := m.seedDemo(ctx); err != nil {
			return err
		}
	}
	l, err := m.openLedger(time.Now)
	if err != nil {
		return err
	}
	defer l.Close()
	if esdbFlags.listen != "" {
		stop, err := m.serveESDB(ctx, l.Store, esdbFlags)
		if err != nil {
			return err
		}
		defer stop()
	}

	// Merge people registered twice with one photo ID, as they appear. The
	// finder reads the whole log first, in the background: the server
	// answers meanwhile (merges are not needed to serve). It starts once
	// the read models are loaded, which the server does need to answer:
	// on two cores the two slowed each other's start (BENCHMARKS.md).
	// Its state is saved at a clean stop, and read back at the next start.
	ctx, cancel := context.WithCancel(ctx)
	startFinder := make(chan struct{})
	stopFinder := m.runDuplicateFinder(ctx, cancel, l.Handler.NewDuplicateFinder(), l.Store, startFinder)
	defer stopFinder() // whatever way serve ends, before the ledger closes

	// Keep every person's certificate current as doses are recorded:
	// provisional after dose 1, final once complete, reissued after a
	// correction, a void or a merge.
	ring, err := m.openIssuerRing()
	if err != nil {
		return err
	}
	issuerURL := envOr("DOSELEDGER_ISSUER", defaultIssuer)
	issuer, err := issuance.New(issuance.Config{Store: l.Store, People: l.Handler, Ring: ring,
		Issuer: issuerURL, Logger: m.Log, Checkpoint: m.issuerCheckpoint()})
	if err != nil {
		return err
	}
	issuerDone := make(chan error, 1)
	go func() { issuerDone <- issuer.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-issuerDone; err != nil && !errors.Is(err, context.Canceled) {
			m.Log.Error("certificate issuer stopped", "err", err)
		}
	}()

	// Keep the read models following the ledger.
	disk, err := projections.OpenDisk(filepath.Join(m.Config.DataDir, "projections"), m.Log)
	if err != nil {
		return err
	}
	defer disk.Close()
	proj, err := projections.NewProjector(l.Store, disk, projections.Options{Logger: m.Log})
	if err != nil {
		return err
	}
	close(startFinder)
	// Read models that stopped following the ledger would answer with
	// stale data: if they fail, the server shuts down.
	projDone := make(chan error, 1)
	go func() {
		err := proj.Run(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			m.Log.Error("read models stopped; shutting down", "err", err)
			cancel()
		}
		projDone <- err
	}()
	defer func() {
		cancel()
		<-projDone
	}()

	// Give back seats that a booking or a cancellation which died halfway
	// left taken.
	seatsDone := make(chan struct{})
	seats := seatReconciler{h: l.Handler, proj: proj, every: time.Minute, minAge: strandedSeatAge, now: time.Now, log: m.Log}
	go func() { defer close(seatsDone); seats.run(ctx) }()
	defer func() {
		cancel()
		<-seatsDone
	}()

	// Deliver reminders from the outbox. No SMS gateway is configured:
	// messages are written to a file, and the log says where.
	outbox, err := projections.OpenFileDeliverer(filepath.Join(m.Config.DataDir, "outbox.ndjson"))
	if err != nil {
		return err
	}
	defer outbox.Close()
	m.Log.Info("notifications are written to a file, not sent by SMS", "file", outbox.Path())
	notifier := &projections.Notifier{Projector: proj, Store: l.Store, Deliverer: outbox, Now: time.Now, Logger: m.Log}
	notifyDone := make(chan error, 1)
	go func() { notifyDone <- notifier.Run(ctx, 10*time.Second) }()
	defer func() {
		cancel()
		<-notifyDone
	}()

	signin, accessLog, closeAccess, err := m.signIn(l, outbox, *demo)
	if err != nil {
		return err
	}
	defer closeAccess()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		last, err := l.Store.LastPosition(r.Context())
		status, code := "ok", http.StatusOK
		if err != nil {
			status, code = err.Error(), http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"status": status, "last_position": uint64(last),
			"read_models_position": uint64(proj.Position()), "data_dir": m.Config.DataDir})
	})
	// Ready once the read models hold what the ledger held at start: until
	// then a query would answer from an old state.
	startedAt, err := l.Store.LastPosition(ctx)
	if err != nil {
		return err
	}
	mux.HandleFunc("GET /readyz", readyz(proj.Position, startedAt))
	// /metrics has the storage engines' figures besides the API's own.
	engines := l.engines()
	engines["read-models"] = disk.EngineMetrics
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(newEngineCollector(engines))
	// Everything else is the API, which answers in JSON, errors included.
	mux.Handle("/", api.New(api.Config{Handler: l.Handler, Store: l.Store, Projector: proj, Logger: m.Log, Now: time.Now,
		Auth: signin, AccessLog: accessLog, Certificates: issuer, Keys: ring, IssuerURL: issuerURL, Metrics: metrics}))
	// The web pages, each under its own path (api/web).
	site := web.New()
	for _, p := range site.Patterns() {
		mux.Handle(p, site)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	last, _ := l.Store.LastPosition(ctx)
	m.Log.Info("serving", "addr", "http://"+ln.Addr().String(), "data", m.Config.DataDir, "events", uint64(last))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	m.Log.Info("shutting down")
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShutdown()
	return srv.Shutdown(shutdown)
}

// signIn makes the API's sign-in service: tokens signed with a secret of
// the key store (so they outlive a restart), staff from data/staff.json,
// and OTPs written to the log and the outbox file. It also opens the
// access log, data/access.ndjson, where staff reads of a record go.
func (m *Main) signIn(l *ledgerHandle, outbox *projections.FileDeliverer, demo bool) (*auth.Service, *slog.Logger, func() error, error) {
	secret, err := l.Keys.Secret("api-token", auth.SecretLen)
	if err != nil {
		return nil, nil, nil, err
	}
	staff, err := auth.OpenDirectory(m.staffPath())
	if err != nil {
		return nil, nil, nil, err
	}
	if demo {
		if err := m.addDemoStaff(staff); err != nil {
			return nil, nil, nil, err
		}
	}
	if len(staff.Members()) == 0 {
		m.Log.Warn("no staff in the directory: only citizens can sign in (doseledger staff add, or serve --demo)", "file", m.staffPath())
	}
	svc, err := auth.NewService(auth.Config{Secret: secret, Staff: staff, Account: l.Handler.AccountOf,
		Sender: otpSender{log: auth.LogSender{Logger: m.Log}, outbox: outbox}})
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := os.OpenFile(filepath.Join(m.Config.DataDir, "access.ndjson"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open access log: %w", err)
	}
	return svc, slog.New(slog.NewJSONHandler(f, nil)), f.Close, nil
}

// otpSender delivers sign-in codes the way the server delivers reminders:
// to the outbox file, and to the log so that a developer sees them.
type otpSender struct {
	log    auth.LogSender
	outbox *projections.FileDeliverer
}

func (s otpSender) SendOTP(ctx context.Context, mobile, code string, expires time.Time) error {
	text := fmt.Sprintf("%s is your doseledger sign-in code. It expires at %s IST. Do not share it.",
		code, expires.In(ledger.India).Format("15:04"))
	if err := s.outbox.DeliverText("otp", mobile, text); err != nil {
		return err
	}
	return s.log.SendOTP(ctx, mobile, code, expires)
}

// seedDemo seeds a small country if the data directory holds no ledger.
func (m *Main) seedDemo(ctx context.Context) error {
	l, err := m.openLedger(time.Now)
	if err != nil {
		return err
	}
	last, err := l.Store.LastPosition(ctx)
	l.Close()
	if err != nil {
		return err
	}
	if last != ledger.Start {
		m.Log.Info("the ledger already holds events: --demo seeds nothing", "data", m.Config.DataDir, "last_position", uint64(last))
		return nil
	}
	m.Log.Info("empty ledger: seeding a demo country first", "data", m.Config.DataDir)
	_, err = m.runSeed(ctx, seed.Config{People: 2000, Seed: 1}, !isTerminal(m.Stderr))
	return err
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// readyz answers 503 until the read models, at position(), hold what the
// ledger held at start, and 200 from then on.
func readyz(position func() ledger.Position, startedAt ledger.Position) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if at := position(); at < startedAt {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "catching up: read models at %d of %d\n", uint64(at), uint64(startedAt))
			return
		}
		w.Write([]byte("ready\n"))
	}
}

// strandedSeatAge is how long a seat must be held with no appointment
// behind it before the reconciler gives it back: far longer than any
// request runs.
const strandedSeatAge = 10 * time.Minute

// seatReconciler looks every interval for sessions whose read model shows
// more seats taken than appointments booked, and gives back the seats that
// no appointment needs and that have been held for minAge
// (command.Handler.ReleaseStrandedSeats).
type seatReconciler struct {
	h      *command.Handler
	proj   *projections.Projector
	every  time.Duration
	minAge time.Duration    // by the handler's clock, from when the seat was recorded
	now    func() time.Time // for today's date: sessions of today or earlier are left alone
	log    *slog.Logger
}

func (r seatReconciler) run(ctx context.Context) {
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.once(ctx)
		}
	}
}

// once looks at every session the read models show with seats to spare,
// once.
func (r seatReconciler) once(ctx context.Context) {
	var sessions []string
	today := ledger.DateOf(r.now())
	r.proj.View(func(models *projections.Models) { sessions = models.StrandedSeatSessions(today) })
	for _, id := range sessions {
		var booked map[string]bool
		r.proj.View(func(models *projections.Models) { booked = models.BookedAppointments(id) })
		n, err := r.h.ReleaseStrandedSeats(ctx, id, func(appt string) bool { return booked[appt] }, r.minAge, "system:seat-reconciler")
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.log.Error("seat reconciler", "session", id, "err", err)
		case n > 0:
			r.log.Warn("gave back seats left taken by a booking or cancellation that died halfway", "session", id, "seats", n)
		}
	}
}
