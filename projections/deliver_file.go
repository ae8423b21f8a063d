package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// FileDeliverer is the default Deliverer: it appends each message as one
// JSON line to a file that an operator (or a real gateway's adapter)
// reads. It sends no SMS; it says so in its channel name.
type FileDeliverer struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// OpenFileDeliverer opens (or creates) the outbox file at path for appending.
func OpenFileDeliverer(path string) (*FileDeliverer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open outbox file: %w", err)
	}
	return &FileDeliverer{f: f, path: path}, nil
}

// Channel implements Deliverer.
func (*FileDeliverer) Channel() string { return "outbox-file" }

// Deliver implements Deliverer: the line is synced before it returns.
func (d *FileDeliverer) Deliver(_ context.Context, n Notification, text string) error {
	return d.appendLine(struct {
		At            time.Time `json:"at"`
		ID            string    `json:"id"`
		BeneficiaryID string    `json:"beneficiary_id"`
		Kind          string    `json:"kind"`
		Text          string    `json:"text"`
	}{time.Now().UTC(), n.ID, n.BeneficiaryID, n.Kind, text})
}

// DeliverText appends a message that is not one of the outbox's
// notifications, such as a sign-in code, addressed to a mobile number.
func (d *FileDeliverer) DeliverText(kind, to, text string) error {
	return d.appendLine(struct {
		At   time.Time `json:"at"`
		Kind string    `json:"kind"`
		To   string    `json:"to"`
		Text string    `json:"text"`
	}{time.Now().UTC(), kind, to, text})
}

// appendLine writes v as one JSON line and syncs it.
func (d *FileDeliverer) appendLine(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.f.Write(append(line, '\n')); err != nil {
		return err
	}
	return d.f.Sync()
}

// Path is the file written to.
func (d *FileDeliverer) Path() string { return d.path }

// Close closes the file.
func (d *FileDeliverer) Close() error { return d.f.Close() }
