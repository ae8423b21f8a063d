package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = NewMain(&out, &errb).Run(context.Background(), args)
	return out.String(), errb.String(), err
}

func TestMain_SeedThenEvents(t *testing.T) {
	dir := t.TempDir()
	out, _, err := run(t, "--data", dir, "seed", "--people", "60", "--days", "60", "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "registrations") || !strings.Contains(out, "events in") {
		t.Errorf("seed printed:\n%s", out)
	}
	if _, _, err := run(t, "--data", dir, "seed", "--people", "10", "--quiet"); err == nil || !strings.Contains(err.Error(), "empty ledger") {
		t.Errorf("seeding twice: err = %v, want a refusal naming the empty-ledger rule", err)
	}
	out, _, err = run(t, "--data", dir, "events", "--json", "--type", "DoseAdministered", "--limit", "5")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	var first ledger.Exported
	for sc.Scan() {
		var e ledger.Exported
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if e.Type != "DoseAdministered" {
			t.Errorf("--type filter let %s through", e.Type)
		}
		if n == 0 {
			first = e
		}
		n++
	}
	if n != 5 {
		t.Fatalf("--limit 5 printed %d events", n)
	}
	out, _, err = run(t, "--data", dir, "events", "--stream", first.Stream)
	if err != nil || !strings.Contains(out, "BeneficiaryRegistered") || !strings.Contains(out, "POSITION") {
		t.Errorf("events --stream %s: %v\n%s", first.Stream, err, out)
	}
}

func TestMain_Usage(t *testing.T) {
	_, stderr, err := run(t, "frobnicate")
	if !errors.Is(err, errUsage) || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %v\n%s", err, stderr)
	}
	for _, cmd := range []string{"serve", "seed", "events", "staff", "verify", "certificate", "replay", "due", "eligible", "coverage", "anomalies", "history", "asof", "export"} {
		_, stderr, err := run(t, cmd, "--help")
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "Usage: doseledger "+cmd) {
			t.Errorf("%s --help: %v\n%s", cmd, err, stderr)
		}
	}
	if _, _, err := run(t, "--log-level", "loud", "events"); err == nil {
		t.Error("a bad --log-level was accepted")
	}
}

func TestMain_ServeHealth(t *testing.T) {
	base, stop, _ := startServe(t, t.TempDir())
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]any
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health["status"] != "ok" {
		t.Errorf("healthz: %d %v", resp.StatusCode, health)
	}
	stop() // fails the test if serve does not shut down cleanly
}

// TestReadyz: not ready (503, saying how far the read models are) until
// they hold what the ledger held at start.
func TestReadyz(t *testing.T) {
	var at ledger.Position = 40
	h := readyz(func() ledger.Position { return at }, 41)
	for _, c := range []struct {
		at   ledger.Position
		code int
		body string
	}{{40, http.StatusServiceUnavailable, "catching up: read models at 40 of 41\n"}, {41, http.StatusOK, "ready\n"}, {42, http.StatusOK, "ready\n"}} {
		at = c.at
		w := httptest.NewRecorder()
		h(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if w.Code != c.code || w.Body.String() != c.body {
			t.Errorf("read models at %d: %d %q, want %d %q", c.at, w.Code, w.Body.String(), c.code, c.body)
		}
	}
}

func TestMain_EventsTailAndMistakes(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := run(t, "seed", "--data", dir, "--people", "30", "--days", "40", "--quiet"); err != nil {
		t.Fatalf("--data after the subcommand: %v", err)
	}
	all, _, err := run(t, "--data", dir, "events", "--json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(all), "\n")
	tail, _, err := run(t, "--data", dir, "events", "--json", "--tail", "3")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(tail), strings.Join(lines[len(lines)-3:], "\n"); got != want {
		t.Errorf("--tail 3:\n%s\nwant the last three of the log:\n%s", got, want)
	}
	// The last two events of the first person's stream, oldest first.
	var first ledger.Exported
	json.Unmarshal([]byte(lines[len(lines)/2]), &first)
	st, _, err := run(t, "--data", dir, "events", "--json", "--stream", first.Stream)
	if err != nil {
		t.Fatal(err)
	}
	sl := strings.Split(strings.TrimSpace(st), "\n")
	st2, _, err := run(t, "--data", dir, "events", "--json", "--stream", first.Stream, "--tail", "2")
	if err != nil || len(sl) < 2 || strings.TrimSpace(st2) != strings.Join(sl[len(sl)-2:], "\n") {
		t.Errorf("stream --tail 2 (err %v):\n%s\nwant:\n%s", err, st2, strings.Join(sl[max(0, len(sl)-2):], "\n"))
	}
	// Rows stay aligned: every row's TYPE column starts where the header's does.
	table, _, _ := run(t, "--data", dir, "events", "--limit", "100")
	rows := strings.Split(strings.TrimRight(table, "\n"), "\n")
	col := strings.Index(rows[0], "TYPE")
	for i, r := range rows[1:] {
		if len(r) < col || r[col-1] != ' ' || r[col] == ' ' {
			t.Fatalf("row %d is not aligned with the header:\n%s\n%s", i+1, rows[0], r)
		}
	}
	if out, stderr, _ := run(t, "--data", dir, "events", "--stream", "beneficiary-NOSUCH"); !strings.Contains(stderr, `stream "beneficiary-NOSUCH" has no events`) || out != "" {
		t.Errorf("missing stream: printed %q, said %q", out, stderr)
	}
	if _, _, err := run(t, "--data", dir, "events", "--type", "dose"); err == nil || !strings.Contains(err.Error(), "DoseAdministered") {
		t.Errorf("unknown type: %v", err)
	}
	if _, _, err := run(t, "--data"); !errors.Is(err, errUsage) {
		t.Errorf("--data without a value: %v, want a usage error", err)
	}
}

// TestMain lets a test run this binary as a second process that holds a
// ledger open until its standard input closes.
func TestMain(m *testing.M) {
	if dir := os.Getenv("DOSELEDGER_TEST_HOLD"); dir != "" {
		mm := NewMain(io.Discard, io.Discard)
		mm.Config.DataDir, mm.Log = dir, slog.New(slog.DiscardHandler)
		l, err := mm.openLedger(time.Now)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("holding")
		io.Copy(io.Discard, os.Stdin)
		l.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestMain_LedgerInUse(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "DOSELEDGER_TEST_HOLD="+dir)
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	defer stdin.Close()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "holding\n" {
		t.Fatalf("child: %q", line)
	}
	if _, _, err := run(t, "--data", dir, "events"); err == nil || !strings.Contains(err.Error(), "open in another doseledger process") {
		t.Errorf("open while another process holds the ledger: %v", err)
	}
}
