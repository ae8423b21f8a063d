package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
	var first eventJSON
	for sc.Scan() {
		var e eventJSON
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
	for _, cmd := range []string{"serve", "seed", "events"} {
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- NewMain(&out, &errb).Run(ctx, []string{"--data", t.TempDir(), "serve", "--addr", addr})
	}()
	var resp *http.Response
	for i := 0; i < 100; i++ {
		if resp, err = http.Get("http://" + addr + "/healthz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server never answered: %v\n%s", err, errb.String())
	}
	var health map[string]any
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health["status"] != "ok" {
		t.Errorf("healthz: %d %v", resp.StatusCode, health)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve did not shut down cleanly: %v", err)
	}
}
