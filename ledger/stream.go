package ledger

import "strings"

// Stream categories. A stream name is "<category>-<id>", built only here.
const (
	CategoryBeneficiary = "beneficiary"
	CategorySession     = "session"
	// CategoryNotification streams hold delivery results, one per person,
	// apart from the beneficiary stream so deliveries never contend with
	// bookings for its revision.
	CategoryNotification = "notification"
	// CategoryCertificate streams hold a person's CertificateIssued and
	// CertificateRevoked events, apart from the beneficiary stream so that
	// issuing never contends with bookings for its revision.
	CategoryCertificate = "certificate"
	// PolicyStream holds every VaccinePolicyChanged event.
	PolicyStream = "policy"
)

// BeneficiaryStream names the stream of one person's events.
func BeneficiaryStream(beneficiaryID string) string {
	return CategoryBeneficiary + "-" + beneficiaryID
}

// SessionStream names the stream of one session (a site on a date).
func SessionStream(sessionID string) string {
	return CategorySession + "-" + sessionID
}

// SessionID identifies the session of a site on a date (YYYY-MM-DD).
func SessionID(siteID, date string) string {
	return siteID + "-" + strings.ReplaceAll(date, "-", "")
}

// NotificationStream names the stream of one person's notification
// deliveries.
func NotificationStream(beneficiaryID string) string {
	return CategoryNotification + "-" + beneficiaryID
}

// CertificateStream names the stream of one person's certificates.
func CertificateStream(beneficiaryID string) string {
	return CategoryCertificate + "-" + beneficiaryID
}
