package api

import (
	"slices"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// The API's answers have types of their own, so that the read models can
// change inside without changing what clients see; openapi.json
// describes each.

type doseView struct {
	EventID  string `json:"event_id"`
	Dose     int    `json:"dose"`
	Vaccine  string `json:"vaccine"`
	Date     string `json:"date"`
	SiteID   string `json:"site_id"`
	State    string `json:"state"`
	District string `json:"district"`
}

type appointmentView struct {
	AppointmentID string `json:"appointment_id"`
	SessionID     string `json:"session_id"`
	SiteID        string `json:"site_id"`
	Date          string `json:"date"`
	Vaccine       string `json:"vaccine"`
	Dose          int    `json:"dose"`
	Slot          string `json:"slot"`
	Code          string `json:"code"`
}

func appointmentOf(a ledger.Appointment) appointmentView {
	return appointmentView{AppointmentID: a.ID, SessionID: a.SessionID, SiteID: a.SiteID, Date: a.Date,
		Vaccine: a.Vaccine, Dose: a.Dose, Slot: a.Slot, Code: a.Code}
}

// personView is a beneficiary as the read models hold them: nothing
// personal (names and numbers stay sealed in the ledger).
type personView struct {
	ID           string           `json:"id"`
	Registered   bool             `json:"registered"`
	RegisteredOn string           `json:"registered_on,omitempty"`
	State        string           `json:"state,omitempty"`
	District     string           `json:"district,omitempty"`
	Pincode      string           `json:"pincode,omitempty"`
	BirthYear    int              `json:"birth_year,omitempty"`
	Gender       string           `json:"gender,omitempty"`
	IDType       string           `json:"id_type,omitempty"`
	IDLast4      string           `json:"id_last4,omitempty"`
	MergedInto   string           `json:"merged_into,omitempty"`
	Absorbed     []string         `json:"absorbed"`
	Doses        []doseView       `json:"doses"`
	Active       *appointmentView `json:"active,omitempty"`
	CompletedOn  string           `json:"completed_on,omitempty"`
}

func personOf(p projections.Person) personView {
	v := personView{ID: p.ID, Registered: p.Registered, RegisteredOn: p.RegisteredOn, State: p.State,
		District: p.District, Pincode: p.Pincode, BirthYear: p.BirthYear, Gender: p.Gender, IDType: p.IDType,
		IDLast4: p.IDLast4, MergedInto: p.MergedInto, Absorbed: listOf(p.Absorbed), Doses: []doseView{},
		CompletedOn: p.CompletedOn}
	for _, d := range p.Doses {
		v.Doses = append(v.Doses, doseView{EventID: d.EventID, Dose: d.Dose, Vaccine: d.Vaccine, Date: d.Date,
			SiteID: d.SiteID, State: d.State, District: d.District})
	}
	if p.Active != nil {
		a := appointmentOf(*p.Active)
		v.Active = &a
	}
	return v
}

// seatsView is one dose's seats in a session.
type seatsView struct {
	Dose         int `json:"dose"`
	Capacity     int `json:"capacity"`
	Taken        int `json:"taken"`
	Free         int `json:"free"`
	Administered int `json:"administered"`
}

type sessionView struct {
	ID        string      `json:"id"`
	SiteID    string      `json:"site_id"`
	SiteName  string      `json:"site_name"`
	State     string      `json:"state"`
	District  string      `json:"district"`
	Pincode   string      `json:"pincode"`
	Date      string      `json:"date"`
	Vaccine   string      `json:"vaccine"`
	Slots     []string    `json:"slots"`
	Cancelled bool        `json:"cancelled"`
	Seats     []seatsView `json:"seats"`
	WalkIns   int         `json:"walk_ins"`
}

func sessionOf(s projections.Session) sessionView {
	v := sessionView{ID: s.ID, SiteID: s.SiteID, SiteName: s.SiteName, State: s.State, District: s.District,
		Pincode: s.Pincode, Date: s.Date, Vaccine: s.Vaccine, Slots: listOf(s.Slots), Cancelled: s.Cancelled,
		Seats: []seatsView{}, WalkIns: s.WalkIns}
	doses := make([]int, 0, len(s.Capacity))
	for d := range s.Capacity {
		doses = append(doses, d)
	}
	slices.Sort(doses)
	for _, d := range doses {
		v.Seats = append(v.Seats, seatsView{Dose: d, Capacity: s.Capacity[d], Taken: s.Seats[d], Free: s.Free(d),
			Administered: s.Administered[d]})
	}
	return v
}

// listOf copies a list out of the read models, an absent one as empty,
// so that clients always get an array.
func listOf[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}
