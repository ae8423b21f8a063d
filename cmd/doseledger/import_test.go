package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

// importNow is the clock of the parser tests: after every sample date.
var importNow = time.Date(2021, 6, 1, 12, 0, 0, 0, ledger.India)

const registerHeaderLine = "beneficiary_id,dose,vaccine,date,time,site_id,lot,vaccinator\n"

// mustLedgerDir makes a ledger in a temporary directory with the default
// Covishield policy and one registered person booked for dose 1 at
// MH-PUN-0001 tomorrow, and returns the directory and that person's id.
func mustLedgerDir(tb testing.TB) (dir, person string) {
	tb.Helper()
	dir = tb.TempDir()
	m := NewMain(&bytes.Buffer{}, &bytes.Buffer{})
	m.Config.DataDir, m.Log = dir, slog.New(slog.DiscardHandler)
	l, err := m.openLedger(time.Now)
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.Handler.SetPolicy(ctx, uuid.New(), ledger.DefaultPolicy("Covishield", "2021-01-16"), "official:test"); err != nil {
		tb.Fatal(err)
	}
	person, err = l.Handler.Register(ctx, command.Register{RequestID: uuid.New(), Mobile: "9876543210", Name: "Asha Verma",
		BirthDate: "1980-02-14", Gender: "F", IDType: "aadhaar", IDNumber: "234123412346", State: "Maharashtra",
		District: "Pune", Pincode: "411001"}, "citizen:test")
	if err != nil {
		tb.Fatal(err)
	}
	s, err := l.Handler.PublishSession(ctx, uuid.New(), ledger.SessionPublished{SiteID: "MH-PUN-0001", SiteName: "Pune 1",
		State: "Maharashtra", District: "Pune", Pincode: "411001", Date: ledger.DateOf(time.Now().AddDate(0, 0, 1)),
		Vaccine: "Covishield", Capacity: map[int]int{1: 10}, Slots: []string{"09:00-13:00"}}, "official:test")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := l.Handler.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: person, SessionID: s.SessionID}, "citizen:test"); err != nil {
		tb.Fatal(err)
	}
	return dir, person
}

// lastPosition opens the ledger in dir and returns its last position.
func lastPosition(tb testing.TB, dir string) ledger.Position {
	tb.Helper()
	m := NewMain(&bytes.Buffer{}, &bytes.Buffer{})
	m.Config.DataDir, m.Log = dir, slog.New(slog.DiscardHandler)
	l, err := m.openLedger(time.Now)
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	p, err := l.Store.LastPosition(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func writeFile(tb testing.TB, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "register.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func importJSON(t *testing.T, args ...string) (importReport, string, error) {
	t.Helper()
	out, stderr, err := run(t, args...)
	var rep importReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil && err == nil {
		t.Fatalf("import --json printed no JSON report: %v\n%s", jerr, out)
	}
	return rep, stderr, err
}

func statuses(rep importReport) []string {
	var s []string
	for _, r := range rep.Rows {
		s = append(s, r.Status)
	}
	return s
}

func TestImport_SampleTwiceRecordsNothingNew(t *testing.T) {
	dir, _ := mustLedgerDir(t)
	sample := filepath.Join("testdata", "paper-register.csv")
	before := lastPosition(t, dir)

	rep, _, err := importJSON(t, "--data", dir, "import", "--json", sample)
	if err != nil {
		t.Fatal(err)
	}
	// The sample's people are not registered in this ledger: every dose is
	// recorded, and flagged for review.
	if got, want := statuses(rep), []string{"flagged", "flagged", "flagged", "flagged", "flagged"}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v\n%+v", got, want, rep)
	}
	for _, r := range rep.Rows {
		if !slices.Contains(r.Anomalies, "unregistered") || r.Position == 0 {
			t.Errorf("row %d: %+v, want recorded and flagged unregistered", r.Row, r)
		}
	}
	if got, want := rep.Rows[4].EventID, "6f1c9a52-3b8e-4d0a-9c51-2f7e8a4b6d13"; got != want {
		t.Errorf("row 6's event id %s, want its event_id column, %s", got, want)
	}
	if rows := []int{rep.Rows[0].Row, rep.Rows[4].Row}; !slices.Equal(rows, []int{2, 6}) {
		t.Errorf("rows numbered %v, want a spreadsheet's numbers (header row 1)", rows)
	}
	afterFirst := lastPosition(t, dir)
	if afterFirst-before != 5 {
		t.Errorf("the import wrote %d events, want 5", afterFirst-before)
	}

	// Again, and in the text report: nothing new.
	out, _, err := run(t, "--data", dir, "import", sample)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "  already recorded  "); n != 5 {
		t.Errorf("second import: %d rows already recorded, want 5:\n%s", n, out)
	}
	if !strings.Contains(out, "imported 5 rows of testdata/paper-register.csv: 5 already recorded, 0 refused") {
		t.Errorf("summary line missing:\n%s", out)
	}
	if got := lastPosition(t, dir); got != afterFirst {
		t.Errorf("importing the same file again wrote %d events", got-afterFirst)
	}
	// The table is aligned: every row's STATUS starts where the header's does.
	lines := strings.Split(out, "\n")
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:6] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row not aligned with the header:\n%s\n%s", lines[0], l)
		}
	}
}

