package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"

	"github.com/doseledger/doseledger/ledger"
)

// Member is a staff member who may sign in with a staff role.
type Member struct {
	// ID names the member on the events they write ("vaccinator:<id>"):
	// lower-case letters, digits and dashes.
	ID     string `json:"id"`
	Name   string `json:"name"`
	Mobile string `json:"mobile"`
	Roles  []Role `json:"roles"`
}

var memberIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,47}$`)

func (m Member) check() error {
	switch {
	case !memberIDPattern.MatchString(m.ID):
		return fmt.Errorf("staff id %q: use 1 to 48 lower-case letters, digits and dashes", m.ID)
	case m.Name == "" || len(m.Name) > 100:
		return fmt.Errorf("staff %s: name must be 1 to 100 bytes", m.ID)
	case !ledger.ValidMobile(m.Mobile):
		return fmt.Errorf("staff %s: mobile %q is not a 10-digit Indian mobile number", m.ID, m.Mobile)
	case len(m.Roles) == 0:
		return fmt.Errorf("staff %s: give at least one role", m.ID)
	}
	for _, r := range m.Roles {
		if r == Citizen {
			return fmt.Errorf("staff %s: citizen is not a staff role", m.ID)
		}
		if _, err := ParseRole(string(r)); err != nil {
			return fmt.Errorf("staff %s: %w", m.ID, err)
		}
	}
	return nil
}

// Directory is the staff list, kept in a JSON file readable by its owner
// only. A missing file is an empty directory.
type Directory struct {
	path string

	mu      sync.RWMutex
	members []Member
	// temporary are the ids of members never written to the file.
	temporary map[string]bool
}

// OpenDirectory reads the staff list at path.
func OpenDirectory(path string) (*Directory, error) {
	d := &Directory{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read staff directory: %w", err)
	}
	if err := json.Unmarshal(b, &d.members); err != nil {
		return nil, fmt.Errorf("staff directory %s is not valid JSON: %w", path, err)
	}
	for i, m := range d.members {
		if err := m.check(); err != nil {
			return nil, fmt.Errorf("staff directory %s, entry %d: %w", path, i+1, err)
		}
		d.members[i].Mobile = ledger.NormalizeMobile(m.Mobile)
	}
	return d, nil
}

// Put adds m, or replaces the member with its id, and saves the file.
func (d *Directory) Put(m Member) error { return d.put(m, true) }

// PutTemporary adds m for this process only: the file is not written, so
// the member is gone at the next start. A demo server's staff are added
// so, not to outlive the demo.
func (d *Directory) PutTemporary(m Member) error { return d.put(m, false) }

func (d *Directory) put(m Member, save bool) error {
	if err := m.check(); err != nil {
		return err
	}
	m.Mobile = ledger.NormalizeMobile(m.Mobile)
	d.mu.Lock()
	defer d.mu.Unlock()
	members := slices.Clone(d.members)
	i := slices.IndexFunc(members, func(o Member) bool { return o.ID == m.ID })
	for _, o := range members {
		if o.ID != m.ID && o.Mobile == m.Mobile {
			return fmt.Errorf("staff %s: mobile is already %s's", m.ID, o.ID)
		}
	}
	if i >= 0 {
		members[i] = m
	} else {
		members = append(members, m)
	}
	if save {
		delete(d.temporary, m.ID)
		kept := slices.DeleteFunc(slices.Clone(members), func(o Member) bool { return d.temporary[o.ID] })
		if err := d.save(kept); err != nil {
			return err
		}
	} else {
		if d.temporary == nil {
			d.temporary = map[string]bool{}
		}
		d.temporary[m.ID] = true
	}
	d.members = members
	return nil
}

func (d *Directory) save(members []Member) error {
	b, err := json.MarshalIndent(members, "", "  ")
	if err != nil {
		return err
	}
	if d.path == "" {
		return nil // an in-memory directory, for tests
	}
	// The first member may be added before serve has made the data
	// directory.
	if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err != nil {
		return fmt.Errorf("save staff directory: %w", err)
	}
	tmp := d.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save staff directory: %w", err)
	}
	if err := os.Rename(tmp, d.path); err != nil {
		return fmt.Errorf("save staff directory: %w", err)
	}
	return nil
}

// Lookup returns the member with mobile if they hold role.
func (d *Directory) Lookup(mobile string, role Role) (Member, bool) {
	m := ledger.NormalizeMobile(mobile)
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, o := range d.members {
		if o.Mobile == m && slices.Contains(o.Roles, role) {
			return o, true
		}
	}
	return Member{}, false
}

// Members returns a copy of the list.
func (d *Directory) Members() []Member {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := slices.Clone(d.members)
	for i := range out {
		out[i].Roles = slices.Clone(out[i].Roles)
	}
	return out
}
