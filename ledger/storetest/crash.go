package storetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// Environment of the crash child. Only a test binary's TestMain reads them,
// through CrashChild.
const (
	crashDirEnv   = "STORETEST_CRASH_DIR"
	crashRoundEnv = "STORETEST_CRASH_ROUND"
)

// Shape of the crash child's load.
const (
	crashWriters    = 24 // goroutines appending to their own streams
	crashHotWriters = 8  // goroutines appending to one stream with expected revisions
	crashHotStream  = "crash-hot"
	crashRounds     = 3
	crashChildLimit = 60 * time.Second // the child stops by itself after this
)

// CrashChild runs the child process of RunCrash and exits, if the
// environment asks for it; otherwise it returns at once. A backend's
// TestMain calls it before anything else, with the same open function it
// gives RunCrash.
func CrashChild(open func(dir string) (ledger.Store, error)) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	round, _ := strconv.Atoi(os.Getenv(crashRoundEnv))
	if err := runCrashChild(dir, round, open); err != nil {
		fmt.Fprintf(os.Stderr, "crash child: %v\n", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// runCrashChild appends from many goroutines until it is killed, printing
// a line "ack <stream> <revision> <id>" for each event only after the
// Append holding it returned nil.
func runCrashChild(dir string, round int, open func(dir string) (ledger.Store, error)) error {
	s, err := open(dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), crashChildLimit)
	defer cancel()

	var outMu sync.Mutex // serialises writes to stdout, one write per append
	ack := func(stream string, res ledger.AppendResult, evs []ledger.Proposed) {
		var b []byte
		for i, e := range evs {
			rev := res.Revision - ledger.Revision(len(evs)-1-i)
			b = fmt.Appendf(b, "ack %s %d %s\n", stream, rev, e.ID)
		}
		outMu.Lock()
		defer outMu.Unlock()
		os.Stdout.Write(b)
	}

	errc := make(chan error, crashWriters+crashHotWriters)
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				stream := fmt.Sprintf("crash-r%d-w%d-%d", round, w, i/4)
				evs := NewEvents("DoseAdministered", 1+i%3)
				res, err := s.Append(ctx, stream, ledger.Any(), evs...)
				if err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("append %s: %w", stream, err)
					}
					return
				}
				ack(stream, res, evs)
			}
		})
	}
	for range crashHotWriters {
		wg.Go(func() {
			for ctx.Err() == nil {
				rev, ok, err := s.StreamHead(ctx, crashHotStream)
				if err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("stream head: %w", err)
					}
					return
				}
				evs := []ledger.Proposed{NewEvent("DoseAdministered", int(rev))}
				res, err := s.Append(ctx, crashHotStream, ledger.ExpectAfter(rev, ok), evs...)
				if errors.Is(err, ledger.ErrWrongRevision) {
					continue
				}
				if err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("append %s: %w", crashHotStream, err)
					}
					return
				}
				ack(crashHotStream, res, evs)
			}
		})
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	wg.Wait()
	return s.Close()
}

// crashAck is an event the crash child acknowledged.
type crashAck struct {
	stream string
	rev    ledger.Revision
}

// RunCrash checks that a store keeps every acknowledged append when its
// process is killed. In each of a few rounds on the same directory it runs
// the test binary again as a child process (which must call CrashChild from
// TestMain) that appends from many goroutines and prints each event it got
// acknowledged, kills it with SIGKILL after a random number of
// acknowledgements, reopens the store with open and checks that every
// acknowledged event is there at its stream and revision, that the log has
// strictly increasing positions and streams have no gaps, and that the
// store takes new appends.
func RunCrash(t *testing.T, open func(dir string) (ledger.Store, error)) {
	if testing.Short() {
		t.Skip("crash test runs child processes; skipped in short mode")
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	t.Logf("crash test seed %d", seed)
	name := strings.SplitN(t.Name(), "/", 2)[0]

	acked := map[ledger.EventID]crashAck{}
	for round := 1; round <= crashRounds; round++ {
		target := 200 + rng.IntN(3000)
		n := runCrashRound(t, dir, name, round, target, acked)
		t.Logf("round %d: killed the child at %d acknowledgements, %d read from it in all; %d acknowledged over all rounds", round, target, n, len(acked))

		s, err := open(dir)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		checkAfterCrash(t, s, acked)
		s.Close()
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}
	}
}

