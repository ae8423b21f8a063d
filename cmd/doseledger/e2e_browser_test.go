package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/doseledger/doseledger/api/web/browsertest"
	"github.com/doseledger/doseledger/ledger"
)

// TestEndToEnd_InABrowser runs the real server (serve, on an empty data
// directory with the staff and policies it needs) and drives its pages in
// headless Chromium as the people who use them would: an official
// publishes a session; a citizen signs in with the OTP from the outbox,
// registers two people and books; the vaccinator looks both up by
// booking code and records the doses, one while the tab is offline,
// queued on the device and sent when the network returns (and sent again
// without a second dose); the citizen downloads the certificate; and the
// verifier page checks its QR with the network cut and the server gone.
func TestEndToEnd_InABrowser(t *testing.T) {
	b := browsertest.New(t, &browsertest.Options{Timeout: 4 * time.Minute})
	dir := t.TempDir()
	// Vaccine policies come with the seeded country; staff from the directory.
	if _, stderr, err := run(t, "--data", dir, "seed", "--people", "8", "--days", "2", "--quiet"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, s := range [][]string{
		{"--id", "anita", "--name", "Anita Rao", "--mobile", "9000000001", "--role", "vaccinator"},
		{"--id", "ravi", "--name", "Ravi Kumar", "--mobile", "9000000002", "--role", "official"},
	} {
		if _, stderr, err := run(t, append([]string{"--data", dir, "staff", "add"}, s...)...); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
	}
	base, stop, _ := startServe(t, dir)
	outbox := filepath.Join(dir, "outbox.ndjson")

	// The official publishes today's session through the API.
	today := ledger.DateOf(time.Now())
	official := apiSignIn(t, base, outbox, "9000000002", "official")
	const site = "WB-KOL-9001"
	apiPost(t, base+"/api/v1/sessions", official, map[string]any{"site_id": site, "site_name": "UPHC Ward 9, Kolkata",
		"state": "West Bengal", "district": "Kolkata", "pincode": "700009", "date": today, "vaccine": "COVISHIELD",
		"capacity": map[string]int{"1": 20, "2": 20}, "slots": []string{"09:00-13:00", "14:00-17:00"}}, http.StatusCreated)

	// The citizen signs in, registers two people and books both.
	b.Do("open the portal", chromedp.Navigate(base+"/portal/"), chromedp.WaitVisible(chromedp.ID("citizen-mobile")))
	b.Screenshot("portal-signin")
	pageSignIn(t, b, outbox, "citizen", "9876543210")
	b.Do("see the empty account", chromedp.WaitVisible(chromedp.ID("people-empty")))
	for _, who := range []struct{ name, birth, id string }{{"Asha Verma", "1980-02-14", "500012341234"}, {"Bimal Verma", "1978-11-02", "500012345678"}} {
		b.Do("register "+who.name,
			chromedp.SetValue(chromedp.ID("r-name"), who.name), chromedp.SetValue(chromedp.ID("r-birth"), who.birth),
			chromedp.SetValue(chromedp.ID("r-idnumber"), who.id), chromedp.SetValue(chromedp.ID("r-state"), "West Bengal"),
			chromedp.SetValue(chromedp.ID("r-district"), "Kolkata"), chromedp.SetValue(chromedp.ID("r-pincode"), "700009"),
			chromedp.Click(chromedp.ID("register-submit")))
		waitText(t, b, "register-status", "Registered")
		browsertest.Eval[string](b, `document.getElementById("register-status").textContent = ""`)
	}
	people := browsertest.Eval[[]string](b, `[...document.querySelectorAll("#people > li")].map((li) => li.id.replace("person-", ""))`)
	if len(people) != 2 {
		t.Fatalf("people shown %v", people)
	}
	codes := map[string]string{}
	for _, id := range people {
		// The last search's sessions go first, so that the wait below is
		// for this search's and the click lands on a button still shown.
		browsertest.Eval[bool](b, `document.getElementById("sessions").replaceChildren() === undefined`)
		b.Do("book for "+id, chromedp.SetValue(chromedp.ID("s-pincode"), "700009"), chromedp.SetValue(chromedp.ID("s-date"), today),
			chromedp.Click(chromedp.CSS("#search button[type=submit]")))
		waitJS(t, b, "sessions found", `document.querySelectorAll("#sessions button").length > 0`, "book-status")
		b.Do("book", chromedp.SetValue(chromedp.ID("book-for"), id), chromedp.Click(chromedp.CSS("#sessions button")))
		waitText(t, b, "book-status", "Your booking code")
		b.Do("see the code", chromedp.WaitVisible(chromedp.ID("code-"+id)))
		codes[id] = b.Text("code-" + id)
	}
	b.Screenshot("portal-booked")

	// The vaccinator opens the session, records Asha's dose online…
	b.Do("open the vaccinator page", chromedp.Navigate(base+"/vaccinator/"), chromedp.WaitVisible(chromedp.ID("vaccinator-mobile")))
	pageSignIn(t, b, outbox, "vaccinator", "9000000001")
	if _, err := chromedp.Run(b.Context(), chromedp.Poll[bool](`navigator.serviceWorker.controller !== null`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the vaccinator's service worker never took control: %v", err)
	}
	b.Do("open the session", chromedp.SetValue(chromedp.ID("site-id"), site), chromedp.SetValue(chromedp.ID("site-date"), today),
		chromedp.Click(chromedp.CSS("#site-form button[type=submit]")))
	waitText(t, b, "session-status", "2 booked")
	record := func(id, name string, twice bool) {
		b.Do("look up "+id, chromedp.SetValue(chromedp.ID("code"), codes[id]), chromedp.Click(chromedp.CSS("#lookup-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.ID("dose-card")))
		if got := b.Text("d-id"); got != id {
			t.Fatalf("code %s looked up %s, want %s", codes[id], got, id)
		}
		if got := b.Text("d-name"); !strings.Contains(got, name) {
			t.Errorf("the lookup of %s showed the name %q, want %q", id, got, name)
		}
		b.Do("record "+id, chromedp.SetValue(chromedp.ID("d-lot"), "4121Z025"))
		if twice { // a double tap on Record: one dose, queued once
			browsertest.Eval[bool](b, `(() => { const f = document.getElementById("dose-form"); f.requestSubmit(); f.requestSubmit(); return true; })()`)
			return
		}
		b.Do("record "+id, chromedp.Click(chromedp.ID("record")))
	}
	record(people[0], "Asha Verma", false)
	waitQueue(t, b, people[0], "recorded")

	// …and Bimal's with the network cut: it waits on the device.
	b.Offline(true)
	record(people[1], "offline", true) // no name without the network: check the photo ID
	waitQueue(t, b, people[1], "waiting")
	if n := browsertest.Eval[int](b, `(async () => (await (await import("/vaccinator/queue.js")).all()).length)()`); n != 2 {
		t.Errorf("the queue holds %d doses after Record was pressed twice for one, want 2 in all", n)
	}
	b.Screenshot("vaccinator-offline-queued")
	if n := dosesOf(t, base, official, people[1]); n != 0 {
		t.Fatalf("an offline dose reached the server: %d", n)
	}
	b.Offline(false)
	waitQueue(t, b, people[1], "recorded")
	b.Screenshot("vaccinator-synced")
	// A lost answer: the device sends the dose again. It is recorded once.
	browsertest.Eval[bool](b, `(async () => {
		const q = await import("/vaccinator/queue.js");
		for (const e of await q.all()) { e.state = "waiting"; await q.update(e); }
		return true;
	})()`)
	b.Do("send again", chromedp.Click(chromedp.ID("sync")))
	waitQueue(t, b, people[1], "sent before")
	for _, id := range people {
		if n := dosesOf(t, base, official, id); n != 1 {
			t.Errorf("%s has %d doses, want 1", id, n)
		}
	}
	// A device whose clock was wrong (reset to 2000): the server refuses
	// the time, and the vaccinator puts it right and sends the dose again
	// under its event id. (A second report of Bimal's dose: recorded,
	// flagged as a duplicate, and not counted.)
	wrong := browsertest.Eval[string](b, `(async () => {
		const q = await import("/vaccinator/queue.js");
		const src = (await q.all()).find((e) => e.dose.beneficiary_id === `+jsString(people[1])+`);
		const dose = { ...src.dose, event_id: crypto.randomUUID(), occurred_at: "2000-01-01T04:30:00.000Z" };
		await q.add({ event_id: dose.event_id, dose, label: src.label, state: "waiting" });
		return dose.event_id;
	})()`)
	row := `#queue tr[data-event="` + wrong + `"]`
	b.Do("send the dose stamped in 2000", chromedp.Click(chromedp.ID("sync")), chromedp.WaitVisible(chromedp.CSS(row+`[data-state="refused"] .fix-time-open`)))
	b.Screenshot("vaccinator-time-refused")
	b.Do("correct its time", chromedp.Click(chromedp.CSS(row+" .fix-time-open")),
		chromedp.SetValue(chromedp.CSS(row+" input.fix-time"), today+"T10:00"), chromedp.Click(chromedp.CSS(row+" button.fix-time")),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-state="flagged"]`)))
	b.Screenshot("vaccinator-time-corrected")

	// The citizen downloads Asha's certificate and shows its QR.
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.Context(), browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}
	b.Do("open the portal again", chromedp.Navigate(base+"/portal/"), chromedp.WaitVisible(chromedp.ID("pdf-"+people[0])),
		chromedp.Click(chromedp.ID("pdf-"+people[0])))
	pdf := waitFile(t, filepath.Join(downloads, "certificate-"+people[0]+".pdf"))
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the download is not a PDF: %.20q", pdf)
	}
	b.Do("show the QR", chromedp.Click(chromedp.ID("qr-"+people[0])), chromedp.WaitVisible(chromedp.CSS("img.qr")))
	b.Screenshot("portal-certificate")
	qr := browsertest.Eval[string](b, `document.querySelector("#person-`+people[0]+` [data-qr]").dataset.qr`)
	if !strings.HasPrefix(qr, "shc:/") {
		t.Fatalf("QR text %.20q", qr)
	}
	// The QR image the portal shows, saved as a citizen would save it (the
	// page's policy keeps scripts from fetching the image's blob again, so
	// it is copied through a canvas: the same pixels).
	png64 := browsertest.Eval[string](b, `(() => {
		const img = document.querySelector("#person-`+people[0]+` img.qr");
		const c = document.createElement("canvas");
		c.width = img.naturalWidth; c.height = img.naturalHeight;
		c.getContext("2d").drawImage(img, 0, 0);
		return c.toDataURL("image/png").split(",")[1];
	})()`)
	png, err := base64.StdEncoding.DecodeString(png64)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("the portal's QR image is not a PNG (%v): %.20q", err, png)
	}
	qrFile := filepath.Join(t.TempDir(), "certificate-qr.png")
	if err := os.WriteFile(qrFile, png, 0o600); err != nil {
		t.Fatal(err)
	}

	// The verifier loads the trust list online, then checks the QR with no
	// network and no server.
	b.Do("open the verifier", chromedp.Navigate(base+"/verify/"), chromedp.WaitVisible(chromedp.CSS(`body[data-trust="ready"]`)))
	if _, err := chromedp.Run(b.Context(), chromedp.Poll[bool](`navigator.serviceWorker.controller !== null`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the verifier's service worker never took control: %v", err)
	}
	b.Offline(true)
	stop()
	// First the saved photo of the QR, read by the page's QR reader; then
	// the same card's text, pasted.
	b.Do("check the QR's photo offline", chromedp.Navigate(base+"/verify/"), chromedp.WaitVisible(chromedp.CSS(`body[data-trust="ready"]`)),
		chromedp.SetUploadFiles(chromedp.ID("photo"), []string{qrFile}), chromedp.WaitVisible(chromedp.ID("holder-name")))
	b.Screenshot("verifier-offline-photo")
	if v, name := b.Text("verdict"), b.Text("holder-name"); v != "VALID" || name != "Asha Verma" {
		t.Errorf("verifier shows %q for %q from the QR's photo, want VALID for Asha Verma", v, name)
	}
	b.Do("check the QR's text offline", chromedp.Navigate(base+"/verify/"), chromedp.WaitVisible(chromedp.CSS(`body[data-trust="ready"]`)),
		chromedp.Click(chromedp.CSS("details summary")), chromedp.SetValue(chromedp.ID("text"), qr), chromedp.Click(chromedp.ID("check")),
		chromedp.WaitVisible(chromedp.ID("holder-name")))
	b.Screenshot("verifier-offline")
	if v, name := b.Text("verdict"), b.Text("holder-name"); v != "VALID" || name != "Asha Verma" {
		t.Errorf("verifier shows %q for %q from the QR's text, want VALID for Asha Verma", v, name)
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("the pages logged errors: %q", errs)
	}
}

// startServe runs serve on dir at a free port until the test ends or stop
// is called, and returns its base URL and its log.
func startServe(t *testing.T, dir string) (base string, stop func(), log *syncWriter) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out syncWriter
	errb := &syncWriter{}
	go func() { done <- NewMain(&out, errb).Run(ctx, []string{"--data", dir, "serve", "--addr", addr}) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, errb.String())
		}
	}
	t.Cleanup(stop)
	base = "http://" + addr
	for range 200 {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base, stop, errb
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve never answered:\n%s", errb.String())
	return "", nil, nil
}

// apiSignIn signs mobile in as role through the API, reading the OTP from
// the outbox file, and returns the token.
func apiSignIn(t *testing.T, base, outbox, mobile, role string) string {
	t.Helper()
	apiPost(t, base+"/api/v1/auth/otp", "", map[string]string{"mobile": mobile}, http.StatusAccepted)
	tok := apiPost(t, base+"/api/v1/auth/token", "", map[string]string{"mobile": mobile, "otp": lastOTP(t, outbox, mobile), "role": role}, http.StatusOK)
	return tok["token"].(string)
}

func apiPost(t *testing.T, url, token string, body any, want int) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	status, out := send(t, req)
	if status != want {
		t.Fatalf("POST %s: %d %v, want %d", url, status, out, want)
	}
	return out
}

// dosesOf counts a person's doses as the API shows them to an official.
func dosesOf(t *testing.T, base, token, id string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/beneficiaries/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	status, out := send(t, req)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %v", id, status, out)
	}
	person, _ := out["beneficiary"].(map[string]any)
	doses, _ := person["doses"].([]any)
	return len(doses)
}

// pageSignIn signs in through a page's form as role, with the OTP the
// server wrote to the outbox.
func pageSignIn(t *testing.T, b *browsertest.Browser, outbox, role, mobile string) {
	t.Helper()
	b.Do("ask for a code", chromedp.SetValue(chromedp.ID(role+"-mobile"), mobile), chromedp.Click(chromedp.ID(role+"-send")),
		chromedp.WaitVisible(chromedp.ID(role+"-otp")))
	var code string
	for range 100 {
		if code = tryOTP(outbox, mobile); code != "" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Do("enter the code", chromedp.SetValue(chromedp.ID(role+"-otp"), code), chromedp.Click(chromedp.ID(role+"-verify")),
		chromedp.WaitVisible(chromedp.ID("signout")))
}

// tryOTP is lastOTP without failing: "" until a code is there.
func tryOTP(path, mobile string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	code := ""
	for _, line := range bytes.Split(b, []byte("\n")) {
		var l struct{ Kind, To, Text string }
		if json.Unmarshal(line, &l) == nil && l.Kind == "otp" && l.To == mobile {
			code, _, _ = strings.Cut(l.Text, " ")
		}
	}
	return code
}

// waitText waits until element id's text contains want.
func waitText(t *testing.T, b *browsertest.Browser, id, want string) {
	t.Helper()
	expr := `(document.getElementById(` + jsString(id) + `)?.textContent || "").includes(` + jsString(want) + `)`
	if _, err := chromedp.Run(b.Context(), chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.Screenshot("waiting-for-" + id)
		t.Fatalf("#%s never said %q; it says %q", id, want, b.Text(id))
	}
}

// waitQueue waits until the vaccinator's queue row of person says want.
func waitQueue(t *testing.T, b *browsertest.Browser, person, want string) {
	t.Helper()
	expr := `[...document.querySelectorAll("#queue tr")].some((r) => r.cells[1].textContent.includes(` + jsString(person) +
		`) && r.cells[3].textContent.includes(` + jsString(want) + `))`
	if _, err := chromedp.Run(b.Context(), chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(45*time.Second))); err != nil {
		b.Screenshot("queue-" + want)
		t.Fatalf("the queue never showed %s as %q: %s", person, want, b.Text("queue"))
	}
}

func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	for range 200 {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return b
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s was never downloaded", path)
	return nil
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitJS waits until expr is true, showing element status if it is not.
func waitJS(t *testing.T, b *browsertest.Browser, what, expr, status string) {
	t.Helper()
	if _, err := chromedp.Run(b.Context(), chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.Screenshot("waiting-" + strings.ReplaceAll(what, " ", "-"))
		t.Fatalf("%s: never; #%s says %q", what, status, b.Text(status))
	}
}
