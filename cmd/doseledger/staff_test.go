package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestStaff_AddListAndRefuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not made yet: staff is the first command run
	if _, stderr, err := run(t, "--data", dir, "staff", "add", "--id", "ravi", "--name", "Ravi Kumar", "--mobile", "+91 90000 00002", "--role", "official,auditor"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, _, err := run(t, "--data", dir, "staff", "list")
	if err != nil || !strings.Contains(out, "ravi") || !strings.Contains(out, "9000000002") || !strings.Contains(out, "official,auditor") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"staff", "add", "--id", "x", "--name", "X", "--mobile", "9000000003", "--role", "citizen"},
		{"staff", "add", "--id", "x", "--name", "X", "--mobile", "9000000003", "--role", "root"},
		{"staff", "add", "--id", "x", "--name", "X", "--mobile", "123", "--role", "admin"},
		{"staff", "fire", "--id", "ravi"},
	} {
		if _, _, err := run(t, append([]string{"--data", dir}, bad...)...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	// add never replaces: a mistyped id would hand over someone's roles.
	if _, _, err := run(t, "--data", dir, "staff", "add", "--id", "ravi", "--name", "R", "--mobile", "9000000004", "--role", "admin"); err == nil {
		t.Error("add replaced ravi")
	}
	if _, stderr, err := run(t, "--data", dir, "staff", "set", "--id", "ravi", "--role", "official"); err != nil {
		t.Fatalf("set: %v\n%s", err, stderr)
	}
	out, _, _ = run(t, "--data", dir, "staff", "list")
	if !strings.Contains(out, "Ravi Kumar") || strings.Contains(out, "auditor") {
		t.Errorf("after set --role official, the name kept and auditor gone:\n%s", out)
	}
	for _, bad := range [][]string{
		{"staff", "set", "--id", "meera", "--role", "auditor"}, // not listed
		{"staff", "set", "--id", "ravi"},                       // nothing to change
		{"staff", "remove", "--id", "meera"},
	} {
		if _, _, err := run(t, append([]string{"--data", dir}, bad...)...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, stderr, err := run(t, "--data", dir, "staff", "remove", "--id", "ravi"); err != nil {
		t.Fatalf("remove: %v\n%s", err, stderr)
	}
	if out, _, _ = run(t, "--data", dir, "staff", "list"); strings.Contains(out, "ravi") {
		t.Errorf("after remove:\n%s", out)
	}
	if fi, err := os.Stat(filepath.Join(dir, "staff.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("staff.json: %v %v, want mode 0600", fi, err)
	}
}

// TestServe_StaffSignIn signs a staff member in against a real server,
// reading the OTP from the outbox file as an operator would.
func TestServe_StaffSignIn(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, err := run(t, "--data", dir, "staff", "add", "--id", "ravi", "--name", "Ravi Kumar", "--mobile", "9000000002", "--role", "official"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	base, _, errb := startServe(t, dir)
	post := func(path, body, token string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return send(t, req)
	}
	if status, _ := post("/api/v1/auth/otp", `{"mobile":"9000000002"}`, ""); status != http.StatusAccepted {
		t.Fatalf("otp: %d\n%s", status, errb.String())
	}
	code := lastOTP(t, filepath.Join(dir, "outbox.ndjson"), "9000000002")
	if !strings.Contains(errb.String(), code) || strings.Contains(errb.String(), "9000000002") {
		t.Errorf("the log should carry the code and only a masked number:\n%s", errb.String())
	}
	status, tok := post("/api/v1/auth/token", `{"mobile":"9000000002","otp":"`+code+`","role":"official"}`, "")
	if status != http.StatusOK || tok["actor"] != "official:ravi" {
		t.Fatalf("token: %d %v", status, tok)
	}
	get := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/coverage", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		s, _ := send(t, req)
		return s
	}
	if s := get(tok["token"].(string)); s != http.StatusOK {
		t.Errorf("coverage as an official: %d", s)
	}
	if s := get(""); s != http.StatusUnauthorized {
		t.Errorf("coverage without a token: %d", s)
	}
}

func send(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var body map[string]any
	json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// lastOTP reads the newest code sent to mobile from the outbox file.
func lastOTP(t *testing.T, path, mobile string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var code string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var line struct{ Kind, To, Text string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Kind == "otp" && line.To == mobile {
			code, _, _ = strings.Cut(line.Text, " ")
		}
	}
	if len(code) != 6 {
		t.Fatalf("no OTP for %s in %s:\n%s", mobile, path, b)
	}
	return code
}

// syncWriter is a buffer the server's goroutines may write to while the
// test reads it.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
