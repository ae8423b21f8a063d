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
	line, err := json.Marshal(struct {
		At            time.Time `json:"at"`
		ID            string    `json:"id"`
		BeneficiaryID string    `json:"beneficiary_id"`
		Kind          string    `json:"kind"`
		Text          string    `json:"text"`
	}{time.Now().UTC(), n.ID, n.BeneficiaryID, n.Kind, text})
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
