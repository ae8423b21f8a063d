package certs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/doseledger/doseledger/ledger"
)

// HealthCardType is the credential type every SMART Health Card has in
// vc.type, and the only one written: the specification's 1.4 examples
// carry no other, and what the card holds is in its FHIR bundle.
const HealthCardType = "https://smarthealth.cards#health-card"

// FHIRVersion is the FHIR release of the bundle in credentialSubject.
const FHIRVersion = "4.0.1"

// CVXSystem is the code system of vaccineCode codings: the CDC's CVX
// (vaccines administered) codes, which cover the vaccines used in India
// and are what SMART Health Cards verifiers read first. SNOMED CT has no
// product-level code for most of them.
const CVXSystem = "http://hl7.org/fhir/sid/cvx"

// vaccineCodes maps a ledger vaccine name (upper case) to its CVX code.
// COVISHIELD is the Serum Institute's ChAdOx1-S, coded like AstraZeneca's
// Vaxzevria (210); COVOVAX is Novavax's NVX-CoV2373 made under licence
// (211); COVAXIN, Sputnik V and Sputnik Light have non-US codes (502, 505,
// 504). CORBEVAX and ZyCoV-D have no CVX code we know of, so they get 500
// ("COVID-19 non-US vaccine, product unknown"): a verifier then sees a
// COVID-19 dose but not which product. Revisit when CDC assigns codes.
var vaccineCodes = map[string]string{
	"COVISHIELD":    "210",
	"COVOVAX":       "211",
	"COVAXIN":       "502",
	"SPUTNIK LIGHT": "504",
	"SPUTNIK V":     "505",
	"CORBEVAX":      "500",
	"ZYCOV-D":       "500",
}

// cvxNames names the codes above when a card is read back. Codes 210, 211
// and 500 cover more than one product; the name is the one given in India.
var cvxNames = map[string]string{
	"210": "COVISHIELD",
	"211": "COVOVAX",
	"500": "COVID-19 vaccine (product not coded)",
	"502": "COVAXIN",
	"504": "SPUTNIK LIGHT",
	"505": "SPUTNIK V",
}

// Holder is the person a certificate is for: the minimum a verifier needs
// to match the card to the person in front of them. It has no mobile
// number, ID number or address, by design.
type Holder struct {
	// Name is the full name as registered, written as the FHIR HumanName
	// text: Indian names do not split reliably into given and family.
	Name string
	// BirthDate is YYYY-MM-DD, or YYYY when only the year is known.
	BirthDate string
}

// HolderOf returns the holder of a ledger person: the name and birth date
// only, or the birth year when the date is not known. The mobile and ID
// numbers of p are never copied.
func HolderOf(p ledger.Personal, birthYear int) Holder {
	h := Holder{Name: p.Name, BirthDate: p.BirthDate}
	if h.BirthDate == "" && birthYear > 0 {
		h.BirthDate = fmt.Sprintf("%04d", birthYear)
	}
	return h
}

// Dose is one dose on a certificate.
type Dose struct {
	// Number is the dose number in the schedule (1, 2, 3...). Read back
	// from a card that does not say, it is 0.
	Number int
	// Vaccine is the ledger's vaccine name, such as COVISHIELD. Read back
	// from a card, it is the name of the code, or "CVX <code>" when the
	// code is not one of ours.
	Vaccine string
	// VaccineSystem and VaccineCode are the coding written. When issuing
	// they may be left empty: the code is then looked up from Vaccine.
	VaccineSystem string
	VaccineCode   string
	// Date is the day the dose was given, YYYY-MM-DD.
	Date string
	// Lot is the vaccine lot number; empty if not known.
	Lot string
	// Site is the vaccination site's name, written as the performer.
	Site string
	// State is where the dose was given. It is for the printed certificate
	// and is not written in the QR payload: a verifier does not need it.
	State string
}

