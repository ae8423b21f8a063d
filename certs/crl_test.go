package certs_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doseledger/doseledger/certs"
)

// TestRevocationID_SpecSecret recomputes the rid of the specification's
// example 00 from its published test secret, kid and user id.
func TestRevocationID_SpecSecret(t *testing.T) {
	var secret struct{ Secret string }
	if err := json.Unmarshal(MustVector(t, "issuer-private/issuer.hmac.private.json"), &secret); err != nil {
		t.Fatal(err)
	}
	if got, want := certs.RevocationID([]byte(secret.Secret), specKid, "userid-00"), "MKyCxh7p6uQ"; got != want {
		t.Errorf("rid = %s, want %s (the rid of example 00)", got, want)
	}
	// The kid is part of the key: another key gives an unrelated rid.
	if a, b := certs.RevocationID([]byte(secret.Secret), specKid, "userid-00"), certs.RevocationID([]byte(secret.Secret), "other", "userid-00"); a == b {
		t.Error("rid does not depend on the kid")
	}
}

func TestParseCRL(t *testing.T) {
	// The form the specification's example issuer serves.
	doc := `{"kid":"` + specKid + `","method":"rid","ctr":1,"rids":["vwAjHdarZuc.1664492124","FKDIxsTCGlU"]}`
	c, err := certs.ParseCRL([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := &certs.CRL{KID: specKid, Method: "rid", Ctr: 1, RIDs: []string{"vwAjHdarZuc.1664492124", "FKDIxsTCGlU"}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Error(diff)
	}
	out, err := json.Marshal(c)
	if err != nil || string(out) != doc {
		t.Errorf("marshal: %s %v", out, err)
	}
	if out, _ := json.Marshal(certs.CRL{KID: "k", Method: "rid", Ctr: 1}); !strings.Contains(string(out), `"rids":[]`) {
		t.Errorf("empty CRL marshals as %s", out)
	}

	for name, tc := range map[string]struct {
		in   string
		want error
	}{
		"not JSON":            {`{"kid":`, certs.ErrMalformed},
		"no kid":              {`{"method":"rid","ctr":1,"rids":[]}`, certs.ErrMalformed},
		"other method":        {`{"kid":"k","method":"hash","ctr":1,"rids":[]}`, certs.ErrMalformed},
		"ctr zero":            {`{"kid":"k","method":"rid","ctr":0,"rids":[]}`, certs.ErrMalformed},
		"ctr a string":        {`{"kid":"k","method":"rid","ctr":"1","rids":[]}`, certs.ErrMalformed},
		"rid too long":        {`{"kid":"k","method":"rid","ctr":1,"rids":["` + strings.Repeat("A", 25) + `"]}`, certs.ErrMalformed},
		"rid not base64url":   {`{"kid":"k","method":"rid","ctr":1,"rids":["ab+c"]}`, certs.ErrMalformed},
		"empty rid":           {`{"kid":"k","method":"rid","ctr":1,"rids":[".1664492124"]}`, certs.ErrMalformed},
		"timestamp not digit": {`{"kid":"k","method":"rid","ctr":1,"rids":["abc.12e9"]}`, certs.ErrMalformed},
		"timestamp negative":  {`{"kid":"k","method":"rid","ctr":1,"rids":["abc.-5"]}`, certs.ErrMalformed},
		"timestamp empty":     {`{"kid":"k","method":"rid","ctr":1,"rids":["abc."]}`, certs.ErrMalformed},
		"two timestamps":      {`{"kid":"k","method":"rid","ctr":1,"rids":["abc.1.2.3"]}`, certs.ErrMalformed},
		"timestamp past 9999": {`{"kid":"k","method":"rid","ctr":1,"rids":["abc.999999999999"]}`, certs.ErrMalformed},
		"too many entries":    {`{"kid":"k","method":"rid","ctr":1,"rids":[` + strings.Repeat(`"a",`, certs.MaxCRLEntries) + `"a"]}`, certs.ErrTooLarge},
		"too large":           {`{"kid":"k","method":"rid","ctr":1,"rids":[]}` + strings.Repeat(" ", certs.MaxCRL), certs.ErrTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := certs.ParseCRL([]byte(tc.in)); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// A fractional timestamp, as JavaScript issuers write, is read.
	if _, err := certs.ParseCRL([]byte(`{"kid":"k","method":"rid","ctr":3,"rids":["abc.1664492124.5"]}`)); err != nil {
		t.Errorf("fractional timestamp: %v", err)
	}
}

// FuzzParseCRL: ParseCRL never panics, refuses with a sentinel, and what
// it accepts marshals and parses back to the same list.
func FuzzParseCRL(f *testing.F) {
	for _, s := range []string{
		`{"kid":"` + specKid + `","method":"rid","ctr":1,"rids":["vwAjHdarZuc.1664492124","FKDIxsTCGlU"]}`,
		`{"kid":"k","method":"rid","ctr":7,"rids":[]}`,
		`{"kid":"k","method":"rid","ctr":1,"rids":["a.1.5","a","a.99"]}`,
		`{"kid":"k","method":"rid","ctr":1,"rids":null}`,
		`{}`, `[]`, `null`, `{"kid":"k","method":"rid","ctr":1e3,"rids":["a.0"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := certs.ParseCRL(in)
		if err != nil {
			if !errors.Is(err, certs.ErrMalformed) && !errors.Is(err, certs.ErrTooLarge) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := certs.ParseCRL(out)
		if err != nil {
			t.Fatalf("reparse of %s: %v", out, err)
		}
		if c.KID != back.KID || c.Ctr != back.Ctr || len(c.RIDs) != len(back.RIDs) {
			t.Fatalf("round trip: %+v, %+v", c, back)
		}
	})
}
