package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"

	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/ledger"
)

const loadtestUsage = `loadtest [--clients N] [--seats N] [--booked N] [--registrations N] [--concurrency N]
         [--rate N] [--crash] [--cpuprofile FILE] [--race-cpuprofile FILE] [--mutexprofile FILE]
         [--memprofile FILE] [--server-cpuprofile FILE] [--server-profiles DIR] [--keep]

Starts the real server (the same serve: API, read models, duplicate finder,
certificate issuer, notifier) on a new embedded ledger in a temporary
directory, listening on loopback, and drives it over HTTP from this process:

 1. A booking race: a session with --booked + --seats seats of which --booked
    are taken already; --clients people, each a citizen with their own token
    and connection, ask for the last --seats at the same moment. Exactly
    --seats must be booked, every other client must get 409 session_full, and
    the session's stream in the ledger must hold exactly its capacity.
 2. A registration burst: --registrations people registered by --concurrency
    clients at once, each request a citizen's own, reporting requests/s and
    latency (p50, p99, max, measured by the client from sending the request
    to reading the whole answer). With --rate, requests are instead due at
    that steady rate (an open loop, as wrk2 does): each is sent at its due
    time on the first of the --concurrency connections free, and its
    latency is measured from the due time, so a server falling behind
    shows as latency, not as a slower sender. After the server has shut
    down (with --crash: been killed with SIGKILL), every registration it
    acknowledged is read back from the ledger, and the person's sealed
    details opened with their key from the key store.

The load generator shares this machine's cores with the server. The server
logs every request, as serve does, to server.log in the directory. The
profiles cover this process: with --crash, the load generator alone, and
--server-cpuprofile then profiles the server over the burst (it needs
--rate, which fixes the burst's length). --server-profiles instead profiles
each minute of the burst apart, to show what a slow stretch spends its time
on: DIR/cpu-007.pprof is the server's CPU in the burst's eighth minute and
DIR/heap-007.pprof its heap at that minute's end (compare two minutes with
go tool pprof -diff_base). Exit status 1 if any check fails.`

// loadConfig is what a load test does.
type loadConfig struct {
	Clients, Seats, Booked     int
	Registrations, Concurrency int
	// Rate, if above 0, is the burst's steady rate of requests a second
	// (an open loop); otherwise every client sends as fast as it is
	// answered.
	Rate           float64
	CPUProfile     string // profile of the registration burst, if set
	RaceCPUProfile string // profile of the booking race, if set
	MutexProfile   string // where the burst waits on locks, if set
	MemProfile     string // the heap after the burst, if set
	// ServerCPUProfile, with Crash and Rate, is where the server's CPU
	// profile of the burst goes.
	ServerCPUProfile string
	// ServerProfiles, with Crash and Rate, is the directory where the
	// server's CPU and heap profiles of each minute of the burst go.
	ServerProfiles string
	Dir            string // the server's data directory; removed afterwards unless Keep
	// Crash runs the server as a child process and kills it with SIGKILL
	// after the burst, so that what is read back is what survived a crash.
	Crash bool
	// ServerCommand makes the child's command from the server's
	// arguments (default: this executable); tests run the test binary.
	ServerCommand func(args []string) (*exec.Cmd, error)
	Keep          bool
}

// freeMemoryWatch is the machine's free memory at the start of a stretch
// of time, and the least it had, when, since that start (all 0 if not
// known).
type freeMemoryWatch struct {
	Start, Least uint64
	LeastAt      time.Duration
}

func (f freeMemoryWatch) String() string {
	return fmt.Sprintf("%s MB at the start, %s MB at least (at %s)",
		humanCount(f.Start>>20), humanCount(f.Least>>20), f.LeastAt.Round(time.Second))
}

// watchFreeMemory samples the machine's free memory every second until
// the function it returns is called, which returns what it saw.
func watchFreeMemory() (stop func() freeMemoryWatch) {
	start := time.Now()
	w := freeMemoryWatch{Start: freeMemory()}
	w.Least = w.Start
	done, result := make(chan struct{}), make(chan freeMemoryWatch, 1)
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				result <- w
				return
			case <-tick.C:
				if free := freeMemory(); free > 0 && free < w.Least {
					w.Least, w.LeastAt = free, time.Since(start)
				}
			}
		}
	}()
	return func() freeMemoryWatch { close(done); return <-result }
}

// latency summarises request latencies.
type latency struct {
	P50, P99, Max time.Duration
}