func TestImport_RulesBrokenAreFlaggedInTimeOrder(t *testing.T) {
	dir, person := mustLedgerDir(t)
	// Dose 1, booked, typed below dose 2, which came ten days after it:
	// dose 1 is recorded first all the same, and dose 2 is flagged too
	// early (the policy asks 28 days) and unbooked.
	day1, day2 := ledger.DateOf(time.Now().AddDate(0, 0, -20)), ledger.DateOf(time.Now().AddDate(0, 0, -10))
	file := writeFile(t, registerHeaderLine+
		person+",2,Covishield,"+day2+",10:00,MH-PUN-0001,L2,Nurse A\n"+
		person+",1,Covishield,"+day1+",10:00,MH-PUN-0001,L1,Nurse A\n"+
		",,,,,,,\n"+ // spreadsheets write empty rows: passed over
		person+",1,Covishield,"+day1+",10:00,MH-PUN-0001,L1-corrected,Nurse A\n")
	dry, _, err := importJSON(t, "--data", dir, "import", file, "--json", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := importJSON(t, "--data", dir, "import", file, "--json") // flags after the file too
	if err != nil {
		t.Fatal(err)
	}
	// The dry run said what the import then did, though nothing was
	// recorded when it looked (dose 2 is too early after the dose 1 below
	// it in the file; the corrected row duplicates it).
	checkDryRunSaid(t, dry, rep)
	if len(rep.Rows) != 3 {
		t.Fatalf("%d rows in the report, want 3 (the blank one passed over): %+v", len(rep.Rows), rep.Rows)
	}
	dose2, dose1, corrected := rep.Rows[0], rep.Rows[1], rep.Rows[2]
	if dose2.Row != 2 || dose1.Row != 3 || corrected.Row != 5 {
		t.Errorf("rows numbered %d, %d, %d, want 2, 3, 5", dose2.Row, dose1.Row, corrected.Row)
	}
	if dose1.Status != rowNew || dose1.Position >= dose2.Position {
		t.Errorf("dose 1 %+v, want new and recorded before dose 2 %+v", dose1, dose2)
	}
	if dose2.Status != rowFlagged || !slices.Contains(dose2.Anomalies, "too_early") {
		t.Errorf("dose 2 ten days after dose 1: %+v, want flagged too_early", dose2)
	}
	// A corrected row is another report: a new event id, recorded as a
	// duplicate of the first for a reviewer to void one.
	if corrected.EventID == dose1.EventID || corrected.Status != rowFlagged || corrected.DuplicateOf != dose1.EventID {
		t.Errorf("corrected row %+v, want a new event flagged as duplicate of %s", corrected, dose1.EventID)
	}
	out, _, _ := run(t, "--data", dir, "import", file)
	if !strings.Contains(out, "duplicate (of "+dose1.EventID+")") || !strings.Contains(out, "too_early") {
		t.Errorf("text report lacks the anomalies:\n%s", out)
	}
}

// checkDryRunSaid checks that each row of a dry run's report said what the
// import's report then did: would be recorded or flagged as it was, with
// the same anomalies.
func checkDryRunSaid(t *testing.T, dry, rep importReport) {
	t.Helper()
	wouldBe := map[string]string{rowWouldRecord: rowNew, rowWouldFlag: rowFlagged, rowAlready: rowAlready}
	if len(dry.Rows) != len(rep.Rows) {
		t.Fatalf("the dry run reported %d rows, the import %d", len(dry.Rows), len(rep.Rows))
	}
	for i, r := range rep.Rows {
		d := dry.Rows[i]
		if wouldBe[d.Status] != r.Status || !slices.Equal(d.Anomalies, r.Anomalies) || d.EventID != r.EventID ||
			d.DuplicateOf != r.DuplicateOf || d.State != r.State || d.District != r.District {
			t.Errorf("row %d: the dry run said %+v, the import did %+v", r.Row, d, r)
		}
	}
}

// A dry run counts the rows above as recorded: under a record merged into
// the person's, and the same row twice, which the import recognises.
func TestImport_DryRunMatchesImport(t *testing.T) {
	dir, person := mustLedgerDir(t)
	m := NewMain(&bytes.Buffer{}, &bytes.Buffer{})
	m.Config.DataDir, m.Log = dir, slog.New(slog.DiscardHandler)
	l, err := m.openLedger(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	twin, err := l.Handler.Register(ctx, command.Register{RequestID: uuid.New(), Mobile: "9876500000", Name: "Asha Verma",
		BirthDate: "1980-02-14", Gender: "F", IDType: "aadhaar", IDNumber: "234123412346", State: "Maharashtra",
		District: "Pune", Pincode: "411001"}, "citizen:test")
	if err != nil {
		t.Fatal(err)
	}
	if merged, err := l.Handler.Merge(ctx, person, twin, "same photo-ID number", "official:test"); err != nil || !merged {
		t.Fatalf("merge: %v %v", merged, err)
	}
	l.Close()
	day1, day2 := ledger.DateOf(time.Now().AddDate(0, 0, -40)), ledger.DateOf(time.Now().AddDate(0, 0, -5))
	file := writeFile(t, registerHeaderLine+
		twin+",1,Covishield,"+day1+",10:00,MH-PUN-0001,L1,Nurse A\n"+
		person+",2,Covishield,"+day2+",10:00,MH-PUN-0001,L2,Nurse A\n"+
		twin+",1,Covishield,"+day1+",10:00,MH-PUN-0001,L1,Nurse A\n")
	dry, _, err := importJSON(t, "--data", dir, "import", "--dry-run", "--json", file)
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := importJSON(t, "--data", dir, "import", "--json", file)
	if err != nil {
		t.Fatal(err)
	}
	checkDryRunSaid(t, dry, rep)
	if len(rep.Rows) == 3 && (rep.Rows[2].Status != rowAlready || slices.Contains(rep.Rows[1].Anomalies, "not_consecutive")) {
		t.Errorf("import: %+v, want the repeated row already recorded and dose 2 following the merged record's dose 1", rep.Rows)
	}
}

// Each row says where its dose counts; a dose no session, row or
// registration places is said to count nowhere, so the typist can add it.
func TestImport_SaysWhereEachDoseCounts(t *testing.T) {
	dir, person := mustLedgerDir(t)
	day := ledger.DateOf(time.Now().AddDate(0, 0, -3))
	file := writeFile(t, registerHeaderLine+
		person+",1,Covishield,"+day+",10:00,XX-NOW-0001,L1,Nurse A\n"+
		"ABCDEFGHIJKLMN23-1,1,Covishield,"+day+",10:00,XX-NOW-0001,L1,Nurse A\n")
	rep, _, err := importJSON(t, "--data", dir, "import", "--dry-run", "--json", file)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].State != "Maharashtra" || rep.Rows[0].District != "Pune" ||
		rep.Rows[1].State != "" || rep.Rows[1].District != "" {
		t.Fatalf("places: %+v, want the registered person's Pune, and none for the stranger", rep.Rows)
	}
	out, _, err := run(t, "--data", dir, "import", file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || strings.Contains(lines[1], "place unknown") || !strings.Contains(lines[2], "place unknown: add state and district columns") {
		t.Errorf("the report does not say which dose counts nowhere:\n%s", out)
	}
}

func TestImport_DryRunWritesNothing(t *testing.T) {
	dir, _ := mustLedgerDir(t)
	sample := filepath.Join("testdata", "paper-register.csv")
	before := lastPosition(t, dir)
	rep, _, err := importJSON(t, "--data", dir, "import", "--dry-run", "--json", sample)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || rep.Counts[rowWouldRecord]+rep.Counts[rowWouldFlag] != 5 {
		t.Errorf("dry run: %+v, want 5 rows that would be recorded", rep)
	}
	if got := lastPosition(t, dir); got != before {
		t.Fatalf("a dry run wrote %d events", got-before)
	}
	if _, _, err := run(t, "--data", dir, "import", sample); err != nil {
		t.Fatal(err)
	}
	rep, _, err = importJSON(t, "--data", dir, "import", "--dry-run", "--json", sample)
	if err != nil || rep.Counts[rowAlready] != 5 {
		t.Errorf("dry run after the import: %v %+v, want 5 already recorded", err, rep.Counts)
	}
}

func TestImport_RefusedRowsExitNonZeroAndWriteNothing(t *testing.T) {
	dir, _ := mustLedgerDir(t)
	before := lastPosition(t, dir)
	rep, stderr, err := importJSON(t, "--data", dir, "import", "--json", filepath.Join("testdata", "paper-register-mistakes.csv"))
	var code exitCode
	if !errors.As(err, &code) || code != exitRowsRefused {
		t.Fatalf("err = %v, want exit status %d", err, exitRowsRefused)
	}
	if !strings.Contains(stderr, "4 of 5 rows refused") {
		t.Errorf("stderr does not say how many rows were refused:\n%s", stderr)
	}
	want := []struct {
		row    int
		status string
		column string
		says   string
	}{
		{2, rowFlagged, "", ""},
		{3, rowRefused, colBeneficiary, `"7QK2M4XJ5RTVW3YZ" is not a beneficiary id`},
		{4, rowRefused, colDose, `"one" is not a dose number from 1 to 10`},
		{5, rowRefused, colDate, `"04/05/2021" is not a date (YYYY-MM-DD)`},
		{6, rowRefused, "", "the row has 7 cells and the header 8 columns"},
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("%d rows reported, want %d", len(rep.Rows), len(want))
	}
	for i, w := range want {
		r := rep.Rows[i]
		if r.Row != w.row || r.Status != w.status {
			t.Errorf("row %d: %+v, want row %d %s", i, r, w.row, w.status)
			continue
		}
		if w.status == rowRefused && (r.Error == nil || r.Error.Column != w.column || !strings.Contains(r.Error.Message, w.says) || r.EventID != "") {
			t.Errorf("row %d: error %+v, want column %q saying %q", w.row, r.Error, w.column, w.says)
		}
	}
	if got := lastPosition(t, dir); got != before+1 {
		t.Errorf("%d events written, want 1 (the good row only)", got-before)
	}
}

func TestImport_EventIDTakenIsRefused(t *testing.T) {
	dir, _ := mustLedgerDir(t)
	const id = "6f1c9a52-3b8e-4d0a-9c51-2f7e8a4b6d13"
	head := "beneficiary_id,dose,vaccine,date,time,site_id,lot,vaccinator,event_id\n"
	first := writeFile(t, head+"7QK2M4XJ5RTVW3YZ-1,1,Covishield,2021-05-03,09:40,MH-PUN-0001,L,Nurse K,"+id+"\n")
	if _, _, err := run(t, "--data", dir, "import", first); err != nil {
		t.Fatal(err)
	}
	before := lastPosition(t, dir)
	// Another person's dose under the same event_id, in a later file:
	// the ledger refuses it; and twice in one file: refused before writing.
	later := writeFile(t, head+
		"LM3NP5QR6ST7UVWX-1,1,Covishield,2021-05-03,09:41,MH-PUN-0001,L,Nurse K,"+id+"\n"+
		"LM3NP5QR6ST7UVWX-2,1,Covishield,2021-05-03,09:42,MH-PUN-0001,L,Nurse K,a0000000-0000-4000-8000-000000000001\n"+
		"LM3NP5QR6ST7UVWX-3,1,Covishield,2021-05-03,09:43,MH-PUN-0001,L,Nurse K,a0000000-0000-4000-8000-000000000001\n")
	// A dry run foresees both refusals; the import then makes them.
	var rep importReport
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--dry-run"}, []string{rowRefused, rowWouldFlag, rowRefused}},
		{nil, []string{rowRefused, rowFlagged, rowRefused}},
	} {
		var err error
		rep, _, err = importJSON(t, append([]string{"--data", dir, "import", "--json", later}, c.args...)...)
		var code exitCode
		if !errors.As(err, &code) || code != exitRowsRefused {
			t.Fatalf("import %v: err = %v, want exit status %d", c.args, err, exitRowsRefused)
		}
		if got := statuses(rep); !slices.Equal(got, c.want) {
			t.Fatalf("import %v: statuses %v, want %v", c.args, got, c.want)
		}
		if e := rep.Rows[0].Error; e.Column != colEventID || !strings.Contains(e.Message, "already the id of another event") {
			t.Errorf("import %v, taken event_id: %+v", c.args, e)
		}
		if e := rep.Rows[2].Error; e.Column != colEventID || !strings.Contains(e.Message, "also the event_id of row 3") {
			t.Errorf("import %v, event_id twice in the file: %+v", c.args, e)
		}
	}
	if got := lastPosition(t, dir); got != before+1 {
		t.Errorf("%d events written, want 1", got-before)
	}
	// The same row twice is one dose typed twice: recorded once.
	twice := "7QK2M4XJ5RTVW3YZ-2,1,Covishield,2021-05-03,09:40,MH-PUN-0001,L,Nurse K\n"
	rep, _, err := importJSON(t, "--data", dir, "import", "--json", writeFile(t, registerHeaderLine+twice+twice))
	if err != nil || !slices.Equal(statuses(rep), []string{rowFlagged, rowAlready}) {
		t.Errorf("the same row twice: %v %v, want flagged then already recorded", err, statuses(rep))
	}
}

func TestImport_NotARegister(t *testing.T) {
	dir, _ := mustLedgerDir(t)
	before := lastPosition(t, dir)
	for _, tc := range []struct {
		name, content, says string
	}{
		{"empty", "", "the file is empty"},
		{"binary", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not CSV text (a NUL byte at offset 8)"},
		{"json", `{"doses": [{"beneficiary_id": "X"}]}`, "the file is not CSV: row 1"},
		{"text", "Register of doses, Pune, May 2021\n", `row 1, column 1: unknown column "Register of doses`},
		{"unknown column", "beneficiary_id,dose,vaccine,date,time,site_id,lot,vaccinator,remarks\n", `row 1, column 9: unknown column "remarks"`},
		{"missing column", "beneficiary_id,dose,vaccine,date,site_id,lot,vaccinator\n", "lacks the column(s) time"},
		{"column twice", "beneficiary_id,dose,Dose,vaccine,date,time,site_id,lot,vaccinator\n", "row 1, column 3: column dose is named twice"},
		{"bad quote in header", "beneficiary_id,\"dose,vaccine\n", "the file is not CSV: row 1"},
		{"latin-1 header", "beneficiary_id,dose,vaccine,date,time,site_id,lot,vaccinator,d\xe9\n", "not UTF-8"},
		// A quote never closed would swallow every row after it.
		{"stray quote", "beneficiary_id,dose,vaccine,date,time,site_id,lot,vaccinator\n" +
			"ZDDJDQREDEKQZ7YM-1,1,COVISHIELD,2021-05-01,10:00,MH-PUN-0001,4121Z025,v1\n" +
			"XLD277XJKTBIHD2D-1,1,COVISHIELD,2021-05-01,10:05,MH-PUN-0001,\"4121Z025,v1\n" +
			"BXRUWOUJAPH3LRXJ-1,1,COVISHIELD,2021-05-01,10:10,MH-PUN-0001,4121Z025,v1\n" +
			"JWESI53PT5CJGP4Z-1,1,COVISHIELD,2021-05-01,10:15,MH-PUN-0001,4121Z025,v1\n",
			"row 3: a quoted cell opened in this row is never closed, so rows 3 to 5 cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, "--data", dir, "import", writeFile(t, tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("err = %v, want one saying %q", err, tc.says)
			}
		})
	}
	if got := lastPosition(t, dir); got != before {
		t.Errorf("files that are not registers wrote %d events", got-before)
	}
	if _, _, err := run(t, "--data", dir, "import"); !errors.Is(err, errUsage) {
		t.Errorf("no file: %v, want a usage error", err)
	}
	if _, _, err := run(t, "--data", dir, "import", "--actor", "nobody", filepath.Join("testdata", "paper-register.csv")); err == nil {
		t.Error("--actor without a role was accepted")
	}
	if _, _, err := run(t, "--data", t.TempDir(), "import", filepath.Join("testdata", "paper-register.csv")); err == nil || !strings.Contains(err.Error(), "no ledger") {
		t.Errorf("import into an empty directory: %v, want a refusal", err)
	}
	_, stderr, err := run(t, "import", "--help")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "Usage: doseledger import") || !strings.Contains(stderr, "beneficiary_id  required") {
		t.Errorf("import --help: %v\n%s", err, stderr)
	}
	_, stderr, _ = run(t, "help")
	if !strings.Contains(stderr, "import       record the doses of a paper register") {
		t.Errorf("the command's usage does not list import:\n%s", stderr)
	}
}

