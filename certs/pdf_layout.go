package certs

import (
	"bytes"
	"cmp"
	"strconv"

	"github.com/go-pdf/fpdf"
)

// The page, in millimetres. A4 portrait with 16 mm side margins; the
// layout is fixed, and bounded so that the longest fields and MaxDoses
// doses still fit one page (TestRenderPDF_Bounds checks it).
const (
	pageW, pageH = 210.0, 297.0
	marginX      = 16.0
	contentW     = pageW - 2*marginX
	bandH        = 34.0 // the header band
	// qrSize is the printed QR code, quiet zone included: a version 22
	// code (the largest a card uses) then has modules of 0.6 mm, which a
	// phone reads from paper at arm's length.
	qrSize    = 72.0
	columnGap = 8.0
	footerY   = 280.0
)

// Colours, RGB.
var (
	navy      = [3]int{22, 50, 92}
	accent    = [3]int{214, 120, 24}
	lightFill = [3]int{238, 242, 247}
	rule      = [3]int{200, 207, 216}
	grey      = [3]int{96, 104, 114}
	ink       = [3]int{20, 24, 28}
	white     = [3]int{255, 255, 255}
)

// doseColumns are the dose table's columns: heading, width (mm), and the
// most lines a cell may wrap to before it is cut with an ellipsis.
var doseColumns = [...]struct {
	head     string
	width    float64
	maxLines int
}{
	{"Dose", 14, 1},
	{"Vaccine", 32, 2},
	{"Date", 25, 1},
	{"Lot", 25, 1},
	{"Vaccination site", 54, 2},
	{"State", 28, 2},
}

// page draws one certificate on an fpdf document.
type page struct {
	f *fpdf.Fpdf
	p *pdfText
}

// newPDFDoc lays out p on a new one-page document, with the QR code qr.
// Errors are left in the document (fpdf's style): check Error.
func newPDFDoc(p *pdfText, qr *QRCode) *fpdf.Fpdf {
	f := fpdf.New("P", "mm", "A4", "")
	// Streams are left uncompressed: fpdf builds a new DEFLATE compressor
	// (about 1 MB) for each, which costs more than all the rest of a
	// certificate.
	f.SetCompression(false)
	f.SetCatalogSort(true)
	f.SetCreationDate(p.creation)
	f.SetModificationDate(p.creation)
	f.SetTitle(p.metaTitle, true)
	f.SetSubject(p.metaSubject, true)
	f.SetCreator("doseledger", false)
	f.SetLang("en")
	f.SetMargins(marginX, 0, marginX)
	f.SetAutoPageBreak(false, 0)
	f.SetCellMargin(0)
	f.AddPage()

	pg := page{f: f, p: p}
	pg.header()
	y := pg.meta(bandH + 7)
	left := pg.details(y)
	right := pg.qr(y, qr)
	y = max(left, right) + 8
	y = pg.doseTable(y)
	pg.footer()
	if y > footerY-4 {
		f.SetErrorf("certificate does not fit one page (content ends at %.0f mm)", y)
	}
	return f
}

func (pg page) color(c [3]int) (int, int, int) { return c[0], c[1], c[2] }

func (pg page) text(c [3]int, style string, size float64) {
	pg.f.SetTextColor(pg.color(c))
	pg.f.SetFont("Helvetica", style, size)
}

// header draws the band with the title, the issuer and the kind.
func (pg page) header() {
	f := pg.f
	f.SetFillColor(pg.color(navy))
	f.Rect(0, 0, pageW, bandH, "F")
	f.SetFillColor(pg.color(accent))
	f.Rect(0, bandH, pageW, 1.2, "F")

	badgeW := 38.0
	titleW := contentW - badgeW - 6
	pg.text(white, "B", 19)
	f.SetXY(marginX, 9)
	f.CellFormat(titleW, 9, pg.fit(pg.p.title, titleW), "", 0, "L", false, 0, "")
	if pg.p.issuer != "" {
		pg.text(white, "", 10)
		f.SetXY(marginX, 20)
		f.CellFormat(titleW, 5, pg.fit(pg.p.issuer, titleW), "", 0, "L", false, 0, "")
	}

	x := pageW - marginX - badgeW
	f.SetDrawColor(pg.color(white))
	f.SetFillColor(pg.color(white))
	f.RoundedRect(x, 11, badgeW, 11, 2, "1234", "F")
	pg.text(navy, "B", 10.5)
	f.SetXY(x, 11)
	f.CellFormat(badgeW, 11, pg.p.kind, "", 0, "C", false, 0, "")
}

