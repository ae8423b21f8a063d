package issuance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/doseledger/doseledger/ledger"
)

// Checkpoint keeps the position of the log up to which an Issuer has
// acted on every event, so that a restarted issuer resumes there instead
// of rereading the whole log. Load returns ledger.Start when nothing was
// saved yet; Save must be durable when it returns. An Issuer calls them
// from one goroutine at a time.
type Checkpoint interface {
	Load(ctx context.Context) (ledger.Position, error)
	Save(ctx context.Context, p ledger.Position) error
}

// FileCheckpoint is a Checkpoint kept in one small file at Path, written
// whole to a temporary file, synced and renamed over the old one, so that
// a crash leaves the old checkpoint or the new one, never a torn one. The
// file is {"version":1,"position":N} (testdata/checkpoint-v1.json).
type FileCheckpoint struct {
	Path string
}

var _ Checkpoint = FileCheckpoint{}

// checkpointFile is the frozen file form of a FileCheckpoint.
type checkpointFile struct {
	Version  int             `json:"version"`
	Position ledger.Position `json:"position"`
}

// maxCheckpointFile bounds what Load reads: the file is a few dozen
// bytes.
const maxCheckpointFile = 4 << 10

// Load returns the saved position, or ledger.Start if the file does not
// exist. It returns an error if the file cannot be read or is not a
// checkpoint of version 1: delete it to have the issuer reread the log.
func (c FileCheckpoint) Load(ctx context.Context) (ledger.Position, error) {
	f, err := os.Open(c.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return ledger.Start, nil
	}
	if err != nil {
		return 0, fmt.Errorf("issuer checkpoint: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCheckpointFile+1))
	if err != nil {
		return 0, fmt.Errorf("issuer checkpoint: %w", err)
	}
	var cp checkpointFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if len(b) > maxCheckpointFile || dec.Decode(&cp) != nil || dec.More() || cp.Version != 1 {
		return 0, fmt.Errorf("issuer checkpoint %s is not a version 1 checkpoint; delete it to reread the log", c.Path)
	}
	return cp.Position, nil
}

// Save writes p durably, creating the file's directory if needed. It
// returns the file system's errors.
func (c FileCheckpoint) Save(ctx context.Context, p ledger.Position) error {
	b, err := json.Marshal(checkpointFile{Version: 1, Position: p})
	if err != nil {
		return err
	}
	dir := filepath.Dir(c.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("issuer checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(c.Path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("issuer checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.Path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("issuer checkpoint: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
