package ledger

import (
	"unicode"
	"unicode/utf8"
)

// PlainText reports whether s is UTF-8 text without control characters:
// what names, places, lots and the like may hold. A tab pasted from a
// spreadsheet or a NUL from a device would be stored for good, and a
// certificate cannot print them.
func PlainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// NotPlainText returns the name of the first of pairs (name, value, name,
// value…) whose value is not PlainText, or "" if every one is.
func NotPlainText(pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !PlainText(pairs[i+1]) {
			return pairs[i]
		}
	}
	return ""
}