// meta draws the certificate id, issue date and what the kind means; it
// returns the y below.
func (pg page) meta(y float64) float64 {
	f := pg.f
	pg.text(grey, "", 9)
	f.SetXY(marginX, y)
	f.CellFormat(30, 5, "Certificate ID", "", 0, "L", false, 0, "")
	pg.text(ink, "B", 10)
	f.CellFormat(contentW-30-50, 5, pg.fit(pg.p.id, contentW-30-50), "", 0, "L", false, 0, "")
	pg.text(grey, "", 9)
	f.CellFormat(22, 5, "Issued on", "", 0, "R", false, 0, "")
	pg.text(ink, "B", 10)
	f.CellFormat(28, 5, pg.p.issued, "", 0, "R", false, 0, "")
	pg.text(grey, "I", 9)
	f.SetXY(marginX, y+6)
	f.CellFormat(contentW, 5, pg.p.kindNote, "", 0, "L", false, 0, "")
	pg.rule(y + 14)
	return y + 20
}

// details draws the holder's details in the left column from y and
// returns the y below them.
func (pg page) details(y float64) float64 {
	f := pg.f
	colW := contentW - qrSize - columnGap
	const labelW = 36.0
	valueW := colW - labelW
	y = pg.section("Beneficiary details", marginX, y, colW)
	// A name wraps to four lines, enough for 120 characters or so; the
	// rest is cut (the QR code holds it whole).
	rows := []struct {
		label, value, style string
		maxLines            int
	}{
		{"Name", pg.p.name, "B", 4},
		{"Date of birth", pg.p.birth, "", 1},
		{"Gender", or(pg.p.gender, "-"), "", 1},
		{pg.p.idLabel, or(pg.p.maskedID, "-"), "", 1},
		{"Beneficiary reference", or(pg.p.ref, "-"), "", 1},
	}
	for _, r := range rows {
		pg.text(ink, r.style, 11)
		lines := pg.wrap(r.value, valueW, r.maxLines)
		const lh = 5.4
		pg.text(grey, "", 8.5)
		f.SetXY(marginX, y+0.6)
		f.CellFormat(labelW, lh, pg.fit(r.label, labelW-2), "", 0, "L", false, 0, "")
		pg.text(ink, r.style, 11)
		for i, l := range lines {
			f.SetXY(marginX+labelW, y+float64(i)*lh)
			f.CellFormat(valueW, lh, l, "", 0, "L", false, 0, "")
		}
		y += float64(max(1, len(lines)))*lh + 2.2
		pg.thinRule(marginX, y-1.1, colW)
	}
	return y
}

// qr draws the QR code and how to verify it in the right column from y,
// and returns the y below.
func (pg page) qr(y float64, qr *QRCode) float64 {
	f := pg.f
	x := pageW - marginX - qrSize
	f.SetFillColor(0, 0, 0)
	f.RawWriteStr(qrTransform(qr, x, y, qrSize, f.GetConversionRatio()))
	f.RawWriteBuf(bytes.NewReader(qr.rects))
	f.RawWriteStr("f Q")
	f.SetDrawColor(pg.color(rule))
	f.SetLineWidth(0.3)
	f.RoundedRect(x, y, qrSize, qrSize, 2, "1234", "D")
	y += qrSize + 2
	pg.text(navy, "B", 10)
	f.SetXY(x, y)
	f.CellFormat(qrSize, 5, "Scan to verify", "", 0, "C", false, 0, "")
	pg.text(grey, "", 7.5)
	y += 6
	for _, l := range pg.wrap(pg.p.verify, qrSize, 5) {
		f.SetXY(x, y)
		f.CellFormat(qrSize, 3.4, l, "", 0, "C", false, 0, "")
		y += 3.4
	}
	return y
}

// doseTable draws the doses from y and returns the y below. Cells wrap
// to their column's maxLines; if the rows would then run into the footer
// (long site names on many doses), every cell is kept to one line.
func (pg page) doseTable(y float64) float64 {
	f := pg.f
	y = pg.section("Vaccination details", marginX, y, contentW)
	const pad, lh, headH = 1.6, 4.4, 7.5
	f.SetFillColor(pg.color(navy))
	f.Rect(marginX, y, contentW, headH, "F")
	pg.text(white, "B", 9)
	x := marginX
	for _, c := range doseColumns {
		f.SetXY(x+pad, y)
		f.CellFormat(c.width-2*pad, headH, c.head, "", 0, "L", false, 0, "")
		x += c.width
	}
	y += headH
	rows, height := pg.doseRows(pad, lh, 0)
	if y+height > footerY-6 {
		rows, _ = pg.doseRows(pad, lh, 1)
	}
	for i, cells := range rows {
		n := 1
		for _, lines := range cells {
			n = max(n, len(lines))
		}
		rowH := float64(n)*lh + 2*pad
		if i%2 == 1 {
			f.SetFillColor(pg.color(lightFill))
			f.Rect(marginX, y, contentW, rowH, "F")
		}
		x := marginX
		for j, c := range doseColumns {
			pg.doseFont(j)
			for k, l := range cells[j] {
				f.SetXY(x+pad, y+pad+float64(k)*lh)
				f.CellFormat(c.width-2*pad, lh, l, "", 0, "L", false, 0, "")
			}
			x += c.width
		}
		y += rowH
	}
	f.SetDrawColor(pg.color(navy))
	f.SetLineWidth(0.4)
	f.Line(marginX, y, marginX+contentW, y)
	return y
}

