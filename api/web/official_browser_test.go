package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/doseledger/doseledger/api"
	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/api/auth/authtest"
	"github.com/doseledger/doseledger/api/web"
	"github.com/doseledger/doseledger/api/web/browsertest"
	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command/commandtest"
	"github.com/doseledger/doseledger/projections"
)

// dashClock is the ledger's clock, moved day by day as the data is made.
type dashClock struct{ ns atomic.Int64 }

func (c *dashClock) Now() time.Time { return time.Unix(0, c.ns.Load()).In(ledger.India) }

func (c *dashClock) set(t *testing.T, at string) {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04", at, ledger.India)
	if err != nil {
		t.Fatal(err)
	}
	c.ns.Store(tm.UnixNano())
}

// dashServer is the real API, with sign-in and a staff directory, and the
// embedded site, on httptest.
type dashServer struct {
	*httptest.Server
	otps  *authtest.Outbox
	clock *dashClock
	admin string // a token that may do anything, to make the test's data
	ravi  string // the official's token, to read what the page should show
}

const (
	officialMobile   = "9000000002"
	vaccinatorMobile = "9000000001"
)

func newDashServer(t *testing.T) *dashServer {
	t.Helper()
	s := &dashServer{otps: &authtest.Outbox{}, clock: &dashClock{}}
	s.clock.set(t, "2021-05-01 09:00")
	l := commandtest.Open(t, s.clock.Now)
	for _, v := range []string{"Covishield", "Covaxin"} {
		if err := l.Handler.SetPolicy(context.Background(), uuid.New(), ledger.DefaultPolicy(v, "2021-01-16"), "official:test"); err != nil {
			t.Fatal(err)
		}
	}
	proj, err := projections.NewProjector(l.Store, nil, projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proj.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	staff, err := auth.OpenDirectory(filepath.Join(t.TempDir(), "staff.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []auth.Member{
		{ID: "ravi", Name: "Ravi Kumar", Mobile: officialMobile, Roles: []auth.Role{auth.Official}},
		{ID: "root", Name: "Test Admin", Mobile: "9000000009", Roles: []auth.Role{auth.Admin}},
		{ID: "anita", Name: "Anita Rao", Mobile: vaccinatorMobile, Roles: []auth.Role{auth.Vaccinator}},
	} {
		if err := staff.Add(m); err != nil {
			t.Fatal(err)
		}
	}
	// Tokens run on real time; the ledger's clock is moved by days.
	svc, err := auth.NewService(auth.Config{Sender: s.otps, Account: l.Handler.AccountOf, Staff: staff})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		to *string
		p  auth.Principal
	}{
		{&s.admin, auth.Principal{Role: auth.Admin, ID: "root", Name: "Test Admin"}},
		{&s.ravi, auth.Principal{Role: auth.Official, ID: "ravi", Name: "Ravi Kumar"}},
	} {
		tok, err := svc.Tokens.Issue(p.p)
		if err != nil {
			t.Fatal(err)
		}
		*p.to = tok.Value
	}
	mux := http.NewServeMux()
	mux.Handle("/", api.New(api.Config{Handler: l.Handler, Store: l.Store, Projector: proj, Now: s.clock.Now, Auth: svc}))
	site := web.New()
	for _, p := range site.Patterns() {
		mux.Handle(p, site)
	}
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// call sends a JSON request with token and decodes the answer into out,
// failing the test unless the status is want.
func (s *dashServer) call(t *testing.T, method, path, token string, body any, want int, out any) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return b
}

type dashPlace struct{ site, name, state, district, pincode string }

var (
	kolkata = dashPlace{"WB-KOL-0007", "UPHC Ward 7", "West Bengal", "Kolkata", "700001"}
	howrah  = dashPlace{"WB-HWH-0002", "Howrah District Hospital", "West Bengal", "Howrah", "711101"}
	pune    = dashPlace{"MH-PUN-0001", "Sassoon General Hospital", "Maharashtra", "Pune", "411001"}
)

// dashData is what the test made: the due list's session and its people,
// the flagged dose and the dispute.
type dashData struct {
	dueSession string
	dueCodes   []string
	anomaly    string // dose event id
	disputed   string // beneficiary id
	dispute    string // dispute id
	disputeOn  string // the disputed dose's event id
	moved      string // a second dispute: a pincode said to be wrong
	movedWho   string
}

// seed makes five days of doses in three districts, with two vaccines; a
// session tomorrow with three people booked; one dose given too early (an
// anomaly); and one person saying they were never vaccinated (a dispute).
func (s *dashServer) seed(t *testing.T) dashData {
	t.Helper()
	var d dashData
	n := 0
	register := func(p dashPlace) string {
		n++
		var out struct {
			BeneficiaryID string `json:"beneficiary_id"`
		}
		s.call(t, "POST", "/api/v1/beneficiaries", s.admin, map[string]any{
			"mobile": fmt.Sprintf("98%08d", n), "name": fmt.Sprintf("Person %d", n), "birth_date": "1960-01-02",
			"gender": "F", "id_type": "aadhaar", "id_number": fmt.Sprintf("5000%08d", n),
			"state": p.state, "district": p.district, "pincode": p.pincode}, http.StatusCreated, &out)
		return out.BeneficiaryID
	}
	publish := func(p dashPlace, date, vaccine string) string {
		var out struct{ ID string }
		s.call(t, "POST", "/api/v1/sessions", s.admin, map[string]any{
			"site_id": p.site, "site_name": p.name, "state": p.state, "district": p.district, "pincode": p.pincode,
			"date": date, "vaccine": vaccine, "capacity": map[string]int{"1": 20, "2": 20},
			"slots": []string{"09:00-11:00", "11:00-13:00"}}, http.StatusCreated, &out)
		return out.ID
	}
	book := func(id, session string) string {
		var out struct{ Code string }
		s.call(t, "POST", "/api/v1/bookings", s.admin, map[string]any{"beneficiary_id": id, "session_id": session}, http.StatusCreated, &out)
		return out.Code
	}
	dose := func(id string, dose int, date, vaccine string, p dashPlace) (string, []string) {
		var out struct {
			EventID   string   `json:"event_id"`
			Anomalies []string `json:"anomalies"`
		}
		s.call(t, "POST", "/api/v1/doses", s.admin, map[string]any{
			"event_id": uuid.NewString(), "occurred_at": date + "T10:30:00+05:30", "beneficiary_id": id, "dose": dose,
			"vaccine": vaccine, "lot": "LOT1", "site_id": p.site, "vaccinator": "vaccinator:anita"}, http.StatusCreated, &out)
		return out.EventID, out.Anomalies
	}

	// Each day, a session at some sites, everyone booked and vaccinated.
	plan := []struct {
		date    string
		place   dashPlace
		vaccine string
		people  int
	}{
		{"2021-05-03", kolkata, "Covishield", 4},
		{"2021-05-03", pune, "Covaxin", 2},
		{"2021-05-04", howrah, "Covishield", 3},
		{"2021-05-05", kolkata, "Covishield", 5},
		{"2021-05-06", pune, "Covaxin", 3},
		{"2021-05-07", howrah, "Covishield", 1},
		{"2021-05-07", kolkata, "Covaxin", 2},
	}
	var first string // the first person vaccinated, given a second dose too early
	for _, p := range plan {
		s.clock.set(t, p.date+" 12:00")
		session := publish(p.place, p.date, p.vaccine)
		for range p.people {
			id := register(p.place)
			book(id, session)
			ev, anomalies := dose(id, 1, p.date, p.vaccine, p.place)
			if len(anomalies) > 0 {
				t.Fatalf("dose at %s on %s flagged %v", p.place.site, p.date, anomalies)
			}
			if first == "" {
				first = id
			}
			if p.place == howrah && d.disputed == "" {
				d.disputed, d.disputeOn = id, ev
			}
		}
	}
	// A second dose four days after the first, unbooked: flagged.
	ev, anomalies := dose(first, 2, "2021-05-07", "Covishield", kolkata)
	if !slices.Contains(anomalies, "too_early") {
		t.Fatalf("early second dose flagged %v, want too_early", anomalies)
	}
	d.anomaly = ev

	// Tomorrow's session in Kolkata, three people booked.
	d.dueSession = publish(kolkata, "2021-05-08", "Covishield")
	for range 3 {
		d.dueCodes = append(d.dueCodes, book(register(kolkata), d.dueSession))
	}

	// One person in Howrah says they were never vaccinated.
	var raised struct {
		DisputeID string `json:"dispute_id"`
	}
	s.call(t, "POST", "/api/v1/beneficiaries/"+d.disputed+"/disputes", s.admin, map[string]any{
		"kind": "not_vaccinated", "dose_event_id": d.disputeOn, "text": "I was in Delhi all that week; ask my employer."},
		http.StatusCreated, &raised)
	d.dispute = raised.DisputeID
	// And one in Pune says their pincode is wrong.
	d.movedWho = register(pune)
	s.call(t, "POST", "/api/v1/beneficiaries/"+d.movedWho+"/disputes", s.admin, map[string]any{
		"kind": "wrong_details", "field": "pincode", "value": "411004", "text": "We moved to Deccan Gymkhana."},
		http.StatusCreated, &raised)
	d.moved = raised.DisputeID
	return d
}

// coverageRow is a row of GET /api/v1/coverage.
type coverageRow struct {
	Group         []string       `json:"group"`
	Doses         int            `json:"doses"`
	ByDose        map[string]int `json:"by_dose"`
	Registrations int            `json:"registrations"`
	Completed     int            `json:"completed"`
}

func (s *dashServer) coverage(t *testing.T, query string) []coverageRow {
	t.Helper()
	var out struct{ Rows []coverageRow }
	s.call(t, "GET", "/api/v1/coverage?"+query, s.ravi, nil, http.StatusOK, &out)
	return out.Rows
}

// person is what GET /api/v1/beneficiaries/{id} says of a person's doses.
func (s *dashServer) person(t *testing.T, id string) (p struct{ Doses []map[string]any }) {
	t.Helper()
	var out struct {
		Beneficiary struct{ Doses []map[string]any }
	}
	s.call(t, "GET", "/api/v1/beneficiaries/"+id, s.ravi, nil, http.StatusOK, &out)
	p.Doses = out.Beneficiary.Doses
	return p
}

// tableRows returns the text of each row of a table, cells joined by "|".
func tableRows(b *browsertest.Browser, id string) []string {
	return browsertest.Eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll("#%s tbody tr")].map((r) => [...r.cells].map((c) => c.textContent.trim()).join("|"))`, id))
}

// chartSize is the size of the canvas uPlot drew in a chart's container.
type chartSize struct{ Width, Height, Painted int }

func chart(b *browsertest.Browser, id string) chartSize {
	// Painted counts the canvas's pixels of the bars' colour (#0b5f5a),
	// so an empty canvas of the right size does not pass.
	return browsertest.Eval[chartSize](b, fmt.Sprintf(`(() => {
		const c = document.querySelector("#%s canvas");
		if (!c) return {Width: 0, Height: 0, Painted: 0};
		const r = c.getBoundingClientRect();
		const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 0; i < px.length; i += 4) if (px[i] === 0x0b && px[i+1] === 0x5f && px[i+2] === 0x5a) n++;
		return {Width: Math.round(r.width), Height: Math.round(r.height), Painted: n};
	})()`, id))
}

// painted waits for the page to paint what it has just changed, so that
// a screenshot shows it.
func painted(b *browsertest.Browser) {
	browsertest.Eval[bool](b, `new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok(true))))`)
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(t *testing.T, b *browsertest.Browser, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(b.Context(), chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		b.Screenshot("waiting-" + what)
		t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

// TestOfficial_Dashboard signs in through the page as an official, checks
// the coverage charts are drawn and their tables hold the API's figures,
// opens a due list and downloads it as CSV, reviews an anomaly and
// decides a dispute, each checked in the ledger's read models through the
// API; and sees that an expired token returns to the sign-in form.
func TestOfficial_Dashboard(t *testing.T) {
	b := browsertest.New(t, nil)
	// Headless Chromium keeps windows at least 500 pixels wide: the
	// phone's width is emulated.
	phone(t, b, 412, 915)
	srv := newDashServer(t)
	data := srv.seed(t)
	srv.clock.set(t, "2021-05-07 18:00")

	// Sign in: mobile, then the code the server sent.
	b.Do("open the dashboard", chromedp.Navigate(srv.URL+"/official/"),
		chromedp.WaitVisible(chromedp.ID("official-mobile")))
	painted(b)
	b.Screenshot("signin")
	b.Do("ask for a code", chromedp.SendKeys(chromedp.ID("official-mobile"), officialMobile), chromedp.Click(chromedp.ID("official-send")),
		chromedp.WaitVisible(chromedp.ID("official-otp")))
	code := srv.otps.Code(officialMobile)
	if len(code) != 6 {
		t.Fatalf("no code sent to %s: %q", officialMobile, code)
	}
	b.Do("sign in", chromedp.SendKeys(chromedp.ID("official-otp"), code), chromedp.Click(chromedp.ID("official-verify")),
		chromedp.WaitVisible(chromedp.ID("dash")))
	// (On a phone the name is not shown: no room beside the title.)
	if who := browsertest.Eval[string](b, `document.getElementById("who").textContent`); who != "Ravi Kumar" {
		t.Errorf("signed in as %q, want Ravi Kumar", who)
	}

	t.Run("coverage", func(t *testing.T) {
		waitFor(t, b, "coverage", `document.body.dataset.coverage === "ready"`)
		// The charts are drawn, at a size that fits the phone.
		for _, id := range []string{"chart-days", "chart-districts", "chart-vaccines"} {
			c := chart(b, id)
			if c.Width < 200 || c.Width > 412 || c.Height < 100 || c.Painted < 100 {
				t.Errorf("%s: canvas %dx%d with %d pixels of bars, want a drawn chart within the phone's width", id, c.Width, c.Height, c.Painted)
			}
		}
		// The tables hold the API's figures.
		var want []string
		for _, r := range srv.coverage(t, "by=day") {
			if r.Doses > 0 {
				// Numbers below 1,000 are written the same in every locale.
				want = append(want, fmt.Sprintf("%s|%d|%d|%d", dayName(t, r.Group[0]), r.Doses, r.ByDose["1"], r.Doses-r.ByDose["1"]))
			}
		}
		if got := tableRows(b, "days-table"); !slices.Equal(got, want) {
			t.Errorf("doses per day:\n got %q\nwant %q", got, want)
		}
		want = nil
		for _, r := range srv.coverage(t, "by=state,district") {
			want = append(want, fmt.Sprintf("%s, %s|%d|%d|%d", r.Group[1], r.Group[0], r.Doses, r.Registrations, r.Completed))
		}
		if got := tableRows(b, "districts-table"); !sameRows(got, want) {
			t.Errorf("doses by district:\n got %q\nwant %q", got, want)
		}
		want = nil
		for _, r := range srv.coverage(t, "by=vaccine") {
			want = append(want, fmt.Sprintf("%s|%d|%d|%d", r.Group[0], r.Doses, r.ByDose["1"], r.Doses-r.ByDose["1"]))
		}
		if got := tableRows(b, "vaccines-table"); !sameRows(got, want) || len(got) != 2 {
			t.Errorf("doses by vaccine:\n got %q\nwant %q", got, want)
		}
		total := srv.coverage(t, "by=")[0]
		if got := b.Text("total-doses"); got != fmt.Sprint(total.Doses) || total.Doses != 21 {
			t.Errorf("total doses shown %q, API %d, made 21", got, total.Doses)
		}
		painted(b)
		b.Screenshot("coverage")

		// A state and a date range narrow every figure.
		b.Do("filter", chromedp.SetValue(chromedp.ID("state"), "West Bengal"), chromedp.SetValue(chromedp.ID("from"), "2021-05-04"),
			chromedp.SetValue(chromedp.ID("to"), "2021-05-07"), chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)))
		waitFor(t, b, "filtered coverage", `document.body.dataset.coverage === "ready" && document.querySelectorAll("#districts-table tbody tr").length === 2`)
		want = nil
		for _, r := range srv.coverage(t, "by=state,district&state=West+Bengal&from=2021-05-04&to=2021-05-07") {
			want = append(want, fmt.Sprintf("%s, %s|%d|%d|%d", r.Group[1], r.Group[0], r.Doses, r.Registrations, r.Completed))
		}
		if got := tableRows(b, "districts-table"); !sameRows(got, want) {
			t.Errorf("West Bengal 4-7 May by district:\n got %q\nwant %q", got, want)
		}
		if got := tableRows(b, "days-table"); len(got) != 3 || !strings.HasPrefix(got[0], "4 May 2021|3|") {
			t.Errorf("West Bengal 4-7 May by day: %q, want 4, 5 and 7 May, 3 doses on the 4th", got)
		}
		painted(b)
		b.Screenshot("coverage-filtered")

		// A place with no doses: no charts, and says so.
		b.Do("filter to nowhere", chromedp.SetValue(chromedp.ID("district"), "Nowhere"), chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)))
		waitFor(t, b, "empty coverage", `document.body.dataset.coverage === "ready" && document.getElementById("total-doses").textContent === "0"`)
		if n := browsertest.Eval[int](b, `document.querySelectorAll("#coverage canvas").length`); n != 0 {
			t.Errorf("%d charts drawn for a place with no doses", n)
		}
		if got := b.Text("chart-days"); got != "No doses in this range." {
			t.Errorf("empty day chart says %q", got)
		}
		browsertest.Eval[bool](b, `(document.getElementById("district").value = "", true)`)

		// A range backwards is explained, not sent.
		b.Do("filter backwards", chromedp.SetValue(chromedp.ID("from"), "2021-05-09"), chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)))
		if got := b.Text("coverage-status"); !strings.Contains(got, "swap the dates") {
			t.Errorf("backwards range: status %q", got)
		}
		for _, id := range []string{"state", "from", "to"} {
			browsertest.Eval[bool](b, `(document.getElementById("`+id+`").value = "", true)`)
		}
		b.Do("clear the filters", chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)))
		waitFor(t, b, "coverage again", `document.body.dataset.coverage === "ready" && document.querySelectorAll("#districts-table tbody tr").length === 3`)
	})

	t.Run("due list", func(t *testing.T) {
		dl := t.TempDir()
		if _, err := chromedp.CallBrowser(b.Context(), browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
			t.Fatal(err)
		}
		b.Do("find the sessions", chromedp.SetValue(chromedp.ID("due-date"), "2021-05-08"), chromedp.SetValue(chromedp.ID("due-district"), "Kolkata"),
			chromedp.Click(chromedp.CSS(`#session-search button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`button[data-session="`+data.dueSession+`"]`)))
		b.Do("open the due list", chromedp.Click(chromedp.CSS(`button[data-session="`+data.dueSession+`"]`)))
		waitFor(t, b, "due list", `document.querySelectorAll("#due-table tbody tr").length === 3`)
		var due struct {
			Due []struct{ Slot, Code, Status string }
		}
		srv.call(t, "GET", "/api/v1/sessions/"+data.dueSession+"/due", srv.ravi, nil, http.StatusOK, &due)
		rows := tableRows(b, "due-table")
		for i, e := range due.Due {
			if i >= len(rows) || !strings.HasPrefix(rows[i], e.Slot+"|"+e.Code+"|1|Booked|") {
				t.Errorf("due row %d: %q, want slot %s, code %s, booked", i, rows, e.Slot, e.Code)
			}
		}
		var codes []string
		for _, e := range due.Due {
			codes = append(codes, e.Code)
		}
		slices.Sort(codes)
		mine := slices.Clone(data.dueCodes)
		slices.Sort(mine)
		if !slices.Equal(codes, mine) {
			t.Errorf("the API's due list has codes %v; the test booked %v", codes, mine)
		}
		painted(b)
		b.Screenshot("due-list")

		// By site id and date; an unknown site gets the API's answer.
		var missing struct{ Error struct{ Message string } }
		srv.call(t, "GET", "/api/v1/sessions/WB-KOL-9999-20210508/due", srv.ravi, nil, http.StatusNotFound, &missing)
		b.Do("a site with no session", chromedp.SetValue(chromedp.ID("due-site"), "wb-kol-9999"), chromedp.Click(chromedp.CSS(`#session-search button[type=submit]`)))
		waitFor(t, b, "the API's 404", `document.getElementById("due-status").textContent === `+jsString(missing.Error.Message)+
			` && document.querySelectorAll("#due-table tbody tr").length === 0`)
		b.Do("the site of the session", chromedp.SetValue(chromedp.ID("due-site"), kolkata.site), chromedp.Click(chromedp.CSS(`#session-search button[type=submit]`)))
		waitFor(t, b, "due list by site", `document.querySelectorAll("#due-table tbody tr").length === 3`)

		// The CSV, fetched with the token, is the API's.
		b.Do("download the CSV", chromedp.Click(chromedp.ID("due-csv")))
		file := filepath.Join(dl, "due-"+data.dueSession+".csv")
		var got []byte
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
				got = b
				break
			}
		}
		want := srv.call(t, "GET", "/api/v1/sessions/"+data.dueSession+"/due?format=csv", srv.ravi, nil, http.StatusOK, nil)
		if !bytes.Equal(got, want) || bytes.Count(got, []byte("\n")) != 4 {
			entries, _ := os.ReadDir(dl)
			t.Errorf("downloaded %s (%d bytes; in the folder: %v), want the API's CSV:\n%s", file, len(got), entries, want)
		}
	})

	t.Run("anomaly", func(t *testing.T) {
		item := `#anomaly-list li[data-dose-event="` + data.anomaly + `"]`
		b.Do("see the anomaly", chromedp.WaitVisible(chromedp.CSS(item)))
		if n := browsertest.Eval[int](b, `document.querySelectorAll("#anomaly-list li[data-dose-event]").length`); n != 1 {
			t.Errorf("%d open anomalies shown, want 1", n)
		}
		text := browsertest.Eval[string](b, `document.querySelector(`+jsString(item)+`).textContent`)
		if !strings.Contains(text, "given too early") || !strings.Contains(text, "Dose 2 of Covishield") {
			t.Errorf("anomaly shows %q", text)
		}
		painted(b)
		// By kind: none are duplicates; it is given too early.
		for _, c := range []struct {
			kind string
			n    int
		}{{"duplicate", 0}, {"too_early", 1}} {
			browsertest.Eval[bool](b, `(() => {
				const s = document.getElementById("anomaly-kind");
				s.value = "`+c.kind+`";
				return s.dispatchEvent(new Event("change"));
			})()`)
			waitFor(t, b, c.kind+" anomalies", `document.querySelectorAll("#anomaly-list li[data-dose-event]").length === `+fmt.Sprint(c.n)+
				` && document.getElementById("anomalies-status").textContent.includes("`+map[string]string{"duplicate": "(duplicate)", "too_early": "(given too early)"}[c.kind]+`")`)
		}
		b.Do("open it", chromedp.Click(chromedp.CSS(item+` summary`)), chromedp.WaitVisible(chromedp.CSS(item+` input`)))
		painted(b)
		b.Screenshot("anomaly")
		b.Do("escalate it", chromedp.SendKeys(chromedp.CSS(item+` input`), "second dose 4 days after the first; ask the site"),
			chromedp.Click(chromedp.CSS(item+` button[data-decision="escalated"]`)))
		waitFor(t, b, "the list without it", `document.querySelectorAll("#anomaly-list li[data-dose-event]").length === 0 && document.getElementById("anomalies-status").textContent.startsWith("Recorded")`)
		var list struct {
			Anomalies []struct {
				DoseEventID string `json:"dose_event_id"`
				Status      string
				ReviewedBy  string `json:"reviewed_by"`
				Note        string
			}
		}
		srv.call(t, "GET", "/api/v1/anomalies", srv.ravi, nil, http.StatusOK, &list)
		if len(list.Anomalies) != 1 || list.Anomalies[0].DoseEventID != data.anomaly || list.Anomalies[0].Status != "escalated" ||
			list.Anomalies[0].ReviewedBy != "official:ravi" || !strings.Contains(list.Anomalies[0].Note, "ask the site") {
			t.Errorf("after escalating through the page, the API lists %+v", list.Anomalies)
		}
		// Among the escalated, it can be confirmed.
		browsertest.Eval[bool](b, `(() => {
			const s = document.getElementById("anomaly-status");
			s.value = "escalated";
			return s.dispatchEvent(new Event("change"));
		})()`)
		b.Do("show escalated", chromedp.WaitVisible(chromedp.CSS(item+` summary`)), chromedp.Click(chromedp.CSS(item+` summary`)),
			chromedp.WaitVisible(chromedp.CSS(item+` button[data-decision="confirmed"]`)))
		b.Do("confirm it", chromedp.Click(chromedp.CSS(item+` button[data-decision="confirmed"]`)))
		waitFor(t, b, "the escalated list without it", `document.querySelectorAll("#anomaly-list li[data-dose-event]").length === 0`)
		srv.call(t, "GET", "/api/v1/anomalies", srv.ravi, nil, http.StatusOK, &list)
		if len(list.Anomalies) != 1 || list.Anomalies[0].Status != "confirmed" {
			t.Errorf("after confirming through the page, the API lists %+v", list.Anomalies)
		}
	})

	t.Run("dispute", func(t *testing.T) {
		item := `#dispute-list li[data-dispute="` + data.dispute + `"]`
		b.Do("see the dispute", chromedp.WaitVisible(chromedp.CSS(item)))
		b.Do("read the statement", chromedp.Click(chromedp.CSS(item+` summary`)), chromedp.Click(chromedp.CSS(item+` button[data-read]`)),
			chromedp.WaitVisible(chromedp.CSS(item+` blockquote`)))
		if got := browsertest.Eval[string](b, `document.querySelector(`+jsString(item+` blockquote`)+`).textContent`); got != "I was in Delhi all that week; ask my employer." {
			t.Errorf("statement shown %q", got)
		}
		if got := browsertest.Eval[string](b, `document.querySelector(`+jsString(item+` .statement`)+`).textContent`); !strings.Contains(got, "dose 1 of Covishield, 4 May 2021, at "+howrah.site) {
			t.Errorf("the statement does not say which dose: %q", got)
		}
		if n := len(srv.person(t, data.disputed).Doses); n != 1 {
			t.Fatalf("before the decision the person has %d doses, want 1", n)
		}

		// The wrong pincode: the claimed value beside the recorded one.
		other := `#dispute-list li[data-dispute="` + data.moved + `"]`
		b.Do("read the other statement", chromedp.Click(chromedp.CSS(other+` summary`)), chromedp.Click(chromedp.CSS(other+` button[data-read]`)),
			chromedp.WaitVisible(chromedp.CSS(other+` blockquote`)))
		if got := browsertest.Eval[string](b, `document.querySelector(`+jsString(other+` .statement`)+`).textContent`); !strings.Contains(got, "The right pincode, they say: 411004 (the record has 411001)") {
			t.Errorf("the pincode dispute shows %q", got)
		}
		// Decided elsewhere meanwhile: the page says what the API says.
		decision := map[string]any{"decision": "rejected", "note": "no proof of address"}
		srv.call(t, "POST", "/api/v1/disputes/"+data.moved+"/resolve", srv.ravi, decision, http.StatusOK, nil)
		var refused struct{ Error struct{ Message string } }
		srv.call(t, "POST", "/api/v1/disputes/"+data.moved+"/resolve", srv.ravi, decision, http.StatusConflict, &refused)
		b.Do("reject it too", chromedp.SendKeys(chromedp.CSS(other+` .decide input`), "no proof of address"),
			chromedp.Click(chromedp.CSS(other+` button[data-decision="rejected"]`)))
		waitFor(t, b, "the API's refusal", `document.querySelector(`+jsString(other+` .decide [role=status]`)+`).textContent.startsWith(`+jsString(refused.Error.Message)+`)`)
		// A decision needs a reason.
		b.Do("uphold without a note", chromedp.Click(chromedp.CSS(item+` button[data-decision="upheld"]`)))
		if got := browsertest.Eval[string](b, `document.querySelector(`+jsString(item+` .decide [role=status]`)+`).textContent`); !strings.Contains(got, "reason") {
			t.Errorf("no note: the page says %q", got)
		}
		painted(b)
		b.Screenshot("dispute")
		b.Do("uphold it", chromedp.SendKeys(chromedp.CSS(item+` .decide input`), "site register has no entry for this person"),
			chromedp.Click(chromedp.CSS(item+` button[data-decision="upheld"]`)))
		waitFor(t, b, "the open list without it", `document.querySelectorAll("#dispute-list li[data-dispute]").length === 0 && document.getElementById("disputes-status").textContent.startsWith("Recorded")`)
		var list struct {
			Disputes []struct{ ID, Status, Note, ResolvedBy string }
		}
		srv.call(t, "GET", "/api/v1/disputes?status=upheld", srv.ravi, nil, http.StatusOK, &list)
		if len(list.Disputes) != 1 || list.Disputes[0].ID != data.dispute || list.Disputes[0].Note != "site register has no entry for this person" {
			t.Errorf("upheld disputes %+v", list.Disputes)
		}
		if doses := srv.person(t, data.disputed).Doses; len(doses) != 0 {
			t.Errorf("the dispute was upheld, yet the person has doses %v", doses)
		}
		// The coverage shown, refreshed, counts one dose fewer.
		b.Do("refresh coverage", chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)))
		waitFor(t, b, "coverage of 20 doses", `document.body.dataset.coverage === "ready" && document.getElementById("total-doses").textContent === "20"`)
	})

	t.Run("phone", func(t *testing.T) {
		// Nothing is wider than the phone, and every field has its label.
		if w := browsertest.Eval[[]int](b, `[document.documentElement.scrollWidth, innerWidth]`); w[0] > w[1] {
			t.Errorf("the page is %d pixels wide on a %d-pixel phone", w[0], w[1])
		}
		if bare := browsertest.Eval[[]string](b, `[...document.querySelectorAll("input, select, textarea")].filter((e) => e.type !== "hidden" && e.labels.length === 0).map((e) => e.id || e.outerHTML)`); len(bare) > 0 {
			t.Errorf("fields without a label: %q", bare)
		}
		if bare := browsertest.Eval[[]string](b, `[...document.querySelectorAll(".chart")].filter((c) => !c.getAttribute("aria-label")).map((c) => c.id)`); len(bare) > 0 {
			t.Errorf("charts without a description: %q", bare)
		}
	})

	t.Run("desktop", func(t *testing.T) {
		phone(t, b, 1280, 900) // not a phone: a desktop's window
		defer phone(t, b, 412, 915)
		waitFor(t, b, "charts to widen", `document.querySelector("#chart-days canvas").getBoundingClientRect().width > 500`)
		for _, id := range []string{"chart-days", "chart-districts", "chart-vaccines"} {
			if c := chart(b, id); c.Width < 500 || c.Painted < 100 {
				t.Errorf("%s on a desktop: %+v", id, c)
			}
		}
		// Pointing at a day's bar reads it out under the chart.
		at := browsertest.Eval[[]float64](b, `(() => {
			document.getElementById("chart-days").scrollIntoView();
			const o = document.querySelector("#chart-days .u-over").getBoundingClientRect();
			return [o.left + o.width * 0.1, o.top + o.height - 5];
		})()`)
		b.Do("point at the first day", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at[0], at[1]))
		waitFor(t, b, "the legend to read 3 May", `document.querySelector("#chart-days .u-legend").textContent.includes("3 May 2021")`)
		if got := browsertest.Eval[string](b, `document.querySelector("#chart-days .u-legend").textContent`); !strings.Contains(got, "Day3 May 2021Doses6") {
			t.Errorf("pointing at 3 May, the legend reads %q", got)
		}
		painted(b)
		b.Screenshot("desktop")
	})

	t.Run("expired token", func(t *testing.T) {
		browsertest.Eval[bool](b, `(() => {
			const k = "doseledger.session.official";
			const s = JSON.parse(sessionStorage.getItem(k));
			s.token = "expired." + s.token.slice(8);
			sessionStorage.setItem(k, JSON.stringify(s));
			return true;
		})()`)
		b.Do("refresh with a bad token", chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)),
			chromedp.WaitVisible(chromedp.ID("official-mobile")))
		if got := b.Text("notice"); !strings.Contains(got, "expired") {
			t.Errorf("notice %q", got)
		}
		painted(b)
		b.Screenshot("expired")
	})

	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("the page wrote errors to the console:\n%s", strings.Join(errs, "\n"))
	}
}

// phone makes the page's viewport width×height CSS pixels.
func phone(t *testing.T, b *browsertest.Browser, width, height int64) {
	t.Helper()
	if _, err := chromedp.Call(b.Context(), emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: width, Height: height, DeviceScaleFactor: 1, Mobile: width < 600}); err != nil {
		t.Fatal(err)
	}
}

// dayName writes 2021-05-03 as the page does: "3 May 2021".
func dayName(t *testing.T, d string) string {
	tm, err := time.Parse("2006-01-02", d)
	if err != nil {
		t.Fatal(err)
	}
	return tm.Format("2 Jan 2006")
}

// sameRows reports whether a and b hold the same rows, in any order.
func sameRows(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
