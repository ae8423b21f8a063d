package web_test

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/doseledger/doseledger/api/web/browsertest"
	"github.com/doseledger/doseledger/certs"
)

// fakeCamera writes a Y4M video for Chromium's fake camera: each QR text
// drawn black on white in the middle of a 640×480 frame, shown for frames
// frames in turn (Chromium loops the file).
func fakeCamera(t *testing.T, frames int, qrs ...string) string {
	t.Helper()
	const w, h = 640, 480
	path := filepath.Join(t.TempDir(), "camera.y4m")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewWriter(f)
	fmt.Fprintf(out, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", w, h)
	chroma := bytes.Repeat([]byte{128}, w*h/2) // U and V planes: grey
	for _, qr := range qrs {
		b, err := certs.QRCodePNG(qr, -4)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		luma := bytes.Repeat([]byte{255}, w*h)
		r := img.Bounds()
		if r.Dx() > w || r.Dy() > h {
			t.Fatalf("QR is %v, larger than the camera's frame", r.Size())
		}
		x0, y0 := (w-r.Dx())/2, (h-r.Dy())/2
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if gray(img, x, y) < 128 {
					luma[(y0+y-r.Min.Y)*w+x0+x-r.Min.X] = 16
				}
			}
		}
		for range frames {
			out.WriteString("FRAME\n")
			out.Write(luma)
			out.Write(chroma)
		}
	}
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func gray(img image.Image, x, y int) uint32 {
	r, g, b, _ := img.At(x, y).RGBA()
	return (r + g + b) / 3 >> 8
}

// chunked splits a card's JWS into the n QR texts of a chunked set
// (shc:/i/n/...), the deprecated form verifiers must still read.
func chunked(t *testing.T, jws string, n int) []string {
	t.Helper()
	var out []string
	size := (len(jws) + n - 1) / n
	for i := range n {
		part := jws[i*size : min(len(jws), (i+1)*size)]
		qr, err := certs.EncodeQR(part)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("shc:/%d/%d/%s", i+1, n, strings.TrimPrefix(qr, "shc:/")))
	}
	return out
}

// TestVerifier_Camera scans cards with the camera: Chromium's fake camera
// plays a video of the QR codes, the page reads its frames with the QR
// reader, and checks the card. A chunked set is read QR by QR.
func TestVerifier_Camera(t *testing.T) {
	srv := newServer(t)
	signer, err := srv.ring.Signer()
	if err != nil {
		t.Fatal(err)
	}
	card := issue(t, signer, testIssuer, "Meera Iyer", "1992-07-21", "bWVlcmEtaXllcg")

	for _, c := range []struct {
		name string
		qrs  []string
	}{
		{"one QR", []string{card.QR}},
		{"chunked set of two", chunked(t, card.JWS, 2)},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := browsertest.New(t, &browsertest.Options{Flags: map[string]any{
				"use-fake-device-for-media-stream": true,
				"use-fake-ui-for-media-stream":     true, // grants the camera
				"use-file-for-fake-video-capture":  fakeCamera(t, 5, c.qrs...),
			}})
			b.Do("open the verifier", chromedp.Navigate(srv.URL+"/verify/"),
				chromedp.WaitVisible(chromedp.CSS(`body[data-trust="ready"]`)),
				chromedp.Click(chromedp.ID("scan")))
			got := waitVerdict(t, b)
			b.Screenshot("scanned")
			if got.Verdict != "VALID" || got.Name != "Meera Iyer" || len(got.Doses) != 2 {
				t.Errorf("shown %+v, want VALID for Meera Iyer with 2 doses", got)
			}
			if visible := browsertest.Eval[bool](b, `!document.getElementById("camera").classList.contains("hidden")`); visible {
				t.Error("the camera view is still open after the card was read")
			}
			if errs := b.Errors(); len(errs) > 0 {
				t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
			}
		})
	}

	// Half a chunked set: the page says which QR it has and waits for the
	// rest, giving no verdict, until the official stops the camera.
	t.Run("half a chunked set", func(t *testing.T) {
		b := browsertest.New(t, &browsertest.Options{Flags: map[string]any{
			"use-fake-device-for-media-stream": true,
			"use-fake-ui-for-media-stream":     true,
			"use-file-for-fake-video-capture":  fakeCamera(t, 5, chunked(t, card.JWS, 2)[0]),
		}})
		b.Do("open the verifier and scan", chromedp.Navigate(srv.URL+"/verify/"),
			chromedp.WaitVisible(chromedp.CSS(`body[data-trust="ready"]`)),
			chromedp.Click(chromedp.ID("scan")))
		if _, err := chromedp.Run(b.Context(), chromedp.Poll[bool](
			`document.getElementById("camera-status").textContent.startsWith("Read QR 1 of 2")`,
			chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			b.Screenshot("stuck")
			t.Fatalf("the page never said it read QR 1 of 2: %v (it says %q)", err, b.Text("camera-status"))
		}
		b.Screenshot("waiting-for-the-rest")
		b.Do("stop the camera", chromedp.Click(chromedp.ID("stop")), chromedp.WaitNotVisible(chromedp.ID("camera")))
		if v := browsertest.Eval[string](b, `document.getElementById("result").dataset.verdict || ""`); v != "" {
			t.Errorf("verdict %q from half a set", v)
		}
	})
}