func summarize(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	rank := func(p float64) time.Duration { // nearest rank
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return latency{P50: rank(0.50), P99: rank(0.99), Max: ds[len(ds)-1]}
}

// sent returns the latencies of the requests that were sent.
func sent(took []time.Duration) []time.Duration {
	return slices.DeleteFunc(slices.Clone(took), func(d time.Duration) bool { return d == 0 })
}

func (l latency) String() string {
	return fmt.Sprintf("p50 %s, p99 %s, max %s", roundLatency(l.P50), roundLatency(l.P99), roundLatency(l.Max))
}

// tenthsP99 lists the p99 of each tenth in milliseconds.
func tenthsP99(tenths [10]latency) string {
	ms := make([]string, len(tenths))
	for i, l := range tenths {
		ms[i] = "–" // no request in this tenth
		if l.Max > 0 {
			ms[i] = strconv.FormatFloat(float64(l.P99)/float64(time.Millisecond), 'f', 1, 64)
		}
	}
	return strings.Join(ms, " ") + " ms"
}

func roundLatency(d time.Duration) time.Duration {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(100 * time.Microsecond)
}

// loadReport is what a load test measured and checked.
type loadReport struct {
	SessionID      string
	Capacity       int
	Booked         int            // bookings answered 201 in the race
	Refusals       map[string]int // the race's other answers, by status and error code
	TakenAPI       int            // seats taken, as the API's session list says
	TakenLedger    int            // seats reserved less released, in the session's stream
	RaceLatency    latency
	RaceElapsed    time.Duration
	Registered     int // registrations answered 201 in the burst
	Failed         int
	FirstFailure   string
	BurstElapsed   time.Duration
	BurstLatency   latency
	BurstTenths    [10]latency   // of the requests in the order sent: does the latency hold as the ledger fills?
	BurstCPU       time.Duration // CPU time the server and the load generator used in the burst
	ServerCPU      time.Duration // with --crash, the server's part of BurstCPU (0 if not known)
	ServerPeakRSS  uint64        // with --crash, the most memory the server had resident by the burst's end (0 if not known)
	GeneratorCPU   time.Duration // with --crash, the load generator's part
	Durable        int           // acknowledged registrations in the ledger after shutdown, opened with their keys
	Events         ledger.Position
	SetupElapsed   time.Duration
	ServerLogBytes int64
	// Engine is what each embedded store's Pebble database wrote by the
	// burst's end, by store ("events", "events-index", "keys",
	// "read-models"), from the server's /metrics.
	Engine map[string]engineFigures

	// GeneratorPeakRSS is the most memory this process had resident by
	// the burst's end (0 if not known): with --crash, the generator's.
	GeneratorPeakRSS uint64
	// FreeMemory is the machine's free memory (not even the page cache
	// holds it) through the burst, sampled every second: on a virtual
	// machine some slow minutes of a day were memory taken up fast
	// (BENCHMARKS.md, issue 5).
	FreeMemory freeMemoryWatch
}

// Problems lists every check the run failed.
func (r loadReport) Problems(cfg loadConfig) []string {
	var p []string
	if r.Booked != cfg.Seats {
		p = append(p, fmt.Sprintf("%d clients booked the last %d seats", r.Booked, cfg.Seats))
	}
	for k, n := range r.Refusals {
		if k != "409 session_full" {
			p = append(p, fmt.Sprintf("%d race answers were %s, not 201 or 409 session_full", n, k))
		}
	}
	if r.TakenAPI != r.Capacity || r.TakenLedger != r.Capacity {
		p = append(p, fmt.Sprintf("the session of %d seats has %d taken by the API, %d in the ledger", r.Capacity, r.TakenAPI, r.TakenLedger))
	}
	if r.Failed > 0 {
		p = append(p, fmt.Sprintf("%d registrations failed; the first: %s", r.Failed, r.FirstFailure))
	}
	if r.Durable != r.Registered {
		p = append(p, fmt.Sprintf("only %d of %d acknowledged registrations are in the ledger and open with their keys", r.Durable, r.Registered))
	}
	return p
}

func (m *Main) loadtest(ctx context.Context, args []string) error {
	fs := m.newFlagsNoData("loadtest", loadtestUsage)
	cfg := loadConfig{}
	fs.IntVar(&cfg.Clients, "clients", 2000, "clients racing for the last seats")
	fs.IntVar(&cfg.Seats, "seats", 100, "seats left when the race starts")
	fs.IntVar(&cfg.Booked, "booked", 400, "seats of the session taken before the race")
	fs.IntVar(&cfg.Registrations, "registrations", 100000, "registrations in the burst")
	fs.IntVar(&cfg.Concurrency, "concurrency", 256, "clients registering at once in the burst")
	fs.Float64Var(&cfg.Rate, "rate", 0, "send the burst's requests at this steady rate a second, on --concurrency connections, and measure latency from each one's scheduled time (default: as fast as answered)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the burst to FILE (this process: with --crash, the load generator alone)")
	fs.StringVar(&cfg.RaceCPUProfile, "race-cpuprofile", "", "write a CPU profile of the booking race to FILE")
	fs.StringVar(&cfg.MutexProfile, "mutexprofile", "", "write a profile of lock contention during the burst to FILE")
	fs.StringVar(&cfg.MemProfile, "memprofile", "", "write a profile of the heap after the burst to FILE (this process: with --crash, the load generator alone)")
	fs.StringVar(&cfg.ServerCPUProfile, "server-cpuprofile", "", "with --crash and --rate, write a CPU profile of the server over the burst to FILE")
	fs.StringVar(&cfg.ServerProfiles, "server-profiles", "", "with --crash and --rate, write the server's CPU profile of each minute of the burst, and its heap at the minute's end, to DIR")
	fs.BoolVar(&cfg.Crash, "crash", false, "run the server as a child process and kill it (SIGKILL) after the burst, before reading back")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the server's data directory, and say where it is")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case cfg.Clients < 1 || cfg.Seats < 1 || cfg.Booked < 0 || cfg.Booked+cfg.Seats > ledger.MaxCapacity:
		return fmt.Errorf("--clients and --seats must be at least 1, and --booked + --seats at most %d", ledger.MaxCapacity)
	case cfg.Registrations < 0 || cfg.Concurrency < 1:
		return fmt.Errorf("--registrations must be 0 or more and --concurrency at least 1")
	case cfg.Rate != 0 && (cfg.Rate < 1 || cfg.Rate > 1e7):
		return fmt.Errorf("--rate must be 0 (as fast as answered) or from 1 to 10,000,000 requests a second")
	case (cfg.ServerCPUProfile != "" || cfg.ServerProfiles != "") && (!cfg.Crash || cfg.Rate == 0):
		return fmt.Errorf("--server-cpuprofile and --server-profiles need --crash (the server in a process of its own) and --rate (a burst of known length)")
	case cfg.ServerCPUProfile != "" && cfg.ServerProfiles != "":
		return fmt.Errorf("--server-cpuprofile and --server-profiles cannot both be given: the server runs one CPU profile at a time")
	case cfg.Clients+cfg.Booked+cfg.Registrations > 90_000_000:
		return fmt.Errorf("too many people for the load test's mobile numbers")
	}
	dir, err := os.MkdirTemp("", "doseledger-loadtest-")
	if err != nil {
		return err
	}
	cfg.Dir = dir
	if cfg.Keep {
		m.Log.Info("the load test's ledger is kept", "dir", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	rep, err := m.runLoadtest(ctx, cfg)
	if err != nil {
		return err
	}
	m.printLoadReport(cfg, rep)
	if p := rep.Problems(cfg); len(p) > 0 {
		return fmt.Errorf("load test failed: %s", strings.Join(p, "; "))
	}
	return nil
}

func (m *Main) printLoadReport(cfg loadConfig, r loadReport) {
	w := m.Stdout
	fmt.Fprintf(w, "setup: %s people registered and %s seats booked through the API in %s\n",
		humanCount(uint64(cfg.Clients+cfg.Booked)), humanCount(uint64(cfg.Booked)), r.SetupElapsed.Round(time.Millisecond))
	refusals := make([]string, 0, len(r.Refusals))
	for _, k := range slices.Sorted(maps.Keys(r.Refusals)) {
		refusals = append(refusals, fmt.Sprintf("%s %s", humanCount(uint64(r.Refusals[k])), k))
	}
	fmt.Fprintf(w, "booking race: %s clients for the last %s of %s seats of %s\n",
		humanCount(uint64(cfg.Clients)), humanCount(uint64(cfg.Seats)), humanCount(uint64(r.Capacity)), r.SessionID)
	fmt.Fprintf(w, "  answers: %s booked (201), %s\n", humanCount(uint64(r.Booked)), strings.Join(refusals, ", "))
	fmt.Fprintf(w, "  seats taken: %s by the API, %s in the ledger, of %s\n",
		humanCount(uint64(r.TakenAPI)), humanCount(uint64(r.TakenLedger)), humanCount(uint64(r.Capacity)))
	fmt.Fprintf(w, "  all answered in %s; latency %s\n", r.RaceElapsed.Round(time.Millisecond), r.RaceLatency)
	if cfg.Registrations > 0 {
		rate := float64(r.Registered) / max(r.BurstElapsed.Seconds(), 1e-9)
		offered := ""
		if cfg.Rate > 0 {
			offered = fmt.Sprintf(", sent at %s/s (latency from each one's scheduled time)", humanCount(uint64(cfg.Rate)))
		}
		fmt.Fprintf(w, "registration burst: %s registrations from %s clients in %s: %s/s%s\n",
			humanCount(uint64(cfg.Registrations)), humanCount(uint64(cfg.Concurrency)), r.BurstElapsed.Round(time.Millisecond),
			humanCount(uint64(rate)), offered)
		fmt.Fprintf(w, "  latency %s; %s failed\n", r.BurstLatency, humanCount(uint64(r.Failed)))
		fmt.Fprintf(w, "  p99 by tenth of the burst, in order sent: %s\n", tenthsP99(r.BurstTenths))
		if r.BurstCPU > 0 && r.Registered > 0 {
			per := func(d time.Duration) time.Duration { return (d / time.Duration(r.Registered)).Round(time.Microsecond) }
			fmt.Fprintf(w, "  CPU: %s (server and load generator), %.2f of %d cores, %s per registration\n",
				r.BurstCPU.Round(time.Millisecond), r.BurstCPU.Seconds()/r.BurstElapsed.Seconds(), runtime.NumCPU(), per(r.BurstCPU))
			if r.ServerCPU > 0 {
				fmt.Fprintf(w, "  of which the server %s per registration, the load generator %s\n", per(r.ServerCPU), per(r.GeneratorCPU))
				if r.ServerPeakRSS > 0 {
					fmt.Fprintf(w, "  server's peak resident memory: %s MB\n", humanCount(r.ServerPeakRSS>>20))
				}
			}
		}
		if r.GeneratorPeakRSS > 0 {
			fmt.Fprintf(w, "  load generator's peak resident memory: %s MB\n", humanCount(r.GeneratorPeakRSS>>20))
		}
		if r.FreeMemory.Start > 0 {
			fmt.Fprintf(w, "  machine's free memory: %s\n", r.FreeMemory)
		}
		after := "a clean shutdown"
		if cfg.Crash {
			after = "the server was killed (SIGKILL)"
		}
		fmt.Fprintf(w, "  durable: %s of %s acknowledged registrations read back from the ledger, and opened with their keys, after %s\n",
			humanCount(uint64(r.Durable)), humanCount(uint64(r.Registered)), after)
	}
	fmt.Fprintf(w, "ledger: %s events; server log %s bytes\n", humanCount(uint64(r.Events)), humanCount(uint64(r.ServerLogBytes)))
	for _, store := range slices.Sorted(maps.Keys(r.Engine)) {
		fmt.Fprintf(w, "storage engine, %s: %s\n", store, r.Engine[store])
	}
}

// sleepUntil waits until t, and reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// loadClient talks to the server under test.
type loadClient struct {
	base string
	http *http.Client
}

// post sends a JSON body (a value, or []byte already encoded) with a bearer token and returns the status, the
// error code of an error answer, and the answer decoded into out.
func (c *loadClient) post(ctx context.Context, path, token string, body any, out any) (int, string, error) {
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return 0, "", err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return c.do(req, out)
}

func (c *loadClient) get(ctx context.Context, path string, out any) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, "", err
	}
	return c.do(req, out)
}

