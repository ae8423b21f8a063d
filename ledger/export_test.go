package ledger

import (
	"encoding/json"
	"fmt"
)

// DecodeStd is Decode with encoding/json, for tests that hold Decode to
// the standard library's answers.
func DecodeStd(e Event) (Payload, error) {
	p, ok := newPayload(e.Type)
	if !ok || e.Schema != 1 {
		return nil, fmt.Errorf("decode %s: unknown", e.Type)
	}
	if err := json.Unmarshal(e.Data, p); err != nil {
		return nil, err
	}
	return p, nil
}
