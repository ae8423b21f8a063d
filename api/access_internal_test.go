package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/api/auth"
)

// A long list is logged in numbered parts that together name everyone,
// in the list's order, and none over listLogPart people.
func TestLogListRead_LongListInParts(t *testing.T) {
	var buf bytes.Buffer
	s := &server{access: slog.New(slog.NewJSONHandler(&buf, nil))}
	ids := make([]string, 2*listLogPart+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("AAAAAAAAAAAA%04d-1", i)
	}
	readAs := func(role auth.Role) {
		r := httptest.NewRequest("GET", "/api/v1/eligibility", nil)
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, auth.Principal{ID: "a1", Role: role}))
		s.logListRead(r, "eligibility", ids)
	}

	readAs(auth.Auditor)
	var named []string
	readIDs := map[string]bool{}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines for %d people, want 3:\n%s", len(lines), len(ids), buf.String())
	}
	for i, line := range lines {
		var l struct {
			IDs                []string `json:"beneficiary_ids"`
			Part, Parts, Named int
			What, Actor        string
			ReadID             string `json:"read_id"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		if l.Part != i+1 || l.Parts != 3 || l.Named != len(ids) || l.What != "eligibility" || l.Actor != "auditor:a1" {
			t.Errorf("line %d: part %d of %d, named %d, what %q, actor %q", i, l.Part, l.Parts, l.Named, l.What, l.Actor)
		}
		if len(l.IDs) > listLogPart {
			t.Errorf("line %d names %d people, over %d", i, len(l.IDs), listLogPart)
		}
		if readIDs[l.ReadID] = true; l.ReadID == "" || len(readIDs) != 1 {
			t.Errorf("line %d has read id %q; the parts of one read share one", i, l.ReadID)
		}
		named = append(named, l.IDs...)
	}
	if !slices.Equal(named, ids) {
		t.Errorf("the parts name %d people, not the list's %d in order", len(named), len(ids))
	}

	buf.Reset()
	ids = ids[:listLogPart]
	readAs(auth.Official)
	if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.Contains(buf.String(), `"part":1,"parts":1,"named":500`) {
		t.Errorf("a list of exactly %d people logged in %d lines:\n%s", listLogPart, n, buf.String())
	}

	buf.Reset()
	readAs(auth.Citizen)
	if buf.Len() != 0 {
		t.Errorf("a citizen's list read was logged: %s", buf.String())
	}
}

func TestWithArticle(t *testing.T) {
	for role, want := range map[string]string{"auditor": "an auditor", "admin": "an admin", "official": "an official",
		"citizen": "a citizen", "vaccinator": "a vaccinator"} {
		if got := withArticle(role); got != want {
			t.Errorf("withArticle(%q) = %q, want %q", role, got, want)
		}
	}
}
