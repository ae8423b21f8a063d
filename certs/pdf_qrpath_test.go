package certs

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestQRCode_CoversDarkModules paints a QRCode's rectangles back onto a
// grid: every dark module is covered exactly once and no light one at
// all, for real codes and for random grids.
func TestQRCode_CoversDarkModules(t *testing.T) {
	grids := map[string][][]bool{}
	for _, n := range []int{21, 101, 113} {
		r := rand.New(rand.NewPCG(uint64(n), 1))
		m := make([][]bool, n)
		for i := range m {
			m[i] = make([]bool, n)
			for j := range m[i] {
				m[i][j] = r.IntN(2) == 0
			}
		}
		grids["random "+strconv.Itoa(n)] = m
	}
	for _, text := range []string{QRPrefix + "00", QRPrefix + strings.Repeat("56", 600)} {
		q, err := qrEncode(text)
		if err != nil {
			t.Fatal(err)
		}
		grids["code of "+strconv.Itoa(len(text))] = q.Bitmap()
	}
	for name, m := range grids {
		t.Run(name, func(t *testing.T) {
			q := qrCodeOf(m)
			if q.side != len(m) || !bytes.HasSuffix(q.rects, []byte(" re\n")) {
				t.Fatalf("code of %d modules a side, rectangles ending %q", q.side, q.rects[max(0, len(q.rects)-20):])
			}
			n := len(m)
			covered := make([][]int, n)
			for i := range covered {
				covered[i] = make([]int, n)
			}
			lines := strings.Split(strings.TrimSuffix(string(q.rects), "\n"), "\n")
			for _, l := range lines {
				f := strings.Fields(l)
				if len(f) != 5 || f[4] != "re" {
					t.Fatalf("line %q is not c r w h re", l)
				}
				var v [4]int
				for i := range v {
					x, err := strconv.Atoi(f[i])
					if err != nil {
						t.Fatalf("line %q: %v", l, err)
					}
					v[i] = x
				}
				c, r, w, h := v[0], v[1], v[2], v[3]
				if w < 1 || h < 1 || c+w > n || r+h > n {
					t.Fatalf("rectangle %q is outside the %d-module code", l, n)
				}
				for i := r; i < r+h; i++ {
					for j := c; j < c+w; j++ {
						covered[i][j]++
					}
				}
			}
			for i := range m {
				for j := range m[i] {
					want := 0
					if m[i][j] {
						want = 1
					}
					if covered[i][j] != want {
						t.Fatalf("module %d,%d (dark %v) covered %d times", i, j, m[i][j], covered[i][j])
					}
				}
			}
			t.Logf("%d modules a side: %d rectangles, %d bytes", n, len(lines), len(q.rects))
		})
	}
}