// DoseOf returns the certificate dose of a ledger dose record. The record
// has neither the lot nor the site's name, so the caller passes them.
func DoseOf(r ledger.DoseRecord, lot, site string) Dose {
	return Dose{Number: r.Dose, Vaccine: r.Vaccine, Date: r.Date, Lot: lot, Site: site, State: r.State}
}

// Request is what a certificate is issued from.
type Request struct {
	// Issuer is the iss claim: the issuer's https URL, with no trailing
	// slash. Its keys are at Issuer + "/.well-known/jwks.json".
	Issuer string
	// IssuedAt is the nbf claim (whole seconds).
	IssuedAt time.Time
	// Expires is the exp claim; zero for a card that does not expire.
	Expires time.Time
	Holder  Holder
	Doses   []Dose
	// RID is the optional revocation id (vc.rid), base64url, at most 24
	// characters.
	RID string
}

// MaxDoses is the most doses one certificate lists.
const MaxDoses = ledger.MaxDose

// MarshalPayload returns the JWT claims of req as minified JSON, the bytes
// that are compressed and signed: iss, nbf, exp if set, and vc with its
// types, rid if set, and a minimized FHIR R4 Bundle (a Patient with name
// and birth date as resource:0, then one Immunization per dose). It
// returns an error wrapping ErrInvalidRequest if a field is missing or
// malformed, or a vaccine has no known code.
func MarshalPayload(req Request) ([]byte, error) {
	c, err := buildClaims(req)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func invalidRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

func buildClaims(req Request) (*claims, error) {
	if err := checkIssuer(req.Issuer); err != nil {
		return nil, invalidRequest("%v", err)
	}
	if req.IssuedAt.IsZero() {
		return nil, invalidRequest("issued-at time is not set")
	}
	if !req.Expires.IsZero() && !req.Expires.After(req.IssuedAt) {
		return nil, invalidRequest("expires %s is not after issued-at %s", req.Expires.UTC().Format(time.RFC3339), req.IssuedAt.UTC().Format(time.RFC3339))
	}
	h := req.Holder
	if strings.TrimSpace(h.Name) == "" || !utf8.ValidString(h.Name) || len(h.Name) > 256 {
		return nil, invalidRequest("holder name must be 1 to 256 bytes of UTF-8")
	}
	if !validBirthDate(h.BirthDate) {
		return nil, invalidRequest("birth date %q is not YYYY-MM-DD or YYYY", h.BirthDate)
	}
	if len(req.Doses) == 0 || len(req.Doses) > MaxDoses {
		return nil, invalidRequest("a certificate lists 1 to %d doses, not %d", MaxDoses, len(req.Doses))
	}
	if req.RID != "" && !validRID(req.RID) {
		return nil, invalidRequest("rid %q is not 1 to 24 base64url characters", req.RID)
	}

	entries := make([]*entry, 0, 1+len(req.Doses))
	entries = append(entries, &entry{FullURL: "resource:0", Resource: resource{
		ResourceType: "Patient",
		Name:         []humanName{{Text: strings.TrimSpace(h.Name)}},
		BirthDate:    h.BirthDate,
	}})
	for i, d := range req.Doses {
		if d.Number < 1 || d.Number > ledger.MaxDose {
			return nil, invalidRequest("dose %d: number %d is not 1 to %d", i+1, d.Number, ledger.MaxDose)
		}
		if _, err := ledger.ParseDate(d.Date); err != nil {
			return nil, invalidRequest("dose %d: %v", i+1, err)
		}
		sys, code := d.VaccineSystem, d.VaccineCode
		if code == "" {
			var ok bool
			if code, ok = vaccineCodes[strings.ToUpper(strings.TrimSpace(d.Vaccine))]; !ok {
				return nil, invalidRequest("dose %d: no code for vaccine %q; set VaccineSystem and VaccineCode", i+1, d.Vaccine)
			}
			sys = CVXSystem
		}
		if sys == "" {
			return nil, invalidRequest("dose %d: vaccine code %q has no system", i+1, code)
		}
		for _, s := range []string{d.Lot, d.Site} {
			if !utf8.ValidString(s) || len(s) > 256 {
				return nil, invalidRequest("dose %d: lot and site must be at most 256 bytes of UTF-8", i+1)
			}
		}
		imm := resource{
			ResourceType:       "Immunization",
			Status:             "completed",
			VaccineCode:        &codeableConcept{Coding: []coding{{System: sys, Code: code}}},
			Patient:            &reference{Reference: "resource:0"},
			OccurrenceDateTime: d.Date,
			LotNumber:          d.Lot,
			ProtocolApplied:    []protocolApplied{{DoseNumberPositiveInt: d.Number}},
		}
		if d.Site != "" {
			imm.Performer = []performer{{Actor: reference{Display: d.Site}}}
		}
		entries = append(entries, &entry{FullURL: "resource:" + strconv.Itoa(i+1), Resource: imm})
	}

	c := &claims{
		Iss: req.Issuer,
		Nbf: &numericDate{req.IssuedAt.Truncate(time.Second)},
		VC: credential{
			Type: []string{HealthCardType},
			CredentialSubject: subject{
				FHIRVersion: FHIRVersion,
				FHIRBundle:  bundle{ResourceType: "Bundle", Type: "collection", Entry: entries},
			},
			RID: req.RID,
		},
	}
	if !req.Expires.IsZero() {
		c.Exp = &numericDate{req.Expires.Truncate(time.Second)}
	}
	return c, nil
}

// checkIssuer checks an iss value: an absolute https URL with a host, no
// trailing slash, query or fragment, as the specification requires.
func checkIssuer(iss string) error {
	u, err := url.Parse(iss)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(iss, "/") {
		return fmt.Errorf("issuer %q is not an https URL without a trailing slash", iss)
	}
	return nil
}

func validBirthDate(s string) bool {
	if len(s) == 4 {
		y, err := strconv.Atoi(s)
		return err == nil && y >= 1850 && y <= 9999
	}
	_, err := ledger.ParseDate(s)
	return err == nil
}

func validRID(s string) bool {
	if len(s) == 0 || len(s) > 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// The wire form of the claims. Field order is the order written, and
// follows the specification's examples. One resource struct serves both
// Patient and Immunization, so a card decodes in one pass; resource types
// other than these two (lab results) decode with their fields ignored.
type claims struct {
	Iss string       `json:"iss"`
	Nbf *numericDate `json:"nbf,omitempty"`
	Exp *numericDate `json:"exp,omitempty"`
	VC  credential   `json:"vc"`
}

type credential struct {
	Type              []string `json:"type"`
	CredentialSubject subject  `json:"credentialSubject"`
	RID               string   `json:"rid,omitempty"`
}

type subject struct {
	FHIRVersion string `json:"fhirVersion"`
	FHIRBundle  bundle `json:"fhirBundle"`
}

type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	// Entry holds pointers: goccy decodes a slice of large structs by
	// allocating and copying each element, a slice of pointers without
	// the copies. A null entry is nil.
	Entry []*entry `json:"entry"`
}

type entry struct {
	FullURL  string   `json:"fullUrl"`
	Resource resource `json:"resource"`
}

type resource struct {
	ResourceType string `json:"resourceType"`
	// Patient.
	Name      []humanName `json:"name,omitempty"`
	BirthDate string      `json:"birthDate,omitempty"`
	// Immunization.
	Status             string            `json:"status,omitempty"`
	VaccineCode        *codeableConcept  `json:"vaccineCode,omitempty"`
	Patient            *reference        `json:"patient,omitempty"`
	OccurrenceDateTime string            `json:"occurrenceDateTime,omitempty"`
	Performer          []performer       `json:"performer,omitempty"`
	LotNumber          string            `json:"lotNumber,omitempty"`
	ProtocolApplied    []protocolApplied `json:"protocolApplied,omitempty"`
}

type humanName struct {
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type codeableConcept struct {
	Coding []coding `json:"coding"`
}

type coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type performer struct {
	Actor reference `json:"actor"`
}

type protocolApplied struct {
	DoseNumberPositiveInt int `json:"doseNumberPositiveInt,omitempty"`
}

// maxNumericDate is the end of year 9999, the latest nbf or exp read.
const maxNumericDate = 253402300799

// numericDate is a JWT NumericDate. It is written as whole seconds and
// read from any JSON number, fractional ones too: the specification's own
// examples have nbf = 1687450764.656. Fractions are kept to the
// millisecond.
type numericDate struct{ time.Time }

func (n numericDate) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, n.Unix(), 10), nil
}

