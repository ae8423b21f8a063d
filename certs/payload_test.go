package certs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/ledger"
)

// TestMarshalPayload_Golden freezes the claims written for a fixed request.
func TestMarshalPayload_Golden(t *testing.T) {
	got, err := certs.MarshalPayload(fixedRequest())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "payload-v1.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := bytes.TrimSuffix(MustReadFile(t, path), []byte("\n"))
	if !bytes.Equal(got, want) {
		t.Errorf("payload differs from %s (run with -update if the change is meant):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

// TestMarshalPayload_Shape checks the payload against the specification's
// rules: minified, the required claims, a Patient as resource:0 and one
// Immunization per dose, and nothing the minimization rules drop.
func TestMarshalPayload_Shape(t *testing.T) {
	req := fixedRequest()
	req.Expires = fixedTime.AddDate(5, 0, 0)
	b, err := certs.MarshalPayload(req)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(compact.Bytes(), b) {
		t.Error("payload is not minified")
	}
	var c struct {
		Iss string  `json:"iss"`
		Nbf float64 `json:"nbf"`
		Exp float64 `json:"exp"`
		VC  struct {
			Type              []string `json:"type"`
			RID               string   `json:"rid"`
			CredentialSubject struct {
				FHIRVersion string `json:"fhirVersion"`
				FHIRBundle  struct {
					ResourceType string `json:"resourceType"`
					Type         string `json:"type"`
					Entry        []struct {
						FullURL  string                     `json:"fullUrl"`
						Resource map[string]json.RawMessage `json:"resource"`
					} `json:"entry"`
				} `json:"fhirBundle"`
			} `json:"credentialSubject"`
		} `json:"vc"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.Iss != testIssuer || c.Nbf != float64(fixedTime.Unix()) || c.Exp != float64(req.Expires.Unix()) {
		t.Errorf("iss, nbf, exp = %s, %v, %v", c.Iss, c.Nbf, c.Exp)
	}
	if diff := cmp.Diff([]string{certs.HealthCardType}, c.VC.Type); diff != "" {
		t.Errorf("vc.type: %s", diff)
	}
	if c.VC.RID != req.RID || c.VC.CredentialSubject.FHIRVersion != "4.0.1" {
		t.Errorf("rid %q, fhirVersion %q", c.VC.RID, c.VC.CredentialSubject.FHIRVersion)
	}
	bundle := c.VC.CredentialSubject.FHIRBundle
	if bundle.ResourceType != "Bundle" || bundle.Type != "collection" || len(bundle.Entry) != 1+len(req.Doses) {
		t.Fatalf("bundle %s/%s with %d entries", bundle.ResourceType, bundle.Type, len(bundle.Entry))
	}
	wantKeys := map[string][]string{
		"Patient":      {"birthDate", "name", "resourceType"},
		"Immunization": {"lotNumber", "occurrenceDateTime", "patient", "performer", "protocolApplied", "resourceType", "status", "vaccineCode"},
	}
	for i, e := range bundle.Entry {
		if want := "resource:" + string(rune('0'+i)); e.FullURL != want {
			t.Errorf("entry %d fullUrl %q, want %q", i, e.FullURL, want)
		}
		var rt string
		_ = json.Unmarshal(e.Resource["resourceType"], &rt)
		if (i == 0) != (rt == "Patient") {
			t.Errorf("entry %d is a %s", i, rt)
		}
		var keys []string
		for k := range e.Resource {
			keys = append(keys, k)
		}
		if diff := cmp.Diff(wantKeys[rt], keys, cmpSorted); diff != "" {
			t.Errorf("entry %d (%s) keys: %s", i, rt, diff)
		}
	}
	imm := string(b[strings.Index(string(b), `"resource:1"`):])
	for _, want := range []string{`"status":"completed"`, `"vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"210"}]}`,
		`"patient":{"reference":"resource:0"}`, `"occurrenceDateTime":"2021-05-03"`, `"lotNumber":"4121Z025"`,
		`"performer":[{"actor":{"display":"UPHC Ward 7, Kolkata"}}]`, `"protocolApplied":[{"doseNumberPositiveInt":1}]`} {
		if !strings.Contains(imm, want) {
			t.Errorf("first Immunization lacks %s", want)
		}
	}
	// Minimization: no resource ids, meta, narrative, coding display; the
	// state is not written; & stays as it is.
	for _, banned := range []string{`"id"`, `"meta"`, `"div"`, `"display":"COVISHIELD"`, "West Bengal", "Maharashtra", `\u0026`} {
		if bytes.Contains(b, []byte(banned)) {
			t.Errorf("payload contains %s", banned)
		}
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

// TestMarshalPayload_Privacy builds a request from a ledger person with a
// mobile and an ID number: neither may reach the payload.
func TestMarshalPayload_Privacy(t *testing.T) {
	p := ledger.Personal{Name: "Imran Shaikh", BirthDate: "", Mobile: "9876543210", IDNumber: "4321 8765 1234"}
	h := certs.HolderOf(p, 1979)
	if h != (certs.Holder{Name: "Imran Shaikh", BirthDate: "1979"}) {
		t.Fatalf("HolderOf = %+v", h)
	}
	rec := ledger.DoseRecord{EventID: "0d8f0c9e", Dose: 1, Vaccine: "COVAXIN", Date: "2021-04-01", SiteID: "AS-GUW-0001", State: "Assam", District: "Kamrup"}
	req := certs.Request{Issuer: testIssuer, IssuedAt: fixedTime, Holder: h, Doses: []certs.Dose{certs.DoseOf(rec, "BB21A001", "GMCH Guwahati")}}
	b, err := certs.MarshalPayload(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{p.Mobile, "9876543210", p.IDNumber, "432187651234", "1234", "Kamrup", "Assam", "AS-GUW-0001", "0d8f0c9e"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("payload contains %q: %s", secret, b)
		}
	}
	if !bytes.Contains(b, []byte(`"birthDate":"1979"`)) || !bytes.Contains(b, []byte(`"code":"502"`)) {
		t.Errorf("payload lacks the birth year or COVAXIN's code 502: %s", b)
	}
}

func TestMarshalPayload_VaccineCodes(t *testing.T) {
	for vaccine, code := range map[string]string{"COVISHIELD": "210", "covaxin": "502", "Sputnik V": "505", "SPUTNIK LIGHT": "504", "COVOVAX": "211", "CORBEVAX": "500"} {
		req := fixedRequest()
		req.Doses = []certs.Dose{{Number: 1, Vaccine: vaccine, Date: "2021-05-03"}}
		b, err := certs.MarshalPayload(req)
		if err != nil {
			t.Fatalf("%s: %v", vaccine, err)
		}
		if want := `{"system":"http://hl7.org/fhir/sid/cvx","code":"` + code + `"}`; !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s: payload lacks %s", vaccine, want)
		}
	}
	req := fixedRequest()
	req.Doses = []certs.Dose{{Number: 1, Vaccine: "NEWVAX", VaccineSystem: "http://snomed.info/sct", VaccineCode: "28531000087107", Date: "2021-05-03"}}
	b, err := certs.MarshalPayload(req)
	if err != nil || !bytes.Contains(b, []byte(`{"system":"http://snomed.info/sct","code":"28531000087107"}`)) {
		t.Errorf("explicit coding: %v %s", err, b)
	}
}

func TestMarshalPayload_Invalid(t *testing.T) {
	for name, mutate := range map[string]func(*certs.Request){
		"no issuer":           func(r *certs.Request) { r.Issuer = "" },
		"http issuer":         func(r *certs.Request) { r.Issuer = "http://certs.doseledger.test/issuer" },
		"trailing slash":      func(r *certs.Request) { r.Issuer += "/" },
		"no issue time":       func(r *certs.Request) { r.IssuedAt = time.Time{} },
		"expires first":       func(r *certs.Request) { r.Expires = r.IssuedAt.Add(-time.Hour) },
		"no name":             func(r *certs.Request) { r.Holder.Name = "  " },
		"bad utf-8 name":      func(r *certs.Request) { r.Holder.Name = "Ana\xff" },
		"bad birth date":      func(r *certs.Request) { r.Holder.BirthDate = "12/04/1987" },
		"no birth date":       func(r *certs.Request) { r.Holder.BirthDate = "" },
		"no doses":            func(r *certs.Request) { r.Doses = nil },
		"too many doses":      func(r *certs.Request) { r.Doses = make([]certs.Dose, certs.MaxDoses+1) },
		"dose number 0":       func(r *certs.Request) { r.Doses[0].Number = 0 },
		"bad dose date":       func(r *certs.Request) { r.Doses[1].Date = "2021-13-01" },
		"unknown vaccine":     func(r *certs.Request) { r.Doses[0].Vaccine = "NEWVAX" },
		"code without system": func(r *certs.Request) { r.Doses[0].VaccineCode = "210" },
		"bad rid":             func(r *certs.Request) { r.RID = "not base64url!" },
		"long rid":            func(r *certs.Request) { r.RID = strings.Repeat("a", 25) },
	} {
		t.Run(name, func(t *testing.T) {
			req := fixedRequest()
			mutate(&req)
			if _, err := certs.MarshalPayload(req); !errors.Is(err, certs.ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
}
