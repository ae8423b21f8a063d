package api_test

import (
	"bytes"
	"net/http"
	"os"
	"testing"
)

func TestOpenAPI_ServedDocumentIsTheValidatedOne(t *testing.T) {
	e := newEnv(t)
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	r := e.get(t, "/openapi.json")
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if !bytes.Equal(r.body, want) {
		t.Error("/openapi.json differs from api/openapi.json")
	}
	s, _ := loadSpec(t)
	if s.OpenAPI != "3.0.3" || len(s.Paths.Map()) < 18 {
		t.Errorf("openapi %q with %d paths", s.OpenAPI, len(s.Paths.Map()))
	}
}
