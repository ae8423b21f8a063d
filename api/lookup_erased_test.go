package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/api"
	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/api/auth/authtest"
	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/command/commandtest"
	"github.com/doseledger/doseledger/projections"
)

// A vaccinator looks up the person in front of them by booking code;
// codes are shared within a session, and every booking with the code is
// listed. When one of them is an erased person, the lookup answers 410
// for all: the person who is not erased cannot be found by their code.
func TestBookingByCode_ErasedPersonHidesOthersWithTheCode(t *testing.T) {
	ctx := context.Background()
	c := &clock{}
	c.Set(t, "2021-05-01 09:00")
	l := commandtest.Open(t, c.Now)
	h := l.Handler
	if err := h.SetPolicy(ctx, uuid.New(), ledger.DefaultPolicy(vaccine, "2021-01-16"), "official:test"); err != nil {
		t.Fatal(err)
	}
	proj, err := projections.NewProjector(l.Store, nil, projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- proj.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	staff, err := auth.OpenDirectory("")
	if err != nil {
		t.Fatal(err)
	}
	if err := staff.Add(testStaff[0]); err != nil { // anita, a vaccinator
		t.Fatal(err)
	}
	svc, err := auth.NewService(auth.Config{Sender: &authtest.Outbox{}, Account: h.AccountOf, Staff: staff})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Handler: h, Store: l.Store, Projector: proj, Now: c.Now, Auth: svc}))
	t.Cleanup(srv.Close)
	tok, _ := svc.Tokens.Issue(auth.Principal{Role: auth.Vaccinator, ID: "anita"})

	s, err := h.PublishSession(ctx, uuid.New(), ledger.SessionPublished{SiteID: "S2", SiteName: "Site S2", State: "West Bengal",
		District: "Kolkata", Pincode: "700001", Date: "2021-05-04", Vaccine: vaccine, Capacity: map[int]int{1: 1000},
		Slots: []string{"09:00-11:00"}}, "official:test")
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]string{}
	var code, first, second string
	for i := 0; i < 1000 && code == ""; i++ {
		id, err := h.Register(ctx, command.Register{RequestID: uuid.New(), Mobile: fmt.Sprintf("98%08d", i), Name: fmt.Sprintf("Person %d", i),
			BirthDate: "1960-01-02", Gender: "F", IDType: ledger.IDAadhaar, IDNumber: fmt.Sprintf("5000%08d", i),
			State: "West Bengal", District: "Kolkata", Pincode: "700001"}, "citizen")
		if err != nil {
			t.Fatal(err)
		}
		a, err := h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s.SessionID}, "citizen")
		if err != nil {
			t.Fatal(err)
		}
		if other, taken := byCode[a.Code]; taken {
			code, first, second = a.Code, other, id
		}
		byCode[a.Code] = id
	}
	if code == "" {
		t.Fatal("no shared code")
	}
	if err := l.Keys.Erase(ctx, first); err != nil {
		t.Fatal(err)
	}
	last, _ := l.Store.LastPosition(ctx)
	for proj.Position() < last {
		time.Sleep(10 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/sessions/"+s.SessionID+"/bookings/"+code, nil)
	req.Header.Set("Authorization", "Bearer "+tok.Value)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var got struct {
		Bookings []struct {
			Booking struct {
				BeneficiaryID string `json:"beneficiary_id"`
			} `json:"booking"`
			Name string `json:"name"`
		} `json:"bookings"`
	}
	json.Unmarshal(body, &got)
	found := false
	for _, b := range got.Bookings {
		found = found || b.Booking.BeneficiaryID == second && b.Name != ""
	}
	if res.StatusCode != http.StatusOK || !found {
		t.Errorf("code %s of %s (not erased) and %s (erased): lookup answered %d %s", code, second, first, res.StatusCode, strings.TrimSpace(string(body)))
	}
}