// runCrashRound runs one child, kills it after target acknowledgements and
// records the acknowledged events. It returns how many the child printed.
func runCrashRound(t *testing.T, dir, testName string, round, target int, acked map[ledger.EventID]crashAck) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(testName)+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start crash child: %v", err)
	}
	var killOnce sync.Once
	killed := false
	kill := func() {
		killOnce.Do(func() {
			killed = true
			cmd.Process.Kill() // SIGKILL: no chance to flush or close anything
		})
	}
	// A child too slow to reach target is killed all the same.
	watchdog := time.AfterFunc(15*time.Second, kill)
	waited := false
	defer func() {
		watchdog.Stop()
		if !waited {
			kill()
			cmd.Wait()
		}
	}()

	n := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		// Every line counts, including those still in the pipe after the
		// kill: each was printed after its Append returned nil.
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "ack" {
			kill()
			t.Fatalf("round %d: bad line from crash child: %q", round, sc.Text())
		}
		rev, err1 := strconv.ParseUint(f[2], 10, 64)
		id, err2 := parseEventID(f[3])
		if err1 != nil || err2 != nil {
			kill()
			t.Fatalf("round %d: bad line from crash child: %q", round, sc.Text())
		}
		if _, dup := acked[id]; dup {
			kill()
			t.Fatalf("round %d: event %s acknowledged twice", round, id)
		}
		acked[id] = crashAck{stream: f[1], rev: ledger.Revision(rev)}
		if n++; n == target {
			kill()
		}
	}
	err = cmd.Wait()
	waited = true
	if !killed {
		t.Fatalf("round %d: crash child exited by itself (%v) after %d acknowledgements; stderr:\n%s", round, err, n, stderr.String())
	}
	return n
}

func parseEventID(s string) (ledger.EventID, error) {
	var id ledger.EventID
	err := id.UnmarshalText([]byte(s))
	return id, err
}

// checkAfterCrash checks a reopened store against what was acknowledged,
// then appends to it.
func checkAfterCrash(t *testing.T, s ledger.Store, acked map[ledger.EventID]crashAck) {
	t.Helper()
	ctx := t.Context()
	byID := map[ledger.EventID]ledger.Event{}
	next := map[string]ledger.Revision{}
	var last ledger.Position
	for e, err := range s.ReadAll(ctx, ledger.Start, ledger.Filter{}, 0) {
		if err != nil {
			t.Fatalf("ReadAll after crash: %v", err)
		}
		if e.Position <= last {
			t.Fatalf("position %d follows %d", e.Position, last)
		}
		last = e.Position
		if _, dup := byID[e.ID]; dup {
			t.Fatalf("event %s is in the log twice", e.ID)
		}
		byID[e.ID] = e
		if e.Revision != next[e.Stream] {
			t.Fatalf("stream %s: revision %d follows %d", e.Stream, e.Revision, int64(next[e.Stream])-1)
		}
		next[e.Stream]++
	}
	if lp := MustLastPosition(t, s); lp != last {
		t.Errorf("LastPosition = %d, want the last read position %d", lp, last)
	}
	missing := 0
	for id, a := range acked {
		e, ok := byID[id]
		switch {
		case !ok:
			if missing++; missing <= 10 {
				t.Errorf("acknowledged event %s (%s@%d) is missing", id, a.stream, a.rev)
			}
		case e.Stream != a.stream || e.Revision != a.rev:
			t.Errorf("acknowledged event %s (%s@%d) is stored at %s@%d", id, a.stream, a.rev, e.Stream, e.Revision)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged events are missing", missing, len(acked))
	}
	for stream, n := range next {
		if rev, ok := MustStreamHead(t, s, stream); !ok || rev != n-1 {
			t.Errorf("StreamHead(%s) = %d, %v; want %d", stream, rev, ok, n-1)
		}
	}
	hot := MustReadStream(t, s, crashHotStream, ledger.ReadOptions{})
	for i, e := range hot {
		if e.Revision != ledger.Revision(i) {
			t.Fatalf("%s: event %d has revision %d", crashHotStream, i, e.Revision)
		}
	}

	// The store takes new appends, on the hot stream and on a new one.
	rev, ok := MustStreamHead(t, s, crashHotStream)
	e := NewEvent("DoseAdministered", 0)
	res := MustAppend(t, s, crashHotStream, ledger.ExpectAfter(rev, ok), e)
	if want := ledger.Revision(len(hot)); res.Revision != want || res.Position <= last {
		t.Errorf("append after restart = %+v, want revision %d after position %d", res, want, last)
	}
	acked[e.ID] = crashAck{stream: crashHotStream, rev: res.Revision}
	fresh := fmt.Sprintf("crash-after-%d", len(acked))
	e = NewEvent("DoseAdministered", 1)
	res = MustAppend(t, s, fresh, ledger.NoStream(), e)
	acked[e.ID] = crashAck{stream: fresh, rev: res.Revision}
}
