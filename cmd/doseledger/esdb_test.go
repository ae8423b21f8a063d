package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/esdbserver"
	"github.com/doseledger/doseledger/ledger/esdbstore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// TestMain_StoreESDB runs the commands with --store on a ledger served
// over EventStoreDB's gRPC protocol: seed writes through it, and events,
// replay and coverage read through it.
func TestMain_StoreESDB(t *testing.T) {
	ps, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- esdbserver.New(ps, esdbserver.Options{}).Serve(ctx, lis) }()
	t.Cleanup(func() { cancel(); <-done; ps.Close() })
	url := "esdb://" + lis.Addr().String() + "?tls=false"
	dir := t.TempDir()

	if _, _, err := run(t, "--data", dir, "--store", url, "seed", "--people", "30", "--days", "30", "--quiet"); err != nil {
		t.Fatal(err)
	}
	last, err := ps.LastPosition(t.Context())
	if err != nil || last == ledger.Start {
		t.Fatalf("the served store holds nothing after seeding through it (%d, %v)", last, err)
	}
	out, _, err := run(t, "--data", dir, "--store", url, "events", "--json", "--type", "DoseAdministered", "--limit", "3")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for sc := bufio.NewScanner(strings.NewReader(out)); sc.Scan(); n++ {
		var e ledger.Exported
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Type != "DoseAdministered" {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
	}
	if n != 3 {
		t.Errorf("events --limit 3 printed %d events", n)
	}
	if _, stderr, err := run(t, "--data", dir, "--store", url, "replay"); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr)
	}
	out, _, err = run(t, "--data", dir, "--store", url, "coverage")
	if err != nil || !strings.Contains(out, "DOSES") {
		t.Errorf("coverage: %v\n%s", err, out)
	}
	if _, _, err := run(t, "--store", "ftp://example", "events"); err == nil || !strings.Contains(err.Error(), "EventStoreDB connection string") {
		t.Errorf("--store ftp://: err = %v, want a refusal naming what is wanted", err)
	}
}

// TestMain_ServeESDBListen runs serve with --esdb-listen and reads the
// ledger from another Main through EventStoreDB's protocol while it runs.
func TestMain_ServeESDBListen(t *testing.T) {
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	httpAddr, esdbAddr := free(), free()
	dir := t.TempDir()
	if _, _, err := run(t, "--data", dir, "seed", "--people", "20", "--days", "20", "--quiet"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- NewMain(&out, &errb).Run(ctx, []string{"--data", dir, "serve", "--addr", httpAddr, "--esdb-listen", esdbAddr})
	}()
	var got string
	var err error
	for range 100 {
		if got, _, err = run(t, "--data", t.TempDir(), "--store", "esdb://"+esdbAddr+"?tls=false", "events", "--stream", "policy"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || !strings.Contains(got, "VaccinePolicyChanged") {
		t.Errorf("events through --esdb-listen: %v\n%s\n%s", err, got, errb.String())
	}
	// Without --esdb-writable the listener is for reading only.
	s, err := esdbstore.Open("esdb://"+esdbAddr+"?tls=false", esdbstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Append(t.Context(), "patient-x", ledger.Any(), storetest.NewEvent("DoseAdministered", 0))
	s.Close()
	if err == nil || !strings.Contains(err.Error(), "refused access") {
		t.Errorf("append through a read-only --esdb-listen: err = %v, want access refused", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve did not shut down cleanly: %v", err)
	}
}

func TestReadUsers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	users, err := readUsers(write("ok", "# auditors\nauditor:s3cret:with:colons\n\nops:pw\n"))
	if err != nil || len(users) != 2 || users["auditor"] != "s3cret:with:colons" {
		t.Errorf("readUsers = %v, %v", users, err)
	}
	for _, bad := range []string{"nocolon\n", ":pw\n", "user:\n", "# nobody\n"} {
		if _, err := readUsers(write("bad", bad)); err == nil {
			t.Errorf("readUsers(%q) = nil error, want one", bad)
		}
	}
	if _, err := readUsers(filepath.Join(dir, "missing")); err == nil {
		t.Error("readUsers of a missing file = nil error")
	}
}
