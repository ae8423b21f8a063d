package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3 document of this API, served at /openapi.json.
// The tests validate every request they send and every answer they get
// against it. Read it only: it is shared by every request.
//
//go:embed openapi.json
var openAPI []byte

// serveOpenAPI: GET /openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openAPI) // an error means the client went away
	return nil
}
