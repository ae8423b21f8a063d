package certs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/certs"
)

// An issuer signs a card with its P-256 key; a verifier that trusts the
// issuer's public key checks it offline.
func ExampleSigner_Issue() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // in production, loaded by cmd
	if err != nil {
		log.Fatal(err)
	}
	signer, err := certs.NewSignerECDSA(key)
	if err != nil {
		log.Fatal(err)
	}
	card, err := signer.Issue(certs.Request{
		Issuer:   "https://certs.doseledger.test/issuer",
		IssuedAt: time.Date(2021, 8, 2, 12, 0, 0, 0, time.UTC),
		Holder:   certs.Holder{Name: "Ananya Rao", BirthDate: "1987-04-12"},
		Doses: []certs.Dose{
			{Number: 1, Vaccine: "COVISHIELD", Date: "2021-05-03", Lot: "4121Z025", Site: "UPHC Ward 7, Kolkata"},
			{Number: 2, Vaccine: "COVISHIELD", Date: "2021-08-02", Lot: "4121Z118", Site: "Sassoon General Hospital, Pune"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(card.QR[:5], card.KeyID == signer.KeyID(), certs.CheckSingleQR(card.JWS) == nil)

	keys := jwk.NewSet()
	if err := keys.AddKey(signer.PublicKey()); err != nil {
		log.Fatal(err)
	}
	trust, err := certs.NewTrustList(certs.TrustedIssuer{ISS: "https://certs.doseledger.test/issuer", Name: "Test issuer", Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	v := certs.NewVerifier(trust, nil)
	r, err := v.Verify([]byte(card.QR))
	fmt.Println(r.Verdict, err, r.Holder.Name, len(r.Doses), r.Doses[1].Vaccine, r.Doses[1].Date)
	// Output:
	// shc:/ true true
	// VALID <nil> Ananya Rao 2 COVISHIELD 2021-08-02
}

// A verifier reads its trust list from a file and checks a card; a card
// from an issuer it does not know is UNKNOWN ISSUER, not INVALID.
func ExampleVerifier_Verify() {
	f, err := os.Open("testdata/trust.json")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	trust, err := certs.ReadTrustList(f)
	if err != nil {
		log.Fatal(err)
	}
	v := certs.NewVerifier(trust, &certs.VerifyOptions{Now: func() time.Time { return time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC) }})
	card, err := os.ReadFile("testdata/card-v1.qr.txt")
	if err != nil {
		log.Fatal(err)
	}
	r, err := v.Verify(card)
	fmt.Println(r.Verdict, err == nil, r.Form, r.Holder.Name, r.Holder.BirthDate)
	for _, d := range r.Doses {
		fmt.Println(d.Number, d.Vaccine, d.Date, d.Site)
	}

	r, err = certs.NewVerifier(nil, nil).Verify(card)
	fmt.Println(r.Verdict, "-", r.Reason)
	// Output:
	// VALID true qr Ananya Rao 1987-04-12
	// 1 COVISHIELD 2021-05-03 UPHC Ward 7, Kolkata
	// 2 COVISHIELD 2021-08-02 Sassoon General Hospital, Pune
	// 3 COVISHIELD 2022-04-20 Sassoon General Hospital, Pune
	// UNKNOWN ISSUER - unknown issuer: https://certs.doseledger.test/issuer is not in the trust list
}

func ExampleEncodeQR() {
	qr, err := certs.EncodeQR("eyJ6aXAiOiJERUYi")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(qr)
	// Output: shc:/56762909524320603460292437404460
}

// A card split over several QR codes (shc:/C/N/…) is read from all its
// chunks, in any order.
func ExampleDecodeQR() {
	jws, err := certs.DecodeQR("shc:/2/2/60", "shc:/1/2/567629095243206034602924374044")
	fmt.Println(jws, err)
	// Output: eyJ6aXAiOiJERUYi <nil>
}

func ExampleMarshalPayload() {
	payload, err := certs.MarshalPayload(certs.Request{
		Issuer:   "https://certs.doseledger.test/issuer",
		IssuedAt: time.Date(2021, 4, 1, 6, 30, 0, 0, time.UTC),
		Holder:   certs.Holder{Name: "Imran Shaikh", BirthDate: "1979"},
		Doses:    []certs.Dose{{Number: 1, Vaccine: "COVAXIN", Date: "2021-04-01", Lot: "BB21A001", Site: "GMCH Guwahati", State: "Assam"}},
	})
	fmt.Println(string(payload), err)
	// Output: {"iss":"https://certs.doseledger.test/issuer","nbf":1617258600,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"text":"Imran Shaikh"}],"birthDate":"1979"}},{"fullUrl":"resource:1","resource":{"resourceType":"Immunization","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"502"}]},"patient":{"reference":"resource:0"},"occurrenceDateTime":"2021-04-01","performer":[{"actor":{"display":"GMCH Guwahati"}}],"lotNumber":"BB21A001","protocolApplied":[{"doseNumberPositiveInt":1}]}}]}}}} <nil>
}
