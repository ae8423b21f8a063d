package esdbstore_test

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/esdbstore"
	"github.com/doseledger/doseledger/ledger/keystore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
)

// lostReplyTo drops the answer of the next append to a stream starting
// with prefix, once armed, after the server wrote it.
type lostReplyTo struct {
	prefix string
	armed  atomic.Bool
}

type peekStream struct {
	grpc.ServerStream
	l    *lostReplyTo
	drop bool
}

func (p *peekStream) RecvMsg(m any) error {
	err := p.ServerStream.RecvMsg(m)
	if r, ok := m.(*streams.AppendReq); ok && err == nil {
		if o := r.GetOptions(); o != nil && strings.HasPrefix(string(o.GetStreamIdentifier().GetStreamName()), p.l.prefix) && p.l.armed.CompareAndSwap(true, false) {
			p.drop = true
		}
	}
	return err
}

func (p *peekStream) SendMsg(m any) error {
	if p.drop {
		return nil
	}
	return p.ServerStream.SendMsg(m)
}

func (l *lostReplyTo) intercept(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	p := &peekStream{ServerStream: ss, l: l}
	if err := h(srv, p); err != nil {
		return err
	}
	if p.drop {
		return status.Error(codes.Unavailable, "leader lost before answering")
	}
	return nil
}

// A booking whose beneficiary-stream append lands but whose answer is
// lost: the store retries it, and the retry is the booking's own write.
// Taken for a duplicate, it made Book refuse its own booking
// (ErrRequestSpent) and release its seat, though the appointment was
// recorded.
func TestBook_LostReplyIsStillItsOwnBooking(t *testing.T) {
	now := func() time.Time { return time.Date(2021, 4, 1, 9, 0, 0, 0, time.UTC) }
	dir := t.TempDir()
	l := &lostReplyTo{prefix: "beneficiary-"}
	addr, _ := serveWith(t, pebblestore.Options{Now: now}, l.intercept)
	s := MustOpen(t, "esdb://"+addr+"?tls=false", esdbstore.Options{MinBackoff: time.Millisecond})

	keys, err := keystore.Open(dir+"/keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	hasher, _ := ledger.NewHasher(bytes.Repeat([]byte{7}, 32))
	h, err := command.New(command.Config{Store: s, Keys: keys, Hasher: hasher, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.SetPolicy(ctx, uuid.Nil, ledger.DefaultPolicy("COVAXIN", "2021-01-01"), "official:test"); err != nil {
		t.Fatal(err)
	}
	id, err := h.Register(ctx, command.Register{RequestID: uuid.New(), Mobile: "9800000001", Name: "P", BirthDate: "1960-01-02",
		Gender: "F", IDType: ledger.IDAadhaar, IDNumber: "500000000001", State: "Goa", District: "District", Pincode: "700001"}, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := h.PublishSession(ctx, uuid.Nil, ledger.SessionPublished{SiteID: "GA-NG-0001", SiteName: "S", State: "Goa", District: "District",
		Pincode: "700001", Date: "2021-04-02", Vaccine: "COVAXIN", Capacity: map[int]int{1: 5}, Slots: []string{"09:00-11:00"}}, "official:test")
	if err != nil {
		t.Fatal(err)
	}
	l.armed.Store(true)
	_, err = h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: sess.SessionID}, "citizen")
	if l.armed.Load() {
		t.Fatal("the interceptor never fired")
	}
	var types []string
	for e, rerr := range s.ReadStream(ctx, ledger.BeneficiaryStream(id), ledger.ReadOptions{}) {
		if rerr != nil {
			t.Fatal(rerr)
		}
		types = append(types, e.Type)
	}
	var seats []string
	for e, rerr := range s.ReadStream(ctx, ledger.SessionStream(sess.SessionID), ledger.ReadOptions{}) {
		if rerr != nil {
			t.Fatal(rerr)
		}
		seats = append(seats, e.Type)
	}
	if err != nil {
		t.Errorf("Book = %v; beneficiary stream %v, session stream %v", err, types, seats)
	}

}
