package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServe_ShutdownKeepsAcknowledgedWrites stops serve while clients are
// registering people as fast as they can, and checks that every
// registration the server answered 201 is in the ledger afterwards.
func TestServe_ShutdownKeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, err := run(t, "--data", dir, "staff", "add", "--id", "anita", "--name", "Anita Rao", "--mobile", "9000000001", "--role", "vaccinator"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	base, stop, _ := startServe(t, dir)
	token := apiSignIn(t, base, dir+"/outbox.ndjson", "9000000001", "vaccinator")

	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				n := w*100000 + i
				body := fmt.Sprintf(`{"mobile":"97%08d","name":"Person %d","birth_date":"1970-01-01","gender":"F","id_type":"aadhaar","id_number":"6%011d","state":"Goa","district":"North Goa","pincode":"403001"}`, n, n, n)
				req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/beneficiaries", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					return // the server has gone
				}
				var out struct {
					BeneficiaryID string `json:"beneficiary_id"`
				}
				json.NewDecoder(res.Body).Decode(&out)
				res.Body.Close()
				if res.StatusCode == http.StatusCreated {
					mu.Lock()
					acked = append(acked, out.BeneficiaryID)
					mu.Unlock()
				}
			}
		}()
	}
	// Let them write, then stop the server under them.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()

	out, stderr, err := run(t, "--data", dir, "events", "--json", "--type", "BeneficiaryRegistered", "--limit", "1000000")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	stored := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader([]byte(out)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct{ Stream string }
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			stored[strings.TrimPrefix(e.Stream, "beneficiary-")] = true
		}
	}
	for _, id := range acked {
		if !stored[id] {
			t.Errorf("registration %s was acknowledged but is not in the ledger", id)
		}
	}
	t.Logf("%d registrations acknowledged before the shutdown, %d in the ledger", len(acked), len(stored))
}