func (c *loadClient) do(req *http.Request, out any) (int, string, error) {
	res, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, "", err
	}
	if res.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.Unmarshal(body, &e)
		return res.StatusCode, e.Error.Code + ": " + e.Error.Message, nil
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return res.StatusCode, "", fmt.Errorf("%s %s answered %d with %q: %w", req.Method, req.URL.Path, res.StatusCode, clip(string(body), 200), err)
		}
	}
	return res.StatusCode, "", nil
}

// loadPerson is a citizen of the load test: their registration request
// and the token of their mobile number's account.
type loadPerson struct {
	register []byte // the request body
	token    string
	id       string // beneficiary id, once registered
}

// loadPeople makes the load test's citizens, numbered from 0: person i
// has the mobile number 9 and then i in nine digits, and a token of that
// mobile's account, minted with the server's own secret as sign-in would
// mint it. Each is made as it is sent, before its time comes. Minting
// every token before the clock kept 4 GB of them (300 bytes each) beside
// the server through a whole day; one costs about 2 µs to mint
// (auth.BenchmarkIssue) and its request's body is made the same way.
type loadPeople struct {
	tokens *auth.Tokens
	hasher ledger.Hasher
}

// person makes citizen i, their request appended to buf.
func (lp loadPeople) person(i int, buf []byte) (loadPerson, error) {
	tok, err := lp.tokens.Issue(auth.Principal{Role: auth.Citizen, ID: lp.hasher.Account(loadMobile(i))})
	if err != nil {
		return loadPerson{}, err
	}
	return loadPerson{token: tok.Value, register: appendRegistration(buf[:0], i, uuid.New())}, nil
}