func TestReadRegister_Rows(t *testing.T) {
	const ok = "7QK2M4XJ5RTVW3YZ-1,1,Covishield,2021-05-03,09:40,MH-PUN-0001,4121Z025,Nurse K"
	long := "7QK2M4XJ5RTVW3YZ-1,1,Covishield,2021-05-03,09:40,MH-PUN-0001,4121Z025," + strings.Repeat("x", maxRowBytes)
	for _, tc := range []struct {
		name, row   string
		column, say string // empty say: the row is well-formed
	}{
		{"well formed", ok, "", ""},
		{"seconds and spaces", " 7QK2M4XJ5RTVW3YZ-1 , 2 ,Covishield,2021-05-03, 09:40:30 ,MH-PUN-0001,,Nurse K", "", ""},
		{"quoted comma", `7QK2M4XJ5RTVW3YZ-1,1,Covishield,2021-05-03,09:40,MH-PUN-0001,4121Z025,"Kulkarni, R."`, "", ""},
		{"lower-case id", strings.Replace(ok, "7QK2M4XJ5RTVW3YZ-1", "7qk2m4xj5rtvw3yz-1", 1), colBeneficiary, "not a beneficiary id"},
		{"dose 0", strings.Replace(ok, ",1,", ",0,", 1), colDose, `"0" is not a dose number from 1 to 10`},
		{"dose 11", strings.Replace(ok, ",1,", ",11,", 1), colDose, `"11" is not a dose number`},
		{"dose empty", strings.Replace(ok, ",1,", ",,", 1), colDose, `"" is not a dose number`},
		{"31 April", strings.Replace(ok, "2021-05-03", "2021-04-31", 1), colDate, `"2021-04-31" is not a date`},
		{"month 13", strings.Replace(ok, "2021-05-03", "2021-13-01", 1), colDate, `"2021-13-01" is not a date`},
		{"before vaccination", strings.Replace(ok, "2021-05-03", "2020-12-25", 1), colDate, "before vaccination began on 2021-01-16"},
		{"future", strings.Replace(ok, "2021-05-03", "2021-06-03", 1), colDate, "in the future"},
		{"25 o'clock", strings.Replace(ok, "09:40", "25:00", 1), colTime, `"25:00" is not a time of day`},
		{"am/pm", strings.Replace(ok, "09:40", "9:40 AM", 1), colTime, "not a time of day"},
		{"no vaccine", strings.Replace(ok, "Covishield", "", 1), colVaccine, "empty"},
		{"no vaccinator", strings.TrimSuffix(ok, "Nurse K"), colVaccinator, "empty"},
		{"long lot", strings.Replace(ok, "4121Z025", strings.Repeat("9", 65), 1), colLot, "65 characters, over the 64 allowed"},
		{"too many cells", ok + ",extra", "", "the row has 9 cells and the header 8 columns"},
		{"row too long", long, "", "bytes long, over the 4096"},
		{"bare quote", `7QK2M4XJ5RTVW3YZ-1,1,Covi"shield,2021-05-03,09:40,MH-PUN-0001,4121Z025,Nurse K`, "", "not CSV"},
		{"latin-1", strings.Replace(ok, "Nurse K", "Jos\xe9", 1), colVaccinator, "not UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := readRegister(strings.NewReader(registerHeaderLine+tc.row+"\n"+ok+"\n"), importNow)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[1].Err != nil || rows[1].Row != 3 {
				t.Fatalf("the good row after it: %+v", rows)
			}
			r := rows[0]
			if r.Row != 2 {
				t.Errorf("row %d, want 2", r.Row)
			}
			if tc.say == "" {
				if r.Err != nil {
					t.Fatalf("refused: %v", r.Err)
				}
				if r.Report.EventID == uuid.Nil || r.Report.Dose.Capture != ledger.CapturePaper || r.Report.OccurredAt.IsZero() {
					t.Errorf("report %+v", r.Report)
				}
				return
			}
			if r.Err == nil {
				t.Fatalf("accepted %+v, want refused saying %q", r.Report, tc.say)
			}
			if r.Err.Column != tc.column || !strings.Contains(r.Err.Message, tc.say) {
				t.Errorf("refused with %q, want column %q saying %q", r.Err, tc.column, tc.say)
			}
		})
	}
}

