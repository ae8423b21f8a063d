package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// TestLoadtest_RaceAndBurst runs the load test small enough for the race
// detector: 300 clients for the last 20 seats, and a burst of 400
// registrations. It checks what the load test checks — exactly the seats
// left are booked, every other client is told session_full, the ledger
// holds the session's capacity, every acknowledged registration is
// durable — and never how fast: rates are for BENCHMARKS.md.
func TestLoadtest_RaceAndBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and makes about 1,000 requests")
	}
	cfg := loadConfig{Clients: 300, Seats: 20, Booked: 30, Registrations: 400, Concurrency: 32, Dir: t.TempDir()}
	rep := mustLoadtest(t, cfg)
	if rep.Booked != 20 || rep.Refusals["409 session_full"] != 280 || len(rep.Refusals) != 1 {
		t.Errorf("race: %d booked, refusals %v; want 20 booked and 280 session_full", rep.Booked, rep.Refusals)
	}
	if rep.Capacity != 50 || rep.TakenAPI != 50 || rep.TakenLedger != 50 {
		t.Errorf("session of %d seats: %d taken by the API, %d in the ledger; want 50 of 50", rep.Capacity, rep.TakenAPI, rep.TakenLedger)
	}
	if rep.Registered != 400 || rep.Durable != 400 || rep.Failed != 0 {
		t.Errorf("burst: %d registered, %d durable, %d failed (%s); want 400, 400, 0", rep.Registered, rep.Durable, rep.Failed, rep.FirstFailure)
	}
	if rep.BurstLatency.P50 <= 0 || rep.BurstLatency.P50 > rep.BurstLatency.P99 || rep.BurstLatency.P99 > rep.BurstLatency.Max {
		t.Errorf("latencies out of order: %+v", rep.BurstLatency)
	}
	var slowest time.Duration // of the tenths: the slowest request is in one of them
	for k, l := range rep.BurstTenths {
		if l.P50 <= 0 || l.P99 > l.Max || l.Max > rep.BurstLatency.Max {
			t.Errorf("tenth %d of the burst: %+v, whole burst %+v", k, l, rep.BurstLatency)
		}
		slowest = max(slowest, l.Max)
	}
	if slowest != rep.BurstLatency.Max {
		t.Errorf("slowest of the tenths %s, of the burst %s", slowest, rep.BurstLatency.Max)
	}
	if rep.ServerLogBytes == 0 {
		t.Error("the server logged nothing to server.log")
	}
	// 430 registrations and 50 bookings: each store's WAL took at least
	// a record for each.
	for _, store := range []string{"events", "events-index", "keys"} {
		if f := rep.Engine[store]; f.WAL < 480*32 {
			t.Errorf("engine metrics of %s: %+v; want its WAL to have taken at least 32 bytes an event", store, f)
		}
	}
	if _, ok := rep.Engine["read-models"]; !ok {
		t.Errorf("no engine metrics of the read models: %v", rep.Engine)
	}
}

// TestLoadtest_Rate sends the burst at a steady rate: the last request is
// not sent before its scheduled time, so the burst cannot end sooner, and
// every registration is still answered and durable.
func TestLoadtest_Rate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and makes about 300 requests")
	}
	cfg := loadConfig{Clients: 20, Seats: 2, Booked: 2, Registrations: 200, Concurrency: 8, Rate: 1000, Dir: t.TempDir()}
	rep := mustLoadtest(t, cfg)
	// The 200th request is scheduled 199 ms after the first.
	if rep.BurstElapsed < 199*time.Millisecond {
		t.Errorf("200 registrations at 1,000/s took %s; the last is not due before 199ms", rep.BurstElapsed)
	}
	if rep.Registered != 200 || rep.Durable != 200 {
		t.Errorf("burst: %d registered, %d durable; want 200 and 200", rep.Registered, rep.Durable)
	}
}

// childServer runs the server TestLoadtest_ServerChild runs, as a child
// process of the test binary.
func childServer(args []string) (*exec.Cmd, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadtest_ServerChild$")
	cmd.Env = append(os.Environ(), "DOSELEDGER_TEST_SERVE="+strings.Join(args, "\x1f"))
	return cmd, nil
}

