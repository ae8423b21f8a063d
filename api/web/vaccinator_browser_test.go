package web_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/doseledger/doseledger/api/web/browsertest"
)

// TestVaccinator_ClockWarning serves the vaccinator's page from a server
// whose clock is three hours ahead of the device's, as a device reset by
// a flat battery would be: the page says the device is behind before a
// dose is stamped with its time, and stops saying so once the clocks
// agree.
func TestVaccinator_ClockWarning(t *testing.T) {
	b := browsertest.New(t, nil)
	srv := newDashServer(t)
	var ahead atomic.Int64
	ahead.Store(int64(3 * time.Hour))
	api := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(time.Duration(ahead.Load())).UTC().Format(http.TimeFormat))
		api.ServeHTTP(w, r)
	})

	b.Do("open the page", chromedp.Navigate(srv.URL+"/vaccinator/"), chromedp.WaitVisible(chromedp.ID("vaccinator-mobile")))
	b.Do("ask for a code", chromedp.SendKeys(chromedp.ID("vaccinator-mobile"), vaccinatorMobile), chromedp.Click(chromedp.ID("vaccinator-send")),
		chromedp.WaitVisible(chromedp.ID("vaccinator-otp")))
	b.Do("sign in", chromedp.SendKeys(chromedp.ID("vaccinator-otp"), srv.otps.Code(vaccinatorMobile)), chromedp.Click(chromedp.ID("vaccinator-verify")),
		chromedp.WaitVisible(chromedp.ID("work")))
	waitFor(t, b, "the clock warning", `!document.getElementById("clock-warning").classList.contains("hidden")`)
	b.Screenshot("clock-warning")
	if got := b.Text("clock-warning"); !strings.Contains(got, "3 hours behind the server's") {
		t.Errorf("warning %q, want the device said to be 3 hours behind", got)
	}

	// The clock put right: the next answer clears the warning.
	ahead.Store(0)
	b.Do("open a session", chromedp.SetValue(chromedp.ID("site-id"), "WB-KOL-0007"), chromedp.Click(chromedp.CSS(`#site-form button`)))
	waitFor(t, b, "the warning to clear", `document.getElementById("clock-warning").classList.contains("hidden")`)
}
