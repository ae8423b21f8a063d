package ledger

// Event type names as stored. They are frozen: a stored stream is read back
// by these strings, so renaming a Go type never changes them.
const (
	TypeBeneficiaryRegistered  = "BeneficiaryRegistered"
	TypeDetailsCorrected       = "DetailsCorrected"
	TypeBeneficiariesMerged    = "BeneficiariesMerged"
	TypeSessionPublished       = "SessionPublished"
	TypeSessionCancelled       = "SessionCancelled"
	TypeSeatReserved           = "SeatReserved"
	TypeSeatReleased           = "SeatReleased"
	TypeAppointmentBooked      = "AppointmentBooked"
	TypeAppointmentCancelled   = "AppointmentCancelled"
	TypeAppointmentRescheduled = "AppointmentRescheduled"
	TypeDoseAdministered       = "DoseAdministered"
	TypeDoseVoided             = "DoseVoided"
	TypeCertificateIssued      = "CertificateIssued"
	TypeCertificateRevoked     = "CertificateRevoked"
	TypeVaccinePolicyChanged   = "VaccinePolicyChanged"
	TypeAnomalyReviewed        = "AnomalyReviewed"
	TypeNotificationDelivered  = "NotificationDelivered"
	TypeDisputeRaised          = "DisputeRaised"
	TypeDisputeResolved        = "DisputeResolved"
	TypeBookingAbandoned       = "BookingAbandoned"
)

// Payload is the data of one kind of event.
type Payload interface {
	// EventType is the stored type name, one of the Type constants.
	EventType() string
}

// Gender values as registered.
const (
	GenderFemale = "F"
	GenderMale   = "M"
	GenderOther  = "O"
)

// Photo-ID document types accepted at registration, as Co-WIN accepted.
const (
	IDAadhaar        = "aadhaar"
	IDVoter          = "voter_id"
	IDPassport       = "passport"
	IDDrivingLicence = "driving_licence"
	IDPAN            = "pan"
	IDPension        = "pension_passbook"
	IDNPR            = "npr_smart_card"
)

// Personal holds the fields that identify a person. It is never stored in
// clear: events carry it sealed under the person's own key (see Seal).
type Personal struct {
	Name      string `json:"name"`
	BirthDate string `json:"birth_date,omitempty"` // YYYY-MM-DD; empty when only the year is known
	Mobile    string `json:"mobile"`
	IDNumber  string `json:"id_number"`
}

// BeneficiaryRegistered records a person registered under an account (one
// mobile number, at most MaxPerAccount people). Stream: the beneficiary's.
type BeneficiaryRegistered struct {
	BeneficiaryID string `json:"beneficiary_id"`
	Account       string `json:"account"`
	BirthYear     int    `json:"birth_year"`
	Gender        string `json:"gender"`
	IDType        string `json:"id_type"`
	// IDHash is a keyed hash of the normalised ID number, to find the same
	// document registered twice; IDLast4 is the only part kept in clear.
	IDHash     string `json:"id_hash"`
	IDLast4    string `json:"id_last4"`
	MobileHash string `json:"mobile_hash"`
	State      string `json:"state"`
	District   string `json:"district"`
	Pincode    string `json:"pincode"`
	// Personal is the sealed Personal record.
	Personal Sealed `json:"personal"`
}

// Correctable fields. The personal ones carry their values sealed.
const (
	FieldName      = "name"
	FieldBirthDate = "birth_date"
	FieldMobile    = "mobile"
	FieldIDNumber  = "id_number"
	FieldBirthYear = "birth_year"
	FieldGender    = "gender"
	FieldState     = "state"
	FieldDistrict  = "district"
	FieldPincode   = "pincode"
)

// Change is the old and new value of a corrected field.
type Change struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// DetailsCorrected records an approved correction of one registered field.
// For a personal field (name, birth date, mobile, ID number) the values are
// in Sealed and Old and New are empty — but for a birth date, whose New
// holds the new year, kept in clear like the registered birth year. A new
// mobile or ID number also brings its new keyed hash (and last four
// digits) for lookups.
type DetailsCorrected struct {
	BeneficiaryID string `json:"beneficiary_id"`
	Field         string `json:"field"`
	Old           string `json:"old,omitempty"`
	New           string `json:"new,omitempty"`
	Sealed        Sealed `json:"sealed,omitempty"`
	NewHash       string `json:"new_hash,omitempty"`
	NewIDLast4    string `json:"new_id_last4,omitempty"`
	Reason        string `json:"reason"`
	ApprovedBy    string `json:"approved_by"`
}

// BeneficiariesMerged records that two registrations are one person (the
// same photo-ID number). Both streams get it; both histories stay, and the
// survivor's record counts the merged one's doses.
type BeneficiariesMerged struct {
	Survivor string `json:"survivor"`
	Merged   string `json:"merged"`
	IDHash   string `json:"id_hash"`
	Reason   string `json:"reason"`
}

