package issuance

import (
	"container/list"
	"sync"

	"github.com/doseledger/doseledger/certs"
)

// cardCache keeps signed cards by payload hash, least recently used out
// first, each with its QR code once encoded and its QR image once drawn.
// Encoding the QR code of a card takes go-qrcode about 15 ms (Reed-Solomon
// and the eight mask patterns it scores), ten times the rest of a PDF, so
// it is done once per card; and a card is signed once per payload, so its
// QR text, code and image stay the same across downloads. It may be used
// from many goroutines at once.
type cardCache struct {
	limit int

	mu    sync.Mutex // guards order and byKey
	order *list.List // of *cachedCard, most recent first
	byKey map[string]*list.Element
}

// cachedCard is a signed card, its QR code encoded (what a PDF draws) and
// its QR image, each made at most once.
type cachedCard struct {
	hash string
	card certs.Card

	pngOnce sync.Once
	png     []byte
	pngErr  error

	qrOnce sync.Once
	qr     *certs.QRCode
	qrErr  error
}

func newCardCache(limit int) *cardCache {
	return &cardCache{limit: limit, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the card kept for hash, or nil.
func (c *cardCache) get(hash string) *cachedCard {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[hash]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*cachedCard)
}

// put keeps cc, or returns the one kept for its hash already, so that
// concurrent callers share one card and one image.
func (c *cardCache) put(cc *cachedCard) *cachedCard {
	if c.limit == 0 {
		return cc
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[cc.hash]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*cachedCard)
	}
	c.byKey[cc.hash] = c.order.PushFront(cc)
	for c.order.Len() > c.limit {
		old := c.order.Remove(c.order.Back()).(*cachedCard)
		delete(c.byKey, old.hash)
	}
	return cc
}

// image returns the card's QR code as a PNG image, drawing it on first
// use.
func (cc *cachedCard) image() ([]byte, error) {
	cc.pngOnce.Do(func() { cc.png, cc.pngErr = certs.QRCodePNG(cc.card.QR, -certs.PDFQRPixels) })
	return cc.png, cc.pngErr
}

// qrCode returns the card's QR code, encoding it on first use.
func (cc *cachedCard) qrCode() (*certs.QRCode, error) {
	cc.qrOnce.Do(func() { cc.qr, cc.qrErr = certs.NewQRCode(cc.card.QR) })
	return cc.qr, cc.qrErr
}
