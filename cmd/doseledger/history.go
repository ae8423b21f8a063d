package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

func (m *Main) history(ctx context.Context, args []string) error {
	fs := m.newFlags("history", "history --beneficiary ID [--json]\n\n"+
		"Prints every event about one person in ledger order — registration, corrections,\n"+
		"bookings, doses, voids, reviews, notifications — including records merged into them.\n"+
		"Personal fields print as stored: sealed.")
	id := fs.String("beneficiary", "", "beneficiary id, such as ABCDEFGHIJKLMNOP-1, or its stream beneficiary-ABCDEFGHIJKLMNOP-1 (required)")
	asJSON := fs.Bool("json", false, "one JSON object per line, for machines")
	if err := parse(fs, args); err != nil {
		return err
	}
	// The id as the STREAM column of events shows it is taken too.
	*id = strings.TrimPrefix(*id, ledger.BeneficiaryStream(""))
	if !ledger.ValidBeneficiaryID(*id) {
		return errors.New("history needs --beneficiary with a beneficiary id, 16 letters and digits, a dash and 1 to 4")
	}
	models, err := m.readModels(ctx)
	if err != nil {
		return err
	}
	person, ok := models.Person(*id)
	if !ok {
		return fmt.Errorf("the ledger has nothing about %s", *id)
	}
	l, err := m.openLedger(time.Now)
	if err != nil {
		return err
	}
	defer l.Close()
	events, err := projections.History(ctx, l.Store, *id, person.Absorbed)
	if err != nil {
		return err
	}
	out := newEventPrinter(m, *asJSON)
	for _, e := range events {
		if err := out.print(e); err != nil {
			return err
		}
	}
	return nil
}
