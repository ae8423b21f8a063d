package synth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"hash"
	"strconv"

	"github.com/doseledger/doseledger/ledger"
)

// The payloads are encoded here by hand, byte for byte as encoding/json
// encodes the ledger's structs (which ledger.NewProposed uses): reflection
// took a third of the generator's time. The tests check every event of a
// history against ledger.NewProposed, so a field added to a payload and
// not here fails them.

// appendString appends s as a JSON string. Strings made here are plain
// ASCII; anything else goes to encoding/json, which knows every escape.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// field appends name (such as ,"name": or {"name": for the first) and s.
func field(b []byte, name, s string) []byte {
	b = append(b, name...)
	return appendString(b, s)
}

// plainField is field for a value that needs no escaping by its making:
// UUIDs, keyed hashes (base32), sealed data (base64url), ids of sites,
// sessions and beneficiaries. It spares checking their bytes.
func plainField(b []byte, name, s string) []byte {
	b = append(b, name...)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func intField(b []byte, name string, n int) []byte {
	b = append(b, name...)
	return strconv.AppendInt(b, int64(n), 10)
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

func appendSessionPublished(b []byte, p *ledger.SessionPublished) []byte {
	b = plainField(b, `{"session_id":`, p.SessionID)
	b = plainField(b, `,"site_id":`, p.SiteID)
	b = field(b, `,"site_name":`, p.SiteName)
	b = field(b, `,"state":`, p.State)
	b = field(b, `,"district":`, p.District)
	b = field(b, `,"pincode":`, p.Pincode)
	b = plainField(b, `,"date":`, p.Date)
	b = field(b, `,"vaccine":`, p.Vaccine)
	// encoding/json writes map keys sorted as strings; the doses here
	// are 1 and 2, so that is numeric order too.
	b = append(b, `,"capacity":{`...)
	for n := 1; n <= 2; n++ {
		if c, ok := p.Capacity[n]; ok {
			if b[len(b)-1] != '{' {
				b = append(b, ',')
			}
			b = append(b, '"', byte('0'+n), '"', ':')
			b = strconv.AppendInt(b, int64(c), 10)
		}
	}
	b = append(b, `},"slots":`...)
	b = appendStrings(b, p.Slots)
	return append(b, '}')
}

func appendBeneficiaryRegistered(b []byte, p *ledger.BeneficiaryRegistered) []byte {
	b = plainField(b, `{"beneficiary_id":`, p.BeneficiaryID)
	b = plainField(b, `,"account":`, p.Account)
	b = intField(b, `,"birth_year":`, p.BirthYear)
	b = field(b, `,"gender":`, p.Gender)
	b = field(b, `,"id_type":`, p.IDType)
	b = plainField(b, `,"id_hash":`, p.IDHash)
	b = field(b, `,"id_last4":`, p.IDLast4)
	b = plainField(b, `,"mobile_hash":`, p.MobileHash)
	b = field(b, `,"state":`, p.State)
	b = field(b, `,"district":`, p.District)
	b = field(b, `,"pincode":`, p.Pincode)
	b = plainField(b, `,"personal":`, string(p.Personal))
	return append(b, '}')
}

func appendSeatReserved(b []byte, p *ledger.SeatReserved) []byte {
	b = plainField(b, `{"session_id":`, p.SessionID)
	b = plainField(b, `,"appointment_id":`, p.AppointmentID)
	b = plainField(b, `,"beneficiary_id":`, p.BeneficiaryID)
	b = intField(b, `,"dose":`, p.Dose)
	b = field(b, `,"slot":`, p.Slot)
	return append(b, '}')
}

func appendSeatReleased(b []byte, p *ledger.SeatReleased) []byte {
	b = plainField(b, `{"session_id":`, p.SessionID)
	b = plainField(b, `,"appointment_id":`, p.AppointmentID)
	b = intField(b, `,"dose":`, p.Dose)
	b = field(b, `,"reason":`, p.Reason)
	return append(b, '}')
}

func appendAppointmentBooked(b []byte, p *ledger.AppointmentBooked) []byte {
	b = plainField(b, `{"appointment_id":`, p.AppointmentID)
	b = plainField(b, `,"beneficiary_id":`, p.BeneficiaryID)
	b = plainField(b, `,"session_id":`, p.SessionID)
	b = plainField(b, `,"site_id":`, p.SiteID)
	b = plainField(b, `,"date":`, p.Date)
	b = field(b, `,"vaccine":`, p.Vaccine)
	b = intField(b, `,"dose":`, p.Dose)
	b = field(b, `,"slot":`, p.Slot)
	b = plainField(b, `,"code":`, p.Code)
	return append(b, '}')
}

func appendAppointmentCancelled(b []byte, p *ledger.AppointmentCancelled) []byte {
	b = plainField(b, `{"appointment_id":`, p.AppointmentID)
	b = plainField(b, `,"beneficiary_id":`, p.BeneficiaryID)
	b = plainField(b, `,"session_id":`, p.SessionID)
	b = field(b, `,"reason":`, p.Reason)
	return append(b, '}')
}

func appendDoseAdministered(b []byte, p *ledger.DoseAdministered) []byte {
	b = plainField(b, `{"beneficiary_id":`, p.BeneficiaryID)
	b = intField(b, `,"dose":`, p.Dose)
	b = field(b, `,"vaccine":`, p.Vaccine)
	b = field(b, `,"lot":`, p.Lot)
	b = plainField(b, `,"site_id":`, p.SiteID)
	b = field(b, `,"state":`, p.State)
	b = field(b, `,"district":`, p.District)
	if p.SessionID != "" {
		b = plainField(b, `,"session_id":`, p.SessionID)
	}
	if p.AppointmentID != "" {
		b = plainField(b, `,"appointment_id":`, p.AppointmentID)
	}
	b = field(b, `,"vaccinator":`, p.Vaccinator)
	b = field(b, `,"capture":`, p.Capture)
	if len(p.Anomalies) > 0 {
		b = append(b, `,"anomalies":`...)
		b = appendStrings(b, p.Anomalies)
	}
	if p.DuplicateOf != "" {
		b = plainField(b, `,"duplicate_of":`, p.DuplicateOf)
	}
	return append(b, '}')
}

func appendDoseVoided(b []byte, p *ledger.DoseVoided) []byte {
	b = plainField(b, `{"beneficiary_id":`, p.BeneficiaryID)
	b = plainField(b, `,"dose_event_id":`, p.DoseEventID)
	b = field(b, `,"reason":`, p.Reason)
	b = field(b, `,"voided_by":`, p.VoidedBy)
	return append(b, '}')
}

// hasher computes the keyed hashes of ledger.Hasher (same key, same
// values) with one HMAC that is reset between uses instead of set up
// afresh: hmac.New hashes the key twice each time, and the hashes took a
// quarter of the generator's time. The tests check its values against
// ledger.Hasher's.
type hasher struct {
	mac hash.Hash
	sum []byte
	enc []byte
}

var hashEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newHasher() *hasher {
	return &hasher{mac: hmac.New(sha256.New, hasherSecret)}
}

// keyed returns the HMAC of domain, a zero byte and value, in base32.
func (h *hasher) keyed(domain, value string) string {
	h.mac.Reset()
	h.mac.Write([]byte(domain))
	h.mac.Write([]byte{0})
	h.mac.Write([]byte(value))
	h.sum = h.mac.Sum(h.sum[:0])
	h.enc = hashEncoding.AppendEncode(h.enc[:0], h.sum)
	return string(h.enc)
}

// Mobile is ledger.Hasher.Mobile of a normalised number.
func (h *hasher) Mobile(mobile string) string { return h.keyed("mobile", mobile) }

// IDNumber is ledger.Hasher.IDNumber of a normalised number.
func (h *hasher) IDNumber(idType, number string) string { return h.keyed("id:"+idType, number) }

// BookingCode is ledger.Hasher.BookingCode.
func (h *hasher) BookingCode(appointmentID string) string {
	h.mac.Reset()
	h.mac.Write([]byte("booking-code\x00"))
	h.mac.Write([]byte(appointmentID))
	s := h.mac.Sum(h.sum[:0])
	h.sum = s
	n := (uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])) % 10000
	return string([]byte{byte('0' + n/1000), byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
}
