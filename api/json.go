package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// writeJSON writes v as the JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away: nothing left to tell it
}

// decodeBody reads the request body, at most limit bytes, as exactly one
// JSON object into v. Unknown fields are refused, so that a misspelt
// field is an error rather than silently ignored.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Message: fmt.Sprintf("the request body must be application/json, not %q", ct)}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err, limit, "the request body")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return bodyError(err, limit, "the request body")
		}
		return badRequest("malformed_json", "the request body holds more than one JSON value; send one object")
	}
	return nil
}

// bodyError explains why what ("the request body", "this item") could
// not be decoded.
func bodyError(err error, limit int64, what string) error {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Message: fmt.Sprintf("the request body is over the limit of %d KiB", limit>>10)}
	case errors.Is(err, io.EOF):
		return badRequest("malformed_json", what+" is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed_json", what+" ends in the middle of a JSON value")
	case errors.As(err, &syntax):
		return badRequest("malformed_json", fmt.Sprintf("%s is not valid JSON (at byte %d): %v", what, syntax.Offset, err))
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("malformed_json", fmt.Sprintf("%s must be a JSON object, not %s", what, typeErr.Value))
		}
		return badRequest("invalid_input", fmt.Sprintf("field %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	}
	// encoding/json has no typed error for an unknown field; its text is
	// the only way to tell it.
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest("unknown_field", fmt.Sprintf("unknown field %s in %s", field, what))
	}
	return badRequest("malformed_json", what+" could not be read as JSON: "+err.Error())
}

// jsonKind names a Go kind as JSON does.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice", kind == "array":
		return "an array"
	}
	return "an object"
}

// requestID reads an optional request id: retrying a request with the
// same one does it once. None gives a fresh random id.
func requestID(s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.New(), nil
	}
	return parseUUID("request_id", s)
}

// parseUUID reads a required UUID field.
func parseUUID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, badRequest("invalid_input", field+" is required (a UUID)")
	}
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, badRequest("invalid_input", fmt.Sprintf("%s %q is not a UUID", field, s))
	}
	return id, nil
}

// parseTime reads an RFC 3339 time with its offset, such as
// 2021-05-02T10:30:00+05:30.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, badRequest("invalid_input", field+" is required (RFC 3339, such as 2021-05-02T10:30:00+05:30)")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest("invalid_input", fmt.Sprintf("%s %q is not an RFC 3339 time such as 2021-05-02T10:30:00+05:30", field, s))
	}
	return t, nil
}
