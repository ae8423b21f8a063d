package synth

import (
	"time"

	"github.com/doseledger/doseledger/ledger"
)

var (
	genders = []string{ledger.GenderFemale, ledger.GenderMale, ledger.GenderOther}
	idTypes = []string{ledger.IDAadhaar, ledger.IDVoter, ledger.IDPassport, ledger.IDDrivingLicence}
)

// Anomaly lists, shared by every event that shows them (never modified).
var (
	anomUnbooked         = []string{ledger.AnomalyUnbooked}
	anomTooEarlyUnbooked = []string{ledger.AnomalyTooEarly, ledger.AnomalyUnbooked}
	anomOtherSite        = []string{ledger.AnomalyOtherSite}
	anomDuplicate        = []string{ledger.AnomalyDuplicate}
)

// Multipliers coprime to 10, so that n*k+offset modulo a power of ten is
// a bijection: mobile numbers never repeat within a history, nor ID
// numbers of one type (while n*mulID fits 64 bits: 29 million people).
const (
	mulMobile = 387_420_489
	mulID     = 617_673_396_283
)

// mobile returns the mobile number of a family: 10 digits, the first 6 to
// 9, unique per family (below a billion families).
func (g *generator) mobile(family uint32) string {
	n := (uint64(family)*mulMobile + mix(g.seed)%1e9) % 1e9
	return string(rune('6'+family%4)) + pad(int(n), 9)
}

// idNumber returns the normalised number of person n's photo ID.
func (g *generator) idNumber(r *rng, n uint64, typ uint8) string {
	letter := func() string { return string(rune('A' + r.intn(26))) }
	switch idTypes[typ] {
	case ledger.IDAadhaar:
		// 12 digits, never starting 0 or 1.
		return string(rune('2'+r.intn(8))) + pad(int((n*mulID+mix(^g.seed)%1e11)%1e11), 11)
	case ledger.IDVoter:
		return letter() + letter() + letter() + pad(int((n*mulID+mix(g.seed)%1e7)%1e7), 7)
	case ledger.IDPassport:
		return letter() + pad(int((n*mulID+mix(g.seed+1)%1e7)%1e7), 7)
	}
	return country[r.intn(len(country))].code + pad(1+r.intn(40), 2) + pad(1990+r.intn(31), 4) +
		pad(int((n*mulID+mix(g.seed+2)%1e7)%1e7), 7)
}

// registration is person n's BeneficiaryRegistered, as Register writes it.
func (g *generator) registration(n uint32, p *person) []ledger.Proposed {
	r := newRNG(g.seed, 6, uint64(n))
	mobile := g.mobile(p.family)
	if p.member == 1 {
		p.mobileHash = g.hasher.Mobile(mobile)
	} else {
		// Member 1 of the family, kept just before, registered first.
		p.mobileHash = g.people[n-uint32(p.member)+1].mobileHash
	}
	mobileHash := p.mobileHash
	account := mobileHash[:16] // what Hasher.Account returns
	id := ledger.BeneficiaryID(account, int(p.member))
	p.stream = ledger.BeneficiaryStream(id)

	personal := ledger.Personal{
		Name:     firstNames[r.intn(len(firstNames))] + " " + lastNames[r.intn(len(lastNames))],
		Mobile:   mobile,
		IDNumber: g.idNumber(&r, uint64(n), p.idType),
	}
	if r.intn(10) > 0 { // else only the year is known
		personal.BirthDate = pad(int(p.birthYear), 4) + "-" + pad(1+r.intn(12), 2) + "-" + pad(1+r.intn(28), 2)
	}
	home := &g.sites[p.home]
	dist := country[home.state].districts[home.district]
	ev := g.take(1)
	b := appendBeneficiaryRegistered(g.buf(), &ledger.BeneficiaryRegistered{
		BeneficiaryID: id, Account: account, BirthYear: int(p.birthYear), Gender: genders[p.gender],
		IDType: idTypes[p.idType], IDHash: g.hasher.IDNumber(idTypes[p.idType], personal.IDNumber),
		IDLast4: personal.IDNumber[len(personal.IDNumber)-4:], MobileHash: mobileHash,
		State: country[home.state].name, District: dist.name, Pincode: dist.pin + pad(1+r.intn(99), 3),
		Personal: g.sealer.seal(id, &personal, uint64(n)),
	})
	ev[0] = g.proposed(ledger.TypeBeneficiaryRegistered, b, eventID(g.seed, idRegister, uint64(n), 0),
		g.at(int(p.reg), int(p.regMin), r.intn(60)), "citizen")
	return ev
}