// doseRows wraps the cells of every dose, to each column's maxLines or to
// lines if it is not 0, and returns them with the rows' total height.
func (pg page) doseRows(pad, lh float64, lines int) ([][len(doseColumns)][]string, float64) {
	rows := make([][len(doseColumns)][]string, len(pg.p.doses))
	height := 0.0
	for i, d := range pg.p.doses {
		cells := [len(doseColumns)]string{d.number, d.vaccine, d.date, or(d.lot, "-"), or(d.site, "-"), or(d.state, "-")}
		n := 1
		for j, c := range doseColumns {
			pg.doseFont(j)
			rows[i][j] = pg.wrap(cells[j], c.width-2*pad, cmp.Or(lines, c.maxLines))
			n = max(n, len(rows[i][j]))
		}
		height += float64(n)*lh + 2*pad
	}
	return rows, height
}

// doseFont sets the font of column j of the dose table.
func (pg page) doseFont(j int) {
	if j == 0 {
		pg.text(ink, "B", 9)
		return
	}
	pg.text(ink, "", 9)
}

// footer draws the closing lines at the foot of the page.
func (pg page) footer() {
	f := pg.f
	pg.rule(footerY)
	pg.text(grey, "", 7.5)
	f.SetXY(marginX, footerY+2)
	f.CellFormat(contentW, 4, "This certificate is signed digitally: its QR code is a SMART Health Card (spec.smarthealth.cards). No signature or stamp is needed.", "", 0, "L", false, 0, "")
	f.SetXY(marginX, footerY+6)
	f.CellFormat(contentW, 4, pg.fit("Certificate ID "+pg.p.id+"  \xb7  issued "+pg.p.issued, contentW), "", 0, "L", false, 0, "")
}

// section draws a section heading with a rule under it, and returns the y
// below.
func (pg page) section(title string, x, y, w float64) float64 {
	pg.text(navy, "B", 12)
	pg.f.SetXY(x, y)
	pg.f.CellFormat(w, 6, title, "", 0, "L", false, 0, "")
	pg.f.SetDrawColor(pg.color(accent))
	pg.f.SetLineWidth(0.6)
	pg.f.Line(x, y+7, x+14, y+7)
	return y + 10
}

func (pg page) rule(y float64) {
	pg.f.SetDrawColor(pg.color(rule))
	pg.f.SetLineWidth(0.3)
	pg.f.Line(marginX, y, marginX+contentW, y)
}

func (pg page) thinRule(x, y, w float64) {
	pg.f.SetDrawColor(pg.color(lightFill))
	pg.f.SetLineWidth(0.25)
	pg.f.Line(x, y, x+w, y)
}

// wrap splits s (Windows-1252, in the current font) into lines of at most
// w mm, and cuts it to maxLines with an ellipsis.
func (pg page) wrap(s string, w float64, maxLines int) []string {
	raw := pg.f.SplitLines([]byte(s), w)
	lines := make([]string, 0, min(len(raw), maxLines))
	for i, l := range raw {
		if i == maxLines-1 && len(raw) > maxLines {
			rest := bytes.Join(raw[i:], []byte(" "))
			lines = append(lines, pg.ellipsis(string(rest), w))
			break
		}
		lines = append(lines, string(l))
	}
	if len(lines) == 0 {
		lines = append(lines, "")
	}
	return lines
}

// fit cuts s with an ellipsis to fit w mm in the current font.
func (pg page) fit(s string, w float64) string {
	if pg.f.GetStringWidth(s) <= w {
		return s
	}
	return pg.ellipsis(s, w)
}

// ellipsis cuts s so that it and an ellipsis (Windows-1252 0x85) fit w mm.
func (pg page) ellipsis(s string, w float64) string {
	const dots = "\x85"
	for len(s) > 0 && pg.f.GetStringWidth(s+dots) > w {
		s = s[:len(s)-1]
	}
	return s + dots
}

// qrTransform returns the PDF operators that start drawing a QR code
// size mm square with its top left corner at x, y (mm from the page's top
// left), k points a mm: the graphics state saved, and a transformation to
// the code's module units, in which its rectangles (QRCode.rects) are
// written; "f Q" then fills them and restores the state. Vectors print
// sharp at any size and cost nothing to compress or decode, where an
// image costs a PNG encoding and fpdf's reading of it; filling all the
// rectangles as one path leaves no hairline seams between abutting ones,
// as separate anti-aliased fills can.
func qrTransform(qr *QRCode, x, y, size, k float64) string {
	mod := size / float64(qr.side) * k
	out := []byte("q ")
	for _, v := range [...]float64{mod, 0, 0, -mod, x * k, (pageH - y) * k} {
		out = strconv.AppendFloat(out, v, 'f', 4, 64)
		out = append(out, ' ')
	}
	return string(append(out, "cm"...))
}
