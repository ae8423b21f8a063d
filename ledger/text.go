package ledger

import (
	"strconv"
	"strings"
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

// SpreadsheetCell returns s as a CSV cell that a spreadsheet shows as
// text: a cell beginning with =, +, - or @ (or a tab or carriage return)
// is run as a formula when the file is opened, so such a cell is written
// with a leading apostrophe, as OWASP advises for CSV injection. Numbers
// ("-3", "+91") are left as they are. Place, site and vaccine names come
// from field reports and paper registers, and officials open the exports
// in spreadsheets.
func SpreadsheetCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}