func beneficiaryID(p *person) string { return p.stream[len(ledger.CategoryBeneficiary)+1:] }

func (g *generator) appointmentID(n uint32, arg uint8) string {
	return eventID(g.seed, idAppointment, uint64(n), uint64(arg)).String()
}

// session returns the index of attempt a of dose k's session.
func (g *generator) session(dp *dosePlan, a int) int {
	return int(dp.sess[a])*len(g.sites) + int(dp.site)
}

// bookedAt is when attempt a of a dose was booked.
func (g *generator) bookedAt(dp *dosePlan, a int) time.Time {
	return g.at(int(dp.book[a]), int(dp.bookMin[a]), 0)
}

// seatTaken is the SeatReserved of a booking, as Book writes it first.
func (g *generator) seatTaken(a action, p *person) ledger.Proposed {
	k, at := int(a.arg/2), int(a.arg%2)
	dp := &p.dose[k]
	id := beneficiaryID(p)
	b := appendSeatReserved(g.buf(), &ledger.SeatReserved{
		SessionID: g.sessionIDs[g.session(dp, at)], AppointmentID: g.appointmentID(a.p, a.arg),
		BeneficiaryID: id, Dose: k + 1, Slot: slots[dp.slot[at]],
	})
	return g.proposed(ledger.TypeSeatReserved, b, eventID(g.seed, idSeat, uint64(a.p), uint64(a.arg)), g.bookedAt(dp, at), "citizen:"+id)
}

// appointment is the AppointmentBooked of a booking, written once its
// seat is taken.
func (g *generator) appointment(a action, p *person) []ledger.Proposed {
	k, at := int(a.arg/2), int(a.arg%2)
	dp := &p.dose[k]
	id := beneficiaryID(p)
	appt := g.appointmentID(a.p, a.arg)
	st := &g.sites[dp.site]
	ev := g.take(1)
	b := appendAppointmentBooked(g.buf(), &ledger.AppointmentBooked{
		AppointmentID: appt, BeneficiaryID: id, SessionID: g.sessionIDs[g.session(dp, at)], SiteID: st.id,
		Date: g.dates[dp.sess[at]], Vaccine: st.vaccine, Dose: k + 1, Slot: slots[dp.slot[at]],
		Code: g.hasher.BookingCode(appt),
	})
	ev[0] = g.proposed(ledger.TypeAppointmentBooked, b, eventID(g.seed, idBook, uint64(a.p), uint64(a.arg)),
		g.bookedAt(dp, at).Add(2*time.Second), "citizen:"+id)
	return ev
}

// cancelledAt is when a person cancels the first booking of dose k.
func (g *generator) cancelledAt(n uint32, k int, dp *dosePlan) time.Time {
	r := newRNG(g.seed, 7, uint64(n)*2+uint64(k))
	return g.at(int(dp.cancel), 8*60+r.intn(13*60), r.intn(60))
}

// cancellation is the AppointmentCancelled of a first booking; its seat
// is given back in phase D.
func (g *generator) cancellation(a action, p *person) []ledger.Proposed {
	k := int(a.arg / 2)
	dp := &p.dose[k]
	id := beneficiaryID(p)
	ev := g.take(1)
	b := appendAppointmentCancelled(g.buf(), &ledger.AppointmentCancelled{
		AppointmentID: g.appointmentID(a.p, a.arg), BeneficiaryID: id, SessionID: g.sessionIDs[g.session(dp, 0)],
		Reason: cancelReasons[(a.p+uint32(k))%uint32(len(cancelReasons))],
	})
	ev[0] = g.proposed(ledger.TypeAppointmentCancelled, b, eventID(g.seed, idCancel, uint64(a.p), uint64(a.arg)),
		g.cancelledAt(a.p, k, dp), "citizen:"+id)
	return ev
}

// seatReleased gives back the seat of a cancelled booking.
func (g *generator) seatReleased(a action, p *person) ledger.Proposed {
	k := int(a.arg / 2)
	dp := &p.dose[k]
	b := appendSeatReleased(g.buf(), &ledger.SeatReleased{
		SessionID: g.sessionIDs[g.session(dp, 0)], AppointmentID: g.appointmentID(a.p, a.arg),
		Dose: k + 1, Reason: "appointment cancelled",
	})
	return g.proposed(ledger.TypeSeatReleased, b, eventID(g.seed, idRelease, uint64(a.p), uint64(a.arg)),
		g.cancelledAt(a.p, k, dp).Add(time.Second), "citizen:"+beneficiaryID(p))
}

