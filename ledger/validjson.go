package ledger

import "github.com/go-json-experiment/json/jsontext"

// ValidJSON reports whether b is exactly one JSON value, accepting what
// encoding/json's Valid accepts and nothing else. It is jsontext's checker
// (go-json-experiment, the code behind Go's encoding/json/v2), which does
// the same in about 60 % of the time; FuzzValidJSON holds the two to the
// same answers.
//
// Decoders here check JSON before goccy/go-json reads it: goccy is lax
// (numbers such as 01 or 1., control characters in strings) and v0.10 can
// read past its buffer and panic on malformed input (goccy/go-json#604).
func ValidJSON(b []byte) bool {
	return jsontext.Value(b).IsValid(encodingJSONSyntax...)
}

// encodingJSONSyntax narrows jsontext's check to the grammar, as
// encoding/json reads it: duplicate names are allowed (the last counts),
// and so are invalid UTF-8 and escaped lone surrogates (read as U+FFFD).
var encodingJSONSyntax = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}