func TestReadRegister_HeaderForms(t *testing.T) {
	// A byte-order mark, columns in another order and case, and the
	// optional ones.
	in := "\ufeffVaccinator, Site_ID ,lot,time,date,vaccine,dose,beneficiary_id,session_id,state,district,capture\n" +
		"Nurse K,MH-PUN-0001,L1,09:40,2021-05-03,Covishield,1,7QK2M4XJ5RTVW3YZ-1,MH-PUN-0001-20210503,Maharashtra,Pune,offline_device\n"
	rows, err := readRegister(strings.NewReader(in), importNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Err != nil {
		t.Fatalf("rows %+v", rows)
	}
	d := rows[0].Report.Dose
	want := ledger.DoseAdministered{BeneficiaryID: "7QK2M4XJ5RTVW3YZ-1", Dose: 1, Vaccine: "Covishield", Lot: "L1",
		SiteID: "MH-PUN-0001", State: "Maharashtra", District: "Pune", SessionID: "MH-PUN-0001-20210503",
		Vaccinator: "Nurse K", Capture: ledger.CaptureOffline}
	if d.BeneficiaryID != want.BeneficiaryID || d.Dose != want.Dose || d.Vaccine != want.Vaccine || d.Lot != want.Lot ||
		d.SiteID != want.SiteID || d.State != want.State || d.District != want.District || d.SessionID != want.SessionID ||
		d.Vaccinator != want.Vaccinator || d.Capture != want.Capture {
		t.Errorf("dose %+v\nwant %+v", d, want)
	}
	if got, want := rows[0].Report.OccurredAt, time.Date(2021, 5, 3, 9, 40, 0, 0, ledger.India); !got.Equal(want) {
		t.Errorf("occurred at %s, want %s", got, want)
	}
	online := readRegisterWith(t, "beneficiary_id,dose,vaccine,date,time,site_id,lot,vaccinator,capture\n"+
		"7QK2M4XJ5RTVW3YZ-1,1,Covishield,2021-05-03,09:40,MH-PUN-0001,L1,Nurse K,online\n")
	if e := online[0].Err; e == nil || e.Column != colCapture || !strings.Contains(e.Message, "paper_register or offline_device") {
		t.Errorf("capture online: %v, want refused", e)
	}
}

func TestReadRegister_EventIDs(t *testing.T) {
	read := func(body string) []registerRow {
		t.Helper()
		rows, err := readRegister(strings.NewReader(registerHeaderLine+body), importNow)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	a := "7QK2M4XJ5RTVW3YZ-1,1,Covishield,2021-05-03,09:40,MH-PUN-0001,4121Z025,Nurse K\n"
	b := "LM3NP5QR6ST7UVWX-1,1,Covishield,2021-05-03,10:15,MH-PUN-0001,4121Z025,Nurse K\n"
	first := read(a + b)
	// Frozen: a re-import with another derivation would record every dose
	// of every register again.
	if got, want := first[0].Report.EventID.String(), "7e81b268-bcd3-517e-a9ce-18980470969d"; got != want || !first[0].EventDerived {
		t.Errorf("derived event id %s, want the frozen %s", got, want)
	}
	// Rows moved, spaces added, another row typed above: the same ids.
	moved := read("   \n" + b + strings.ReplaceAll(a, ",", " , "))
	if moved[0].Report.EventID != first[1].Report.EventID || moved[1].Report.EventID != first[0].Report.EventID {
		t.Error("the same rows in another order got other event ids")
	}
	// A corrected row is another report.
	fixed := read(strings.Replace(a, "4121Z025", "4121Z026", 1))
	if fixed[0].Report.EventID == first[0].Report.EventID {
		t.Error("a corrected row kept its event id: the correction would be taken for the old report")
	}
	if first[0].Report.EventID == first[1].Report.EventID {
		t.Error("two people's doses share an event id")
	}
	withID := readRegisterWith(t, "beneficiary_id,dose,vaccine,date,time,site_id,lot,vaccinator,event_id\n"+
		strings.TrimSuffix(a, "\n")+",{6F1C9A52-3B8E-4D0A-9C51-2F7E8A4B6D13}\n"+
		strings.TrimSuffix(a, "\n")+",00000000-0000-0000-0000-000000000000\n"+
		strings.TrimSuffix(a, "\n")+",row-7\n")
	if got := withID[0].Report.EventID.String(); got != "6f1c9a52-3b8e-4d0a-9c51-2f7e8a4b6d13" || withID[0].EventDerived {
		t.Errorf("event_id column read as %s", got)
	}
	for _, r := range withID[1:] {
		if r.Err == nil || r.Err.Column != colEventID || !strings.Contains(r.Err.Message, "is not a UUID") {
			t.Errorf("row %d: %v, want a refused event_id", r.Row, r.Err)
		}
	}
}

func readRegisterWith(t *testing.T, in string) []registerRow {
	t.Helper()
	rows, err := readRegister(strings.NewReader(in), importNow)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// FuzzReadRegister holds the parser to: no panic; every row either a
// well-formed report or an error naming its row; rows in file order; and
// a well-formed row written back as CSV reads as the same report with the
// same event id.
func FuzzReadRegister(f *testing.F) {
	for _, name := range []string{"paper-register.csv", "paper-register-mistakes.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		registerHeaderLine,
		"\ufeff" + registerHeaderLine + "7QK2M4XJ5RTVW3YZ-1,1,Covishield,2021-05-03,09:40,MH-PUN-0001,,Nurse K\n",
		registerHeaderLine + "\"7QK2M4XJ5RTVW3YZ-1\",1,Covishield,2021-05-03,09:40:59,MH-PUN-0001,\"L\nL\",\"Nurse \"\"K\"\"\"\n",
		registerHeaderLine + "a,b\n\"unterminated\n",
		"beneficiary_id,dose,vaccine,date,time,site_id,lot,vaccinator,event_id,capture,state,district,session_id\n" +
			"7QK2M4XJ5RTVW3YZ-4,10,X,2021-01-16,00:00,S,,V,urn:uuid:6f1c9a52-3b8e-4d0a-9c51-2f7e8a4b6d13,offline_device,,,\n",
		"\x00\x01\x02",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := readRegister(bytes.NewReader(data), importNow)
		if err != nil {
			var re *registerError
			if !errors.As(err, &re) || re.msg == "" {
				t.Fatalf("a file error that is not a registerError: %v", err)
			}
			return
		}
		var good []registerRow
		last := 1
		for _, r := range rows {
			if r.Row <= last {
				t.Fatalf("row %d after row %d", r.Row, last)
			}
			last = r.Row
			if r.Err != nil {
				if r.Err.Row != r.Row || r.Err.Message == "" || r.Err.Error() == "" {
					t.Fatalf("row %d: error %+v", r.Row, r.Err)
				}
				continue
			}
			d := r.Report.Dose
			if r.Report.EventID == uuid.Nil || !ledger.ValidBeneficiaryID(d.BeneficiaryID) || d.Dose < 1 || d.Dose > ledger.MaxDose ||
				r.Report.OccurredAt.Before(firstVaccinationDay) || d.Vaccine == "" || d.SiteID == "" || d.Vaccinator == "" {
				t.Fatalf("row %d accepted but malformed: %+v", r.Row, r.Report)
			}
			good = append(good, r)
		}
		if len(good) == 0 {
			return
		}
		// Written back with every column, the good rows read the same.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(append(slices.Clone(requiredColumns), optionalColumns...))
		for _, r := range good {
			d, at := r.Report.Dose, r.Report.OccurredAt.In(ledger.India)
			id := ""
			if !r.EventDerived {
				id = r.Report.EventID.String()
			}
			w.Write([]string{d.BeneficiaryID, strconv.Itoa(d.Dose), d.Vaccine, at.Format("2006-01-02"), at.Format("15:04:05"),
				d.SiteID, d.Lot, d.Vaccinator, d.Capture, id, d.SessionID, d.State, d.District})
		}
		w.Flush()
		again, err := readRegister(&buf, importNow)
		if err != nil {
			t.Fatalf("good rows written back do not read: %v\n%s", err, buf.String())
		}
		if len(again) != len(good) {
			t.Fatalf("%d good rows read back as %d", len(good), len(again))
		}
		for i, r := range again {
			if r.Err != nil {
				t.Fatalf("good row %d written back is refused: %v", good[i].Row, r.Err)
			}
			if r.Report.EventID != good[i].Report.EventID || !r.Report.OccurredAt.Equal(good[i].Report.OccurredAt) ||
				!cmp.Equal(r.Report.Dose, good[i].Report.Dose) {
				t.Fatalf("row %d read back as %+v, was %+v", good[i].Row, r.Report, good[i].Report)
			}
		}
	})
}

// A cell typed with Alt+Enter holds a line break: a spreadsheet shows it
// inside one row, so the rows after it keep their numbers.
func TestReadRegister_RowNumbersAfterMultilineCell(t *testing.T) {
	in := registerHeaderLine +
		"7QK2M4XJ5RTVW3YZ-1,1,Covishield,2021-05-03,09:40,MH-PUN-0001,L1,\"Nurse\nKavita\"\n" + // spreadsheet row 2
		"7QK2M4XJ5RTVW3YZ-2,0,Covishield,2021-05-03,09:40,MH-PUN-0001,L1,Nurse K\n" // spreadsheet row 3: dose 0
	rows, err := readRegister(strings.NewReader(in), importNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	if got := rows[1].Row; got != 3 {
		t.Errorf("the row after the multi-line cell is reported as row %d, want 3 (the spreadsheet's row)", got)
	}
}