// TestLoadtest_Crash kills the server (SIGKILL) straight after the burst:
// every registration it acknowledged must be in the ledger all the same.
func TestLoadtest_Crash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process and makes about 400 requests")
	}
	cfg := loadConfig{Clients: 40, Seats: 5, Booked: 5, Registrations: 300, Concurrency: 16, Dir: t.TempDir(), Crash: true,
		ServerCommand: childServer}
	rep := mustLoadtest(t, cfg)
	if rep.Registered != 300 || rep.Durable != 300 {
		t.Errorf("%d registered, %d in the ledger after the kill; want 300 and 300", rep.Registered, rep.Durable)
	}
	if runtime.GOOS == "linux" && (rep.ServerCPU <= 0 || rep.GeneratorCPU <= 0) {
		t.Errorf("server CPU %s, generator CPU %s: want both measured", rep.ServerCPU, rep.GeneratorCPU)
	}
	if f := rep.FreeMemory; runtime.GOOS == "linux" && (f.Start == 0 || f.Least == 0 || f.Least > f.Start || rep.GeneratorPeakRSS == 0) {
		t.Errorf("free memory %+v, generator's peak memory %d: want measured, the least no more than at the start", f, rep.GeneratorPeakRSS)
	}
}

// TestLoadtest_ServerProfile takes the server's CPU profile of the burst
// from its profiler (serve --pprof-addr), whole or minute by minute.
func TestLoadtest_ServerProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process and profiles it for a second")
	}
	cfg := loadConfig{Clients: 10, Seats: 2, Booked: 2, Registrations: 100, Concurrency: 8, Rate: 1000, Crash: true, ServerCommand: childServer}
	t.Run("whole", func(t *testing.T) {
		cfg := cfg
		cfg.Dir, cfg.ServerCPUProfile = t.TempDir(), filepath.Join(t.TempDir(), "server.pprof")
		mustLoadtest(t, cfg)
		checkGzipped(t, cfg.ServerCPUProfile)
	})
	t.Run("by minute", func(t *testing.T) {
		cfg := cfg
		cfg.Dir, cfg.ServerProfiles = t.TempDir(), filepath.Join(t.TempDir(), "profiles")
		mustLoadtest(t, cfg)
		// A tenth of a second's burst is one minute's window: one CPU
		// profile and one heap.
		names, err := filepath.Glob(filepath.Join(cfg.ServerProfiles, "*"))
		if err != nil || len(names) != 2 {
			t.Fatalf("profiles: %v, %v; want cpu-000.pprof and heap-000.pprof", names, err)
		}
		checkGzipped(t, filepath.Join(cfg.ServerProfiles, "cpu-000.pprof"))
		checkGzipped(t, filepath.Join(cfg.ServerProfiles, "heap-000.pprof"))
	})
}

// checkGzipped fails t unless path holds a profile: gzipped protocol
// buffers.
func checkGzipped(t *testing.T, path string) {
	t.Helper()
	if b, err := os.ReadFile(path); err != nil || len(b) < 64 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("%s: %d bytes, %v; want a gzipped profile", path, len(b), err)
	}
}

// TestLoadtest_ServerChild is the server TestLoadtest_Crash runs as a
// child process and kills; run on its own, it does nothing.
func TestLoadtest_ServerChild(t *testing.T) {
	args := os.Getenv("DOSELEDGER_TEST_SERVE")
	if args == "" {
		t.Skip("the server of TestLoadtest_Crash")
	}
	if err := NewMain(io.Discard, os.Stderr).Run(context.Background(), strings.Split(args, "\x1f")); err != nil {
		t.Fatal(err)
	}
}