func (n *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return fmt.Errorf("numeric date %.40q is not a number of seconds from 1970 to 9999", b)
	}
	sec, frac := math.Modf(f)
	n.Time = time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC()
	return nil
}

// holderAndDoses reads the holder and the doses out of verified claims. It
// returns an error wrapping ErrMalformed if the bundle has no Patient as
// its first entry, or an Immunization lacks its vaccine code or date, or
// refers to another patient.
func (c *claims) holderAndDoses() (Holder, []Dose, error) {
	b := &c.VC.CredentialSubject.FHIRBundle
	if b.ResourceType != "Bundle" || len(b.Entry) == 0 || b.Entry[0] == nil || b.Entry[0].Resource.ResourceType != "Patient" {
		return Holder{}, nil, malformed("fhirBundle does not start with a Patient")
	}
	patient := b.Entry[0]
	h := Holder{BirthDate: patient.Resource.BirthDate}
	if len(patient.Resource.Name) > 0 {
		n := patient.Resource.Name[0]
		h.Name = n.Text
		if h.Name == "" {
			h.Name = strings.TrimSpace(strings.Join(append(append([]string(nil), n.Given...), n.Family), " "))
		}
	}
	if h.Name == "" {
		return Holder{}, nil, malformed("Patient has no name")
	}
	var doses []Dose
	if len(b.Entry) > 1 {
		doses = make([]Dose, 0, len(b.Entry)-1)
	}
	for i := 1; i < len(b.Entry); i++ {
		if b.Entry[i] == nil {
			continue // null, like an entry of no known type
		}
		r := &b.Entry[i].Resource
		if r.ResourceType != "Immunization" {
			continue
		}
		if r.VaccineCode == nil || len(r.VaccineCode.Coding) == 0 || r.OccurrenceDateTime == "" {
			return Holder{}, nil, malformed("Immunization %s has no vaccine code or date", b.Entry[i].FullURL)
		}
		if r.Patient == nil || r.Patient.Reference != patient.FullURL {
			return Holder{}, nil, malformed("Immunization %s is not for the card's Patient", b.Entry[i].FullURL)
		}
		if r.Status != "completed" {
			continue // entered-in-error or not done: not a dose
		}
		cd := r.VaccineCode.Coding[0]
		d := Dose{VaccineSystem: cd.System, VaccineCode: cd.Code, Date: r.OccurrenceDateTime, Lot: r.LotNumber}
		// A date-time keeps only its date: that is what a dose is counted by.
		if len(d.Date) > 10 && d.Date[10] == 'T' {
			d.Date = d.Date[:10]
		}
		switch name, ok := cvxNames[cd.Code]; {
		case cd.System == CVXSystem && ok:
			d.Vaccine = name
		case cd.System == CVXSystem:
			d.Vaccine = "CVX " + cd.Code
		default:
			d.Vaccine = cd.System + " " + cd.Code
		}
		if len(r.Performer) > 0 {
			d.Site = r.Performer[0].Actor.Display
		}
		if len(r.ProtocolApplied) > 0 {
			d.Number = r.ProtocolApplied[0].DoseNumberPositiveInt
		}
		doses = append(doses, d)
	}
	return h, doses, nil
}
