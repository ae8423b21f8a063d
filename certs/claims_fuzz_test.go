package certs

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeClaims holds decodeClaims (goccy/go-json) to encoding/json:
// it never accepts what is not JSON, and on UTF-8 JSON, wherever
// encoding/json decodes the claims, so does decodeClaims, to the same
// values.
func FuzzDecodeClaims(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "payload-v1.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.TrimSpace(golden))
	f.Add([]byte(`{"iss":"https://a.example","nbf":1687450764.656,"vc":{"type":["x"]}}`))
	f.Add([]byte(`{"ISS":"x","Nbf":1,"vc":{"credentialSubject":{"fhirBundle":{"entry":[{"resource":{"name":[{"given":["a"]}]}}]}}}`))
	f.Add([]byte(`{"nbf":-1}`))
	f.Add([]byte(`{"nbf":"1"}`))
	for _, bad := range []string{`{"iss":"a"}x`, `{"iss":"a",}`, `{"vc":{"type":["a",]}}`, `{"nbf":01}`, `{"nbf":1e}`,
		`{"iss":"\x"}`, `{"iss":tru}`, `{'iss':"a"}`, `{"iss":"a"}{"iss":"b"}`, `{"nbf":NaN}`, `{"iss":"\ud800"}`,
		`{"iss" "a"}`, `{"iss":"a" "nbf":1}`, `{"vc":{"type":["a" "b"]}}`, `{"iss":"a"`, `{"nbf":-}`, `{"nbf":.5}`, `{"nbf":1.}`,
		"{\"iss\":\"\t\"}", "{\n}"} {
		f.Add([]byte(bad))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeClaims(data)
		if err == nil && !json.Valid(data) {
			t.Fatalf("decodeClaims accepted what is not JSON: %q", data)
		}
		if !utf8.Valid(data) {
			return // refused on purpose
		}
		want := new(claims)
		if werr := json.Unmarshal(data, want); werr != nil {
			return
		}
		if err != nil {
			t.Fatalf("encoding/json decodes %q but decodeClaims fails: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n decodeClaims  %+v\n encoding/json %+v", data, got, want)
		}
	})
}
