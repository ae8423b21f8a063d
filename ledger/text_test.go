package ledger_test

import (
	"errors"
	"testing"

	"github.com/doseledger/doseledger/ledger"
)

func TestPlainText(t *testing.T) {
	for s, want := range map[string]bool{
		"Asha Verma": true, "आशा वर्मा": true, "O'Neil-Smith, Jr.": true, "": true,
		"Asha\tVerma": false, "Asha\nVerma": false, "L\x00": false, "\x7f": false, "\u0085": false, "\xff": false,
	} {
		if got := ledger.PlainText(s); got != want {
			t.Errorf("PlainText(%q) = %v, want %v", s, got, want)
		}
	}
	if f := ledger.NotPlainText("name", "Asha", "lot", "L\x00", "site", "\t"); f != "lot" {
		t.Errorf("NotPlainText named %q, want the first field that is not plain, lot", f)
	}
	s := ledger.SessionPublished{SiteID: "WB-KOL-0001", SiteName: "Medical\tCollege", State: "West Bengal", District: "Kolkata",
		Pincode: "700001", Date: "2021-05-01", Vaccine: "COVAXIN", Capacity: map[int]int{1: 10}, Slots: []string{"09:00-11:00"}}
	s.SessionID = ledger.SessionID(s.SiteID, s.Date)
	if err := s.Validate(); !errors.Is(err, ledger.ErrInvalidCommand) {
		t.Errorf("a site name with a tab: %v, want ErrInvalidCommand", err)
	}
	s.SiteName = "Medical College"
	if err := s.Validate(); err != nil {
		t.Errorf("the same session without the tab: %v", err)
	}
}

func TestSpreadsheetCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"Kolkata":         "Kolkata",
		"=1+2":            "'=1+2",
		"+Maharashtra":    "'+Maharashtra",
		"-Pune":           "'-Pune",
		"@SUM(1+1)":       "'@SUM(1+1)",
		"\tx":             "'\tx",
		"\r=1":            "'\r=1",
		"-3":              "-3",
		"+91":             "+91",
		`=HYPERLINK("x")`: `'=HYPERLINK("x")`,
		"Covishield (=2)": "Covishield (=2)",
	} {
		if got := ledger.SpreadsheetCell(in); got != want {
			t.Errorf("SpreadsheetCell(%q) = %q, want %q", in, got, want)
		}
	}
}