// loadMobile is citizen i's mobile number, as appendRegistration writes it.
func loadMobile(i int) string { return fmt.Sprintf("9%09d", i) }

// appendRegistration appends citizen i's registration request, with the
// request id given. Every value is plain ASCII, so none needs escaping.
func appendRegistration(b []byte, i int, requestID uuid.UUID) []byte {
	pad := func(b []byte, v, width int) []byte { // v in decimal, width digits at least
		var digits [20]byte
		d := strconv.AppendInt(digits[:0], int64(v), 10)
		for range width - len(d) {
			b = append(b, '0')
		}
		return append(b, d...)
	}
	b = append(b, `{"request_id":"`...)
	b = append(b, requestID.String()...)
	b = append(b, `","mobile":"9`...)
	b = pad(b, i, 9)
	b = append(b, `","name":"Load Test Person `...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","birth_date":"`...)
	b = strconv.AppendInt(b, int64(1940+i%60), 10)
	b = append(b, '-')
	b = pad(b, 1+i%12, 2)
	b = append(b, '-')
	b = pad(b, 1+i%28, 2)
	b = append(b, `","gender":"`...)
	b = append(b, "FMO"[i%3])
	b = append(b, `","id_type":"aadhaar","id_number":"5`...)
	b = pad(b, i, 11)
	return append(b, `","state":"Maharashtra","district":"Pune","pincode":"411001"}`...)
}

const loadVaccine = "Covishield"

// beneficiaryIDLen is the length of a beneficiary id (ledger.ValidBeneficiaryID).
const beneficiaryIDLen = 18

// runLoadtest runs both parts against a server on cfg.Dir.
func (m *Main) runLoadtest(ctx context.Context, cfg loadConfig) (loadReport, error) {
	rep := loadReport{Refusals: map[string]int{}}
	setupStart := time.Now()

	// The ledger starts with the vaccine's policy; the people's tokens
	// are minted with the server's own token secret, as sign-in would.
	people, official, err := m.prepareLoadLedger(ctx, cfg)
	if err != nil {
		return rep, err
	}
	racers := make([]loadPerson, cfg.Booked+cfg.Clients)
	for i := range racers {
		if racers[i], err = people.person(i, nil); err != nil {
			return rep, err
		}
	}

	// The server, as serve runs it, logging to a file.
	addr, err := freeAddr()
	if err != nil {
		return rep, err
	}
	logPath := filepath.Join(cfg.Dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return rep, err
	}
	defer logFile.Close()
	// The server runs in this process, or with --crash as a child that is
	// killed with SIGKILL after the burst.
	serverArgs := []string{"--data", cfg.Dir, "--log-json", "serve", "--addr", addr}
	var pprofAddr string
	if cfg.ServerCPUProfile != "" || cfg.ServerProfiles != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return rep, err
		}
		serverArgs = append(serverArgs, "--pprof-addr", pprofAddr)
	}
	served := make(chan error, 1)
	var stop func() error
	var child *exec.Cmd
	if cfg.Crash {
		if child, err = cfg.childServer(serverArgs); err != nil {
			return rep, err
		}
		child.Stdout, child.Stderr = io.Discard, logFile
		if err := child.Start(); err != nil {
			return rep, fmt.Errorf("start the server: %w", err)
		}
		go func() { served <- child.Wait() }()
		killed := false
		stop = func() error {
			if !killed {
				killed = true
				child.Process.Kill() // SIGKILL: nothing is flushed or closed
				<-served
			}
			return nil
		}
	} else {
		srvCtx, stopServer := context.WithCancel(ctx)
		defer stopServer()
		go func() { served <- NewMain(io.Discard, logFile).Run(srvCtx, serverArgs) }()
		stopped := false
		stop = func() error {
			if stopped {
				return nil
			}
			stopped = true
			stopServer()
			return <-served
		}
	}
	defer stop()

	transport := &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: max(cfg.Clients, cfg.Concurrency) + 16,
		IdleConnTimeout: time.Minute, DisableCompression: true}
	defer transport.CloseIdleConnections()
	c := &loadClient{base: "http://" + addr, http: &http.Client{Transport: transport, Timeout: 2 * time.Minute}}
	if err := waitHealthy(ctx, c, served); err != nil {
		return rep, err
	}

	// A session two days ahead, with --booked seats taken before the race.
	date := ledger.DateOf(time.Now().AddDate(0, 0, 2))
	rep.Capacity = cfg.Booked + cfg.Seats
	var sess struct {
		ID string `json:"id"`
	}
	code, msg, err := c.post(ctx, "/api/v1/sessions", official, map[string]any{
		"site_id": "MH-PUN-0001", "site_name": "Medical College Pune 1", "state": "Maharashtra", "district": "Pune",
		"pincode": "411001", "date": date, "vaccine": loadVaccine, "capacity": map[string]int{"1": rep.Capacity},
		"slots": []string{"09:00-13:00", "13:00-17:00"}}, &sess)
	if err != nil || code != http.StatusCreated {
		return rep, fmt.Errorf("publish the session: %d %s %v", code, msg, err)
	}
	rep.SessionID = sess.ID
	if err := parallel(ctx, 64, len(racers), func(i int) error {
		return registerOne(ctx, c, &racers[i])
	}); err != nil {
		return rep, fmt.Errorf("register the race's people: %w", err)
	}
	if err := parallel(ctx, 64, cfg.Booked, func(i int) error {
		code, msg, err := c.post(ctx, "/api/v1/bookings", racers[i].token,
			map[string]any{"beneficiary_id": racers[i].id, "session_id": sess.ID}, nil)
		if err == nil && code != http.StatusCreated {
			err = fmt.Errorf("%d %s", code, msg)
		}
		return err
	}); err != nil {
		return rep, fmt.Errorf("book the first %d seats: %w", cfg.Booked, err)
	}
	rep.SetupElapsed = time.Since(setupStart)

	// The race. Every client has a connection open before the start, so
	// that the race is for seats, not for TCP handshakes.
	clients := racers[cfg.Booked:]
	if err := parallel(ctx, len(clients), len(clients), func(int) error {
		code, _, err := c.get(ctx, "/readyz", nil)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("readyz answered %d", code)
		}
		return err
	}); err != nil {
		return rep, fmt.Errorf("open the race's connections: %w", err)
	}
	type answer struct {
		code    int
		msg     string
		elapsed time.Duration
		err     error
	}
	answers := make([]answer, len(clients))
	startGun := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			<-startGun
			t := time.Now()
			code, msg, err := c.post(ctx, "/api/v1/bookings", clients[i].token,
				map[string]any{"beneficiary_id": clients[i].id, "session_id": sess.ID}, nil)
			answers[i] = answer{code, msg, time.Since(t), err}
		})
	}
	stopProfile, err := startCPUProfile(cfg.RaceCPUProfile)
	if err != nil {
		return rep, err
	}
	raceStart := time.Now()
	close(startGun)
	wg.Wait()
	rep.RaceElapsed = time.Since(raceStart)
	stopProfile()
	lat := make([]time.Duration, 0, len(answers))
	for _, a := range answers {
		lat = append(lat, a.elapsed)
		switch {
		case a.err != nil:
			rep.Refusals["transport error: "+a.err.Error()]++
		case a.code == http.StatusCreated:
			rep.Booked++
		default:
			code, _, _ := strings.Cut(a.msg, ":")
			rep.Refusals[fmt.Sprintf("%d %s", a.code, code)]++
		}
	}
	rep.RaceLatency = summarize(lat)
	var list struct {
		Sessions []struct {
			ID    string `json:"id"`
			Seats []struct {
				Dose, Capacity, Taken int
			} `json:"seats"`
		} `json:"sessions"`
	}
	if code, msg, err := c.get(ctx, "/api/v1/sessions?district=Pune&date="+date, &list); err != nil || code != http.StatusOK {
		return rep, fmt.Errorf("list sessions: %d %s %v", code, msg, err)
	}
	for _, s := range list.Sessions {
		for _, seat := range s.Seats {
			if s.ID == sess.ID && seat.Dose == 1 {
				rep.TakenAPI = seat.Taken
			}
		}
	}

	// The burst: people numbered after the race's.
	first := len(racers)
	var (
		next   atomic.Int64
		failMu sync.Mutex                                          // guards Registered, Failed and FirstFailure
		took   = make([]time.Duration, cfg.Registrations)          // by request; zero for one not sent
		ids    = make([][beneficiaryIDLen]byte, cfg.Registrations) // beneficiary ids the server gave
	)
	if stopProfile, err = startCPUProfile(cfg.CPUProfile); err != nil {
		return rep, err
	}
	if cfg.MutexProfile != "" {
		runtime.SetMutexProfileFraction(1)
	}
	// Each client's connection is open before the clock starts, as a
	// keep-alive client's would be.
	conns := make([]*burstConn, cfg.Concurrency)
	if err := parallel(ctx, 64, cfg.Concurrency, func(w int) (err error) {
		conns[w], err = dialBurst(ctx, addr)
		return err
	}); err != nil {
		return rep, fmt.Errorf("connect the burst's clients: %w", err)
	}
	closeConns := func() {
		for _, bc := range conns {
			if bc != nil {
				bc.Close()
			}
		}
	}
	defer closeConns()
	serverProfile := make(chan error, 1)
	if pprofAddr != "" {
		length := time.Duration(float64(cfg.Registrations) / cfg.Rate * float64(time.Second))
		if cfg.ServerProfiles != "" {
			go func() { serverProfile <- profileByMinute(ctx, "http://"+pprofAddr, length, cfg.ServerProfiles) }()
		} else {
			go func() { serverProfile <- fetchCPUProfile(ctx, "http://"+pprofAddr, length, cfg.ServerCPUProfile) }()
		}
	} else {
		serverProfile <- nil
	}
	burstStart, cpuStart := time.Now(), processCPU()
	stopWatch := watchFreeMemory()
	var serverCPUStart time.Duration
	if child != nil {
		serverCPUStart = procCPU(child.Process.Pid)
	}
	for w := range cfg.Concurrency {
		wg.Go(func() {
			var buf []byte
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.Registrations || ctx.Err() != nil {
					return
				}
				p, err := people.person(first+i, buf)
				buf = p.register
				t := time.Now()
				if cfg.Rate > 0 {
					t = burstStart.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
					if !sleepUntil(ctx, t) {
						return
					}
				}
				if err == nil {
					err = conns[w].register(ctx, &p)
				}
				copy(ids[i][:], p.id)
				took[i] = time.Since(t)
				failMu.Lock()
				if err == nil {
					rep.Registered++
				} else {
					if rep.Failed == 0 {
						rep.FirstFailure = err.Error()
					}
					rep.Failed++
				}
				failMu.Unlock()
			}
		})
	}
	wg.Wait()
	rep.BurstElapsed, rep.BurstCPU = time.Since(burstStart), processCPU()-cpuStart
	rep.FreeMemory, rep.GeneratorPeakRSS = stopWatch(), procPeakRSS(os.Getpid())
	closeConns()
	if child != nil {
		// This process is the load generator alone; the server's CPU is
		// the child's.
		rep.GeneratorCPU = rep.BurstCPU
		if end := procCPU(child.Process.Pid); end > 0 && serverCPUStart > 0 {
			rep.ServerCPU = end - serverCPUStart
			rep.BurstCPU += rep.ServerCPU
			rep.ServerPeakRSS = procPeakRSS(child.Process.Pid)
		}
	}
	stopProfile()
	if err := <-serverProfile; err != nil {
		return rep, err
	}
	if cfg.MutexProfile != "" {
		runtime.SetMutexProfileFraction(0)
		if err := writeProfile("mutex", cfg.MutexProfile); err != nil {
			return rep, err
		}
	}
	if cfg.MemProfile != "" {
		runtime.GC() // the profile shows the heap as of the last collection
		if err := writeProfile("heap", cfg.MemProfile); err != nil {
			return rep, err
		}
	}
	rep.BurstLatency = summarize(sent(took))
	for k := range rep.BurstTenths {
		rep.BurstTenths[k] = summarize(sent(took[k*len(took)/10 : (k+1)*len(took)/10]))
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}

	if rep.Engine, err = scrapeEngine(ctx, c.http, c.base); err != nil {
		return rep, err
	}
	if cfg.Registrations > 0 {
		// Reading the day back takes about as long as its burst: the
		// burst's figures are known now.
		m.Log.Info("registration burst over; reading back every acknowledged registration",
			"latency", rep.BurstLatency.String(), "p99_by_tenth_ms", tenthsP99(rep.BurstTenths), "failed", rep.Failed,
			"free_memory", rep.FreeMemory.String())
	}

	// Shut the server down (or kill it), then read back what it
	// acknowledged.
	transport.CloseIdleConnections()
	if err := stop(); err != nil {
		return rep, fmt.Errorf("the server stopped with an error: %w", err)
	}
	if st, err := os.Stat(logPath); err == nil {
		rep.ServerLogBytes = st.Size()
	}
	return rep, m.readBack(ctx, cfg, ids, &rep)
}