// SessionPublished opens a vaccination session at a site on a date.
// Stream: the session's (site and date).
type SessionPublished struct {
	SessionID string `json:"session_id"`
	SiteID    string `json:"site_id"`
	SiteName  string `json:"site_name"`
	State     string `json:"state"`
	District  string `json:"district"`
	Pincode   string `json:"pincode"`
	Date      string `json:"date"` // YYYY-MM-DD, India time
	Vaccine   string `json:"vaccine"`
	// Capacity is the number of bookable seats per dose number.
	Capacity map[int]int `json:"capacity"`
	Slots    []string    `json:"slots"` // e.g. "09:00-11:00"
}

// SessionCancelled closes a session; its bookings are to be notified.
type SessionCancelled struct {
	SessionID string `json:"session_id"`
	Reason    string `json:"reason"`
}

// SeatReserved takes one seat of a session for an appointment. Stream: the
// session's, where capacity is enforced.
type SeatReserved struct {
	SessionID     string `json:"session_id"`
	AppointmentID string `json:"appointment_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	Dose          int    `json:"dose"`
	Slot          string `json:"slot"`
}

// SeatReleased gives a seat back: the appointment was cancelled, moved, or
// could not be confirmed.
type SeatReleased struct {
	SessionID     string `json:"session_id"`
	AppointmentID string `json:"appointment_id"`
	Dose          int    `json:"dose"`
	Reason        string `json:"reason"`
}

// BookingAbandoned gives up a booking whose seat was taken in a session
// but which holds no appointment there: the process that booked died
// between taking the seat and recording the appointment, or the
// appointment ended or moved and its seat was never given back. Stream:
// the beneficiary's. It is written under the event id the booking's
// AppointmentBooked has, so that a booking that never landed never can;
// the seat is released after it.
type BookingAbandoned struct {
	AppointmentID string `json:"appointment_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	SessionID     string `json:"session_id"`
	Reason        string `json:"reason"`
}

// AppointmentBooked is a person's booking. Stream: the beneficiary's,
// where "one active appointment" and dose intervals are enforced. Code is
// the 4-digit code the vaccinator checks at the site.
type AppointmentBooked struct {
	AppointmentID string `json:"appointment_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	SessionID     string `json:"session_id"`
	SiteID        string `json:"site_id"`
	Date          string `json:"date"`
	Vaccine       string `json:"vaccine"`
	Dose          int    `json:"dose"`
	Slot          string `json:"slot"`
	Code          string `json:"code"`
}

// AppointmentCancelled ends an appointment without a dose.
type AppointmentCancelled struct {
	AppointmentID string `json:"appointment_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	SessionID     string `json:"session_id"`
	Reason        string `json:"reason"`
}

