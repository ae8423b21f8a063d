package ledger_test

import (
	"encoding/json"
	"testing"

	"github.com/doseledger/doseledger/ledger"
)

// FuzzValidJSON holds ledger.ValidJSON to encoding/json's Valid.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{}`, ` {"a":[1,2.5e3,-0,true,null,"x\u00e9"]} `, `{"a":1,"a":2}`, "\"\xff\"", `"\ud800"`,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, "{\"\x10\":0}", `{"a":"\x"}`, `{"a":1,}`, `[1]x`, `{} {}`, ``, ` `, `"\t"`, "\"\t\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := ledger.ValidJSON(b), json.Valid(b); got != want {
			t.Fatalf("ValidJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	data := []byte(`{"beneficiary":"b-7f3c","session":"s-2021-05-03-ward7","dose_number":2,"vaccine":"COVISHIELD","lot":"4121Z025","site":"UPHC Ward 7, Kolkata","state":"WB","district":"Kolkata","vaccinator":"v-1182","given_at":"2021-05-03T10:42:00+05:30","source":"paper"}`)
	b.Run("jsontext", func(b *testing.B) {
		for b.Loop() {
			ledger.ValidJSON(data)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			json.Valid(data)
		}
	})
}