// childServer returns the command that runs the server as a child.
func (cfg loadConfig) childServer(args []string) (*exec.Cmd, error) {
	if cfg.ServerCommand != nil {
		return cfg.ServerCommand(args)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("--crash runs this program as the server: %w", err)
	}
	return exec.Command(exe, args...), nil
}

// prepareLoadLedger creates the ledger in cfg.Dir with the vaccine's
// policy, and returns the maker of the test's people, and an official's
// token.
func (m *Main) prepareLoadLedger(ctx context.Context, cfg loadConfig) (people loadPeople, official string, err error) {
	sm := &Main{Stdout: io.Discard, Stderr: io.Discard, Config: Config{DataDir: cfg.Dir}, Log: slog.New(slog.DiscardHandler)}
	l, err := sm.openLedger(time.Now)
	if err != nil {
		return people, "", err
	}
	defer l.Close()
	if err := l.Handler.SetPolicy(ctx, uuid.New(), ledger.DefaultPolicy(loadVaccine, "2021-01-16"), "official:loadtest"); err != nil {
		return people, "", err
	}
	// serve signs tokens with this secret of the key store (signIn).
	secret, err := l.Keys.Secret("api-token", auth.SecretLen)
	if err != nil {
		return people, "", err
	}
	tokens, err := auth.NewTokens(secret, nil)
	if err != nil {
		return people, "", err
	}
	// The server checks a staff token's role against its staff list.
	dir, err := auth.OpenDirectory(sm.staffPath())
	if err != nil {
		return people, "", err
	}
	if err := dir.Add(loadOfficial); err != nil {
		return people, "", err
	}
	tok, err := tokens.Issue(auth.Principal{Role: auth.Official, ID: loadOfficial.ID, Name: loadOfficial.Name})
	if err != nil {
		return people, "", err
	}
	return loadPeople{tokens: tokens, hasher: l.Hasher}, tok.Value, nil
}