// AppointmentRescheduled moves an appointment to another session or slot,
// with a new booking code.
type AppointmentRescheduled struct {
	AppointmentID string `json:"appointment_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	FromSession   string `json:"from_session"`
	SessionID     string `json:"session_id"`
	SiteID        string `json:"site_id"`
	Date          string `json:"date"`
	Vaccine       string `json:"vaccine"`
	Slot          string `json:"slot"`
	Code          string `json:"code"`
}

// How a dose reached the ledger.
const (
	CaptureOnline  = "online"
	CaptureOffline = "offline_device"
	CapturePaper   = "paper_register"
)

// Anomalies a dose report may show. The dose is recorded all the same.
const (
	AnomalyTooEarly       = "too_early"       // before the policy's interval after the previous dose
	AnomalyNotConsecutive = "not_consecutive" // dose number skips or repeats
	AnomalyMixedVaccine   = "mixed_vaccine"   // another vaccine where policy forbids mixing
	AnomalyUnbooked       = "unbooked"        // no active appointment for this dose
	AnomalyOtherSite      = "other_site"      // booked at another site
	AnomalyDuplicate      = "duplicate"       // same dose number and vaccine already recorded
	AnomalyUnregistered   = "unregistered"    // no such beneficiary
	AnomalyNoPolicy       = "no_policy"       // no policy known for the vaccine
	AnomalyBeyondSchedule = "beyond_schedule" // more doses than the policy's schedule
	// AnomalyCancelledBooking: the appointment the dose honours is at a
	// session an official cancelled. Read models also give it to a dose
	// reported against an appointment the person had cancelled, which the
	// ledger flags as unbooked.
	AnomalyCancelledBooking = "cancelled_booking"
)

// DoseAdministered is a dose given, as reported from the field. It is a
// fact: it is recorded even when it breaks a rule, with the anomalies it
// shows. The envelope's OccurredAt is when it was given.
type DoseAdministered struct {
	BeneficiaryID string   `json:"beneficiary_id"`
	Dose          int      `json:"dose"`
	Vaccine       string   `json:"vaccine"`
	Lot           string   `json:"lot"`
	SiteID        string   `json:"site_id"`
	State         string   `json:"state"`
	District      string   `json:"district"`
	SessionID     string   `json:"session_id,omitempty"`
	AppointmentID string   `json:"appointment_id,omitempty"`
	Vaccinator    string   `json:"vaccinator"`
	Capture       string   `json:"capture"`
	Anomalies     []string `json:"anomalies,omitempty"`
	// DuplicateOf is the event ID of the earlier report of the same dose.
	DuplicateOf string `json:"duplicate_of,omitempty"`
}

// DoseVoided withdraws a dose recorded in error.
type DoseVoided struct {
	BeneficiaryID string `json:"beneficiary_id"`
	DoseEventID   string `json:"dose_event_id"`
	Reason        string `json:"reason"`
	VoidedBy      string `json:"voided_by"`
}

// CertificateIssued records a signed certificate: which, under which key,
// and a hash of what was signed. Filled in by the certificates package.
type CertificateIssued struct {
	BeneficiaryID string `json:"beneficiary_id"`
	CertificateID string `json:"certificate_id"`
	Kind          string `json:"kind"` // provisional or final
	Kid           string `json:"kid"`
	PayloadHash   string `json:"payload_hash"`
	Doses         []int  `json:"doses"`
}

// CertificateRevoked withdraws a certificate; RID is its revocation id.
type CertificateRevoked struct {
	BeneficiaryID string `json:"beneficiary_id"`
	CertificateID string `json:"certificate_id"`
	RID           string `json:"rid"`
	Reason        string `json:"reason"`
}

// DoseRule is one dose of a vaccine's schedule.
type DoseRule struct {
	Dose int `json:"dose"`
	// MinIntervalDays is the least number of days after the previous dose
	// (0 for the first dose).
	MinIntervalDays int `json:"min_interval_days"`
	// Precaution marks a later precaution (booster) dose.
	Precaution bool `json:"precaution,omitempty"`
}

// VaccinePolicyChanged sets a vaccine's schedule from a date on. Policy is
// data in the ledger: the rule in force on a date is the latest change
// effective on or before it.
type VaccinePolicyChanged struct {
	Vaccine       string     `json:"vaccine"`
	Schedule      []DoseRule `json:"schedule"`
	MixingAllowed bool       `json:"mixing_allowed"`
	EffectiveFrom string     `json:"effective_from"` // YYYY-MM-DD
	Reason        string     `json:"reason"`
}

// Review decisions on a flagged dose.
const (
	// ReviewConfirmed: the dose stands as recorded; the flag was checked.
	ReviewConfirmed = "confirmed"
	// ReviewDismissed: the flag was wrong (a typing error in the register,
	// say) and needs no action.
	ReviewDismissed = "dismissed"
	// ReviewEscalated: the dose needs a correction or a void by an official.
	ReviewEscalated = "escalated"
)

// AnomalyReviewed records an official's review of a dose recorded with
// anomalies. The dose itself is untouched: a review is a new fact about
// it. Stream: the beneficiary's.
type AnomalyReviewed struct {
	BeneficiaryID string `json:"beneficiary_id"`
	DoseEventID   string `json:"dose_event_id"`
	Decision      string `json:"decision"`
	Note          string `json:"note"`
	ReviewedBy    string `json:"reviewed_by"`
}

// Outcomes of a notification delivery.
const (
	DeliverySent   = "sent"
	DeliveryFailed = "failed"
	// DeliveryExpired: not sent because its moment had passed.
	DeliveryExpired = "expired"
)

// NotificationDelivered records one attempt to deliver a notification
// from the outbox (a reminder, a dose falling due, a cancelled session).
// Stream: NotificationStream of the beneficiary.
type NotificationDelivered struct {
	NotificationID string `json:"notification_id"`
	BeneficiaryID  string `json:"beneficiary_id"`
	Kind           string `json:"kind"`
	Channel        string `json:"channel"`
	Outcome        string `json:"outcome"`
	Error          string `json:"error,omitempty"`
	Attempt        int    `json:"attempt"`
}

func (BeneficiaryRegistered) EventType() string  { return TypeBeneficiaryRegistered }
func (DetailsCorrected) EventType() string       { return TypeDetailsCorrected }
func (BeneficiariesMerged) EventType() string    { return TypeBeneficiariesMerged }
func (SessionPublished) EventType() string       { return TypeSessionPublished }
func (SessionCancelled) EventType() string       { return TypeSessionCancelled }
func (SeatReserved) EventType() string           { return TypeSeatReserved }
func (SeatReleased) EventType() string           { return TypeSeatReleased }
func (AppointmentBooked) EventType() string      { return TypeAppointmentBooked }
func (BookingAbandoned) EventType() string       { return TypeBookingAbandoned }
func (AppointmentCancelled) EventType() string   { return TypeAppointmentCancelled }
func (AppointmentRescheduled) EventType() string { return TypeAppointmentRescheduled }
func (DoseAdministered) EventType() string       { return TypeDoseAdministered }
func (DoseVoided) EventType() string             { return TypeDoseVoided }
func (CertificateIssued) EventType() string      { return TypeCertificateIssued }
func (CertificateRevoked) EventType() string     { return TypeCertificateRevoked }
func (VaccinePolicyChanged) EventType() string   { return TypeVaccinePolicyChanged }
func (AnomalyReviewed) EventType() string        { return TypeAnomalyReviewed }
func (NotificationDelivered) EventType() string  { return TypeNotificationDelivered }