// TestLoadtest_Problems checks that a run that overbooks, refuses
// wrongly or loses a registration is reported as failed.
func TestLoadtest_Problems(t *testing.T) {
	cfg := loadConfig{Seats: 10}
	good := loadReport{Capacity: 15, Booked: 10, Refusals: map[string]int{"409 session_full": 5}, TakenAPI: 15, TakenLedger: 15,
		Registered: 7, Durable: 7}
	if p := good.Problems(cfg); len(p) != 0 {
		t.Fatalf("a good run has problems: %v", p)
	}
	for name, bad := range map[string]func(*loadReport){
		"overbooked":    func(r *loadReport) { r.Booked, r.TakenLedger = 11, 16 },
		"wrong refusal": func(r *loadReport) { r.Refusals = map[string]int{"500 internal": 1} },
		"api count":     func(r *loadReport) { r.TakenAPI = 14 },
		"lost":          func(r *loadReport) { r.Durable = 6 },
		"failed":        func(r *loadReport) { r.Failed = 1 },
	} {
		r := good
		bad(&r)
		if len(r.Problems(cfg)) == 0 {
			t.Errorf("%s: no problem reported", name)
		}
	}
	if d := summarize(nil); d != (latency{}) {
		t.Errorf("summarize(nil) = %+v", d)
	}
	if l := summarize([]time.Duration{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}); l.P50 != 5 || l.P99 != 10 || l.Max != 10 {
		t.Errorf("summarize 1..10 = %+v, want p50 5, p99 10, max 10", l)
	}
}

func TestLoadtest_Flags(t *testing.T) {
	_, stderr, err := run(t, "loadtest", "--help")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "Usage: doseledger loadtest") {
		t.Errorf("loadtest --help: %v\n%s", err, stderr)
	}
	if _, _, err := run(t, "loadtest", "--seats", "0"); err == nil {
		t.Error("--seats 0 was accepted")
	}
	for _, rate := range []string{"-5", "0.001", "1e9"} {
		if _, _, err := run(t, "loadtest", "--rate", rate); err == nil {
			t.Errorf("--rate %s was accepted", rate)
		}
	}
}

// A tenth with no request in it (a burst of fewer than ten, or one cut
// short) shows as a dash, not as a latency of 0.0 ms.
func TestTenthsP99(t *testing.T) {
	var tenths [10]latency
	for i := range 9 {
		tenths[i] = summarize([]time.Duration{time.Duration(i+1) * time.Millisecond})
	}
	want := "1.0 2.0 3.0 4.0 5.0 6.0 7.0 8.0 9.0 – ms"
	if got := tenthsP99(tenths); got != want {
		t.Errorf("tenthsP99 = %q, want %q", got, want)
	}
}

// mustLoadtest runs the load test of cfg and fails t on any problem it
// reports.
func mustLoadtest(t *testing.T, cfg loadConfig) loadReport {
	t.Helper()
	m := &Main{Stdout: io.Discard, Stderr: io.Discard, Log: slog.New(slog.DiscardHandler)}
	rep, err := m.runLoadtest(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Problems(cfg); len(p) > 0 {
		t.Errorf("problems: %s\nreport: %+v", strings.Join(p, "; "), rep)
	}
	return rep
}

// TestAppendRegistration checks the burst's requests, made as they are
// sent, against the same request encoded by encoding/json.
func TestAppendRegistration(t *testing.T) {
	id := uuid.MustParse("0190f4c2-7b1d-7c3e-9a55-1234567890ab")
	for _, i := range []int{0, 7, 123456, 999_999_999, 13_200_000} {
		want, err := json.Marshal(map[string]any{
			"request_id": id.String(), "mobile": fmt.Sprintf("9%09d", i), "name": fmt.Sprintf("Load Test Person %d", i),
			"birth_date": fmt.Sprintf("%d-%02d-%02d", 1940+i%60, 1+i%12, 1+i%28), "gender": []string{"F", "M", "O"}[i%3],
			"id_type": "aadhaar", "id_number": fmt.Sprintf("5%011d", i), "state": "Maharashtra", "district": "Pune",
			"pincode": "411001"})
		if err != nil {
			t.Fatal(err)
		}
		got := appendRegistration([]byte("left over"), i, id)[len("left over"):]
		var g, w map[string]any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("person %d: %s is not JSON: %v", i, got, err)
		}
		json.Unmarshal(want, &w)
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("person %d (-encoding/json +appended):\n%s", i, diff)
		}
	}
}