// loadOfficial publishes the load test's session.
var loadOfficial = auth.Member{ID: "loadtest", Name: "Load test", Mobile: "9000000000", Roles: []auth.Role{auth.Official}}

// registerOne registers p through the API and keeps their id.
func registerOne(ctx context.Context, c *loadClient, p *loadPerson) error {
	var out struct {
		BeneficiaryID string `json:"beneficiary_id"`
	}
	code, msg, err := c.post(ctx, "/api/v1/beneficiaries", p.token, p.register, &out)
	if err != nil {
		return err
	}
	if code != http.StatusCreated || !ledger.ValidBeneficiaryID(out.BeneficiaryID) {
		return fmt.Errorf("register answered %d %s", code, msg)
	}
	p.id = out.BeneficiaryID
	return nil
}

// readBack opens the ledger the server left and counts the acknowledged
// registrations in it, and the session's seats.
func (m *Main) readBack(ctx context.Context, cfg loadConfig, ids [][beneficiaryIDLen]byte, rep *loadReport) error {
	sm := &Main{Stdout: io.Discard, Stderr: io.Discard, Config: Config{DataDir: cfg.Dir}, Log: slog.New(slog.DiscardHandler)}
	l, err := sm.openLedger(time.Now)
	if err != nil {
		return err
	}
	defer l.Close()
	if rep.Events, err = l.Store.LastPosition(ctx); err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	if isTerminal(m.Stderr) && len(ids) > 0 {
		bar = progressbar.NewOptions(len(ids), progressbar.OptionSetWriter(m.Stderr),
			progressbar.OptionSetDescription("reading back"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("registrations"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth(), progressbar.OptionClearOnFinish())
		defer bar.Finish()
	}
	// Each worker reads every n-th person: the store and the key store
	// serve concurrent reads, and a day's 13.2 million take minutes.
	var durable atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		g.Go(func() error {
			for i := w; i < len(ids); i += workers {
				if bar != nil && i%1024 == 0 { // each multiple of 1024 is one worker's
					bar.Add(min(1024, len(ids)-i))
				}
				if ids[i] == ([beneficiaryIDLen]byte{}) {
					continue // not acknowledged
				}
				ok, err := readsBack(gctx, l, string(ids[i][:]))
				if err != nil {
					return err
				}
				if ok {
					durable.Add(1)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	rep.Durable = int(durable.Load())
	for e, err := range l.Store.ReadStream(ctx, ledger.SessionStream(rep.SessionID), ledger.ReadOptions{}) {
		if err != nil {
			return err
		}
		p, err := ledger.Decode(e)
		if err != nil {
			return err
		}
		switch p.(type) {
		case *ledger.SeatReserved:
			rep.TakenLedger++
		case *ledger.SeatReleased:
			rep.TakenLedger--
		}
	}
	return nil
}

// readsBack reports whether person id's registration is the first event
// of their stream, and its sealed details open with their key.
func readsBack(ctx context.Context, l *ledgerHandle, id string) (bool, error) {
	for e, err := range l.Store.ReadStream(ctx, ledger.BeneficiaryStream(id), ledger.ReadOptions{Max: 1}) {
		if err != nil {
			return false, err
		}
		r, err := ledger.Decode(e)
		if err != nil {
			return false, nil
		}
		reg, ok := r.(*ledger.BeneficiaryRegistered)
		return ok && reg.BeneficiaryID == id && opens(ctx, l.Keys, reg), nil
	}
	return false, nil
}

// opens reports whether reg's sealed details open with its person's key
// from the key store: the key was made durable with the registration.
func opens(ctx context.Context, keys ledger.Keys, reg *ledger.BeneficiaryRegistered) bool {
	key, err := keys.Key(ctx, reg.BeneficiaryID)
	if err != nil {
		return false
	}
	var p ledger.Personal
	return reg.Personal.Open(key, reg.BeneficiaryID, &p) == nil
}

// startCPUProfile starts a CPU profile to path, if not empty, and
// returns the function that stops it.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitHealthy waits for the server to answer /healthz, or to fail.
func waitHealthy(ctx context.Context, c *loadClient, served <-chan error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		code, _, err := c.get(ctx, "/healthz", nil)
		if err == nil && code == http.StatusOK {
			return nil
		}
		select {
		case err := <-served:
			return fmt.Errorf("the server stopped before answering: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("the server did not answer /healthz within a minute")
		}
	}
}

// parallel runs fn(0..n-1) on at most workers goroutines and returns the
// first error.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	var (
		next  atomic.Int64
		mu    sync.Mutex // guards first
		first error
		wg    sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// freeAddr returns a loopback address with a port free to listen on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
