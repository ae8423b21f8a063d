package certs

import (
	"sync"

	"github.com/go-pdf/fpdf"
)

// cp1252 maps the characters above ASCII that fpdf's core fonts
// (Helvetica, Times, Courier) can draw to their Windows-1252 byte. It is
// read once from fpdf's own code page map, the one its font metrics are
// for, and never changes after: a translator of fpdf's shares a buffer and
// is not safe for concurrent use, and parsing the map for every
// certificate would cost more than drawing one.
var cp1252 = sync.OnceValue(func() map[rune]byte {
	tr := fpdf.New("P", "mm", "A4", "").UnicodeTranslatorFromDescriptor("cp1252")
	// fpdf's translator writes one byte a rune, '.' for a rune it cannot
	// map. Windows-1252 maps nothing above U+2122 (the trade mark sign).
	var all []rune
	for r := rune(0x80); r <= 0x2122; r++ {
		all = append(all, r)
	}
	out := tr(string(all))
	m := make(map[rune]byte, 128)
	for i, r := range all {
		if out[i] != '.' {
			m[r] = out[i]
		}
	}
	return m
})

// encodeCP1252 returns the Windows-1252 byte of r, and whether it has one.
func encodeCP1252(r rune) (byte, bool) {
	if r < 0x80 {
		return byte(r), true
	}
	b, ok := cp1252()[r]
	return b, ok
}
