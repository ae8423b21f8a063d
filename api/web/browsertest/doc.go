// Package browsertest runs headless Chromium for the tests of doseledger's
// web pages, driven with chromedp over the DevTools protocol.
//
// A test calls New, which finds Chromium (FindChromium: chromium,
// chromium-browser or google-chrome; Debian packages chromium and
// chromium-driver), starts it headless with a fresh profile and a phone's
// window, and stops it when the test ends. Without Chromium the test is
// skipped, or fails under CI=true. The Browser's helpers fail the test on
// error: Do runs chromedp actions, Text and Eval read the page, Offline
// cuts the network, Screenshot saves the page as a PNG in
// DOSELEDGER_SCREENSHOTS (or a temporary directory) and logs where, and
// Errors lists console errors and uncaught exceptions, Content-Security-
// Policy violations included, so a test can require none.
//
// A page's test serves the real API and the embedded site on httptest,
// opens the page with Do(chromedp.Navigate(url)), acts on it with chromedp
// actions and checks what it shows; see api/web's verifier test.
package browsertest
