package ledger_test

import (
	"testing"

	"github.com/doseledger/doseledger/ledger"
)

func TestBeneficiary_DueFrom(t *testing.T) {
	ps := policies(
		ledger.DefaultPolicy("COVAXIN", "2021-01-01"),
		ledger.DefaultPolicy("COVISHIELD", "2021-01-01"),
		ledger.VaccinePolicyChanged{Vaccine: "COVISHIELD", EffectiveFrom: "2021-05-13",
			Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 84}}},
		ledger.VaccinePolicyChanged{Vaccine: "COVISHIELD", EffectiveFrom: "2022-01-10",
			Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 84}, {Dose: 3, MinIntervalDays: 273, Precaution: true}}},
	)
	tests := []struct {
		name     string
		b        ledger.Beneficiary
		wantDate string
		wantDose int
		wantOK   bool
	}{
		{"no dose yet", registered(), "", 0, false},
		{"28 days, due on day 28", withDose(registered(), 1, "COVAXIN", "2021-04-01", "WB-KOL-0007", "West Bengal"), "2021-04-29", 2, true},
		{"old rule still in force on the due day", withDose(registered(), 1, "COVISHIELD", "2021-04-01", "WB-KOL-0007", "West Bengal"), "2021-04-29", 2, true},
		{"new rule in force by the due day", withDose(registered(), 1, "COVISHIELD", "2021-04-20", "WB-KOL-0007", "West Bengal"), "2021-07-13", 2, true},
		{"complete under a two-dose schedule", withDose(withDose(registered(), 1, "COVAXIN", "2021-04-01", "A", "West Bengal"), 2, "COVAXIN", "2021-05-01", "B", "Maharashtra"), "", 0, false},
		{"a precaution dose added later starts its own clock",
			withDose(withDose(registered(), 1, "COVISHIELD", "2021-03-01", "A", "West Bengal"), 2, "COVISHIELD", "2021-06-01", "B", "Kerala"),
			"2022-03-01", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			date, dose, _, ok := tt.b.DueFrom(ps)
			if date != tt.wantDate || dose != tt.wantDose || ok != tt.wantOK {
				t.Fatalf("DueFrom = %q dose %d %v, want %q dose %d %v", date, dose, ok, tt.wantDate, tt.wantDose, tt.wantOK)
			}
			if !ok {
				return
			}
			// The date agrees with Eligibility: refused the day before, accepted on it.
			_, _, vaccine, _ := tt.b.DueFrom(ps)
			if err := tt.b.Eligibility(ps, vaccine, dose, date); err != nil {
				t.Errorf("Eligibility on the due date: %v", err)
			}
			if err := tt.b.Eligibility(ps, vaccine, dose, ledger.AddDays(date, -1)); err == nil {
				t.Errorf("Eligibility the day before the due date accepted the dose")
			}
		})
	}
}

func TestBeneficiary_CompletedOn(t *testing.T) {
	ps := policies(ledger.DefaultPolicy("COVAXIN", "2021-01-01"))
	b := withDose(registered(), 1, "COVAXIN", "2021-04-01", "A", "West Bengal")
	if _, ok := b.CompletedOn(ps); ok {
		t.Fatal("one dose of two counted as complete")
	}
	b = withDose(b, 1, "COVAXIN", "2021-04-02", "A", "West Bengal") // reported twice
	if _, ok := b.CompletedOn(ps); ok {
		t.Fatal("a duplicate report of dose 1 counted as dose 2")
	}
	b = withDose(b, 2, "COVAXIN", "2021-05-03", "B", "Kerala")
	if date, ok := b.CompletedOn(ps); !ok || date != "2021-05-03" {
		t.Fatalf("CompletedOn = %q %v, want 2021-05-03", date, ok)
	}
}

func TestParseDate(t *testing.T) {
	for _, s := range []string{"2021-04-31", "2021-02-29", "2021-13-01", "2021-00-10", "2021-1-01", "21-04-01", "2021/04/01", "2021-04-01T", "２０２１-04-01", "+021-04-01", ""} {
		if _, err := ledger.ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted a non-date", s)
		}
	}
	for _, s := range []string{"2020-02-29", "2021-04-30", "0001-01-01", "9999-12-31"} {
		d, err := ledger.ParseDate(s)
		if err != nil || ledger.DateOf(d) != s {
			t.Errorf("ParseDate(%q) = %v, %v", s, d, err)
		}
	}
}