// doseReport is dose k of person n as RecordDose writes it on day rec,
// with the anomalies it shows: booked is whether the person holds an
// appointment for it then.
func (g *generator) doseReport(n uint32, p *person, k int, booked bool, rec int) *ledger.DoseAdministered {
	dp := &p.dose[k]
	st := &g.sites[dp.given]
	d := &ledger.DoseAdministered{
		BeneficiaryID: beneficiaryID(p), Dose: k + 1, Vaccine: st.vaccine,
		Lot:    g.lots[vaccineIndex(st.vaccine)][(int(dp.day)/7*7+int(dp.given))%len(g.lots[0])],
		SiteID: st.id, State: country[st.state].name, District: country[st.state].districts[st.district].name,
		SessionID:  g.sessionIDs[int(dp.day)*len(g.sites)+int(dp.given)],
		Vaccinator: st.vaccinators[n%uint32(len(st.vaccinators))], Capture: captures[dp.capture],
	}
	switch {
	case booked:
		d.AppointmentID = g.appointmentID(n, uint8(2*k+attempt(dp)))
		if dp.given != dp.site {
			d.Anomalies = anomOtherSite
		}
	case k == 1 && int(dp.day-p.dose[0].day) < g.interval(st.vaccine, int(dp.day), rec):
		// Unbooked, so checked against the rule the ledger holds when
		// the report comes in.
		d.Anomalies = anomTooEarlyUnbooked
	default:
		d.Anomalies = anomUnbooked
	}
	return d
}

func vaccineIndex(v string) int {
	if v == covaxin {
		return 1
	}
	return 0
}

// givenAt is when a dose was given: in its slot on its day.
func (g *generator) givenAt(dp *dosePlan) time.Time { return g.at(int(dp.day), int(dp.minute), 0) }

// doses is a dose as reported, on its day or, from a paper register,
// days later; and its second capture, if it has one, right after.
func (g *generator) doses(a action, p *person) []ledger.Proposed {
	k := int(a.arg / 2)
	dp := &p.dose[k]
	d := g.doseReport(a.p, p, k, dp.flags&flagWalkIn == 0, int(dp.rec))
	actor := d.Vaccinator
	if dp.capture == capturePaper {
		actor = g.sites[dp.given].operator
	}
	id := eventID(g.seed, idDose, uint64(a.p), uint64(k))
	ev := g.take(1 + int(dp.flags&flagDuplicate/flagDuplicate))
	ev[0] = g.proposed(ledger.TypeDoseAdministered, appendDoseAdministered(g.buf(), d), id, g.givenAt(dp), actor)
	if len(ev) == 2 {
		// The other device syncs the same dose: the ledger finds it, with
		// no appointment left to name.
		dup := *d
		dup.Capture, dup.AppointmentID, dup.Anomalies, dup.DuplicateOf = ledger.CaptureOffline, "", anomDuplicate, id.String()
		if dp.capture == captureOffline {
			dup.Capture = ledger.CaptureOnline
		}
		ev[1] = g.proposed(ledger.TypeDoseAdministered, appendDoseAdministered(g.buf(), &dup),
			eventID(g.seed, idDuplicate, uint64(a.p), uint64(k)), g.givenAt(dp), dup.Vaccinator)
	}
	return ev
}

// voided withdraws a dose recorded in error the day after, and records it
// again: the appointment it ended is gone, so the new record is unbooked.
func (g *generator) voided(a action, p *person) []ledger.Proposed {
	k := int(a.arg / 2)
	dp := &p.dose[k]
	st := &g.sites[dp.given]
	day := int(dp.rec) + 1
	ev := g.take(2)
	b := appendDoseVoided(g.buf(), &ledger.DoseVoided{
		BeneficiaryID: beneficiaryID(p), DoseEventID: eventID(g.seed, idDose, uint64(a.p), uint64(k)).String(),
		Reason: "recorded against the wrong lot", VoidedBy: st.official,
	})
	ev[0] = g.proposed(ledger.TypeDoseVoided, b, eventID(g.seed, idVoid, uint64(a.p), uint64(k)), g.at(day, 10*60+int(a.p%360), 0), st.official)
	d := g.doseReport(a.p, p, k, false, day)
	d.Capture = ledger.CaptureOnline
	ev[1] = g.proposed(ledger.TypeDoseAdministered, appendDoseAdministered(g.buf(), d),
		eventID(g.seed, idRerecord, uint64(a.p), uint64(k)), g.givenAt(dp), d.Vaccinator)
	return ev
}
