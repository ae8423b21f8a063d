package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"
)

// servePprof serves Go's profiler (net/http/pprof) on addr, apart from
// the API so that it is never exposed with it, until stop is called.
func (m *Main) servePprof(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	m.Log.Info("serving the profiler", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { srv.Close() }, nil
}

// fetchCPUProfile asks the profiler at base for a CPU profile of the next
// d and writes it to path.
func fetchCPUProfile(ctx context.Context, base string, d time.Duration, path string) error {
	seconds := max(int((d+time.Second-1)/time.Second), 1)
	return fetchProfile(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, seconds), "CPU", path)
}

// profileByMinute writes the CPU profile of each minute of the next d, and
// the heap at each minute's end, from the profiler at base into dir, so
// that a slow stretch can be compared with an ordinary one.
func profileByMinute(ctx context.Context, base string, d time.Duration, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := 0; d > 0; i++ {
		window := min(d, time.Minute)
		d -= window
		if err := fetchCPUProfile(ctx, base, window, filepath.Join(dir, fmt.Sprintf("cpu-%03d.pprof", i))); err != nil {
			return err
		}
		if err := fetchProfile(ctx, base+"/debug/pprof/heap", "heap", filepath.Join(dir, fmt.Sprintf("heap-%03d.pprof", i))); err != nil {
			return err
		}
	}
	return nil
}

// fetchProfile gets the profile (what names it in errors) at url and
// writes it to path.
func fetchProfile(ctx context.Context, url, what, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("server %s profile: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("server %s profile: %s: %s", what, resp.Status, msg)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, f.Close())
}
