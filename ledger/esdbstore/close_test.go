package esdbstore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/esdbstore"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// TestStore_CloseUnderLoad closes the store while appends and reads are
// in flight: they end with ErrClosed (or succeed). The client panics a
// call that races its Close; the store turns that into ErrClosed, but the
// window is narrow and this test seldom hits it.
func TestStore_CloseUnderLoad(t *testing.T) {
	addr, _ := MustServe(t)
	s, err := esdbstore.Open("esdb://"+addr+"?tls=false", esdbstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				_, err := s.Append(t.Context(), fmt.Sprintf("patient-%d-%d", g, i), ledger.Any(), storetest.NewEvent("DoseAdministered", i))
				if err == nil {
					_, _, err = s.StreamHead(t.Context(), fmt.Sprintf("patient-%d-%d", g, i))
				}
				if errors.Is(err, ledger.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("err = %v, want nil or ErrClosed", err)
					return
				}
			}
		})
	}
	storetest.MustAppend(t, s, "patient-x", ledger.NoStream(), storetest.NewEvent("DoseAdministered", 0))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := s.Append(t.Context(), "patient-y", ledger.Any(), storetest.NewEvent("DoseAdministered", 0)); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Append after Close: err = %v, want ErrClosed", err)
	}
	for _, err := range s.Subscribe(t.Context(), ledger.Start, ledger.Filter{}) {
		if !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("Subscribe after Close: err = %v, want ErrClosed", err)
		}
		break
	}
}
