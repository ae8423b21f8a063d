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
	"sync/atomic"
	"time"

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
//
// A running server reads the file again when it changes (looking at most
// once a second), so `doseledger staff` takes effect without a restart: a
// member removed, or a role taken away, stops working at their next
// request, although their token would live for the rest of a shift.
type Directory struct {
	path string

	mu      sync.RWMutex
	members []Member
	// byID indexes members by id: every staff request asks Holds.
	byID map[string]int
	// temporary are the ids of members never written to the file.
	temporary map[string]bool
	// stamp is the file as it was when last read, to see that it changed.
	stamp fileStamp

	// lastLook is when the file was last looked at (UnixNano), and
	// lookEvery how often it is looked at.
	lastLook  atomic.Int64
	lookEvery time.Duration
}

type fileStamp struct {
	mod  int64 // UnixNano
	size int64
}

// OpenDirectory reads the staff list at path.
func OpenDirectory(path string) (*Directory, error) {
	d := &Directory{path: path, lookEvery: time.Second}
	members, stamp, err := readMembers(path)
	if err != nil {
		return nil, err
	}
	d.setMembers(members)
	d.stamp = stamp
	d.lastLook.Store(time.Now().UnixNano())
	return d, nil
}

// readMembers reads and checks the staff file at path; a missing file is
// an empty list.
func readMembers(path string) ([]Member, fileStamp, error) {
	stamp, err := stampOf(path)
	if err != nil {
		return nil, stamp, fmt.Errorf("read staff directory: %w", err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, stamp, nil
	}
	if err != nil {
		return nil, stamp, fmt.Errorf("read staff directory: %w", err)
	}
	var members []Member
	if err := json.Unmarshal(b, &members); err != nil {
		return nil, stamp, fmt.Errorf("staff directory %s is not valid JSON: %w", path, err)
	}
	for i, m := range members {
		if err := m.check(); err != nil {
			return nil, stamp, fmt.Errorf("staff directory %s, entry %d: %w", path, i+1, err)
		}
		members[i].Mobile = ledger.NormalizeMobile(m.Mobile)
	}
	return members, stamp, nil
}

// stampOf is the file's modification time and size; a missing file has
// the zero stamp.
func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, nil
	}
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime().UnixNano(), fi.Size()}, nil
}

// refresh reads the file again if it changed since it was last read, at
// most once every lookEvery. A file that cannot be read or is not valid
// (a hand edit half done) leaves the last good list in place.
func (d *Directory) refresh() {
	if d.path == "" {
		return
	}
	now, last := time.Now().UnixNano(), d.lastLook.Load()
	if now-last < int64(d.lookEvery) || !d.lastLook.CompareAndSwap(last, now) {
		return
	}
	stamp, err := stampOf(d.path)
	d.mu.RLock()
	before := d.stamp
	d.mu.RUnlock()
	if err != nil || stamp == before {
		return
	}
	members, stamp, err := readMembers(d.path)
	if err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stamp != before {
		return // saved by this process meanwhile: its list is newer
	}
	for _, o := range d.members {
		if d.temporary[o.ID] && !slices.ContainsFunc(members, func(m Member) bool { return m.ID == o.ID }) {
			members = append(members, o)
		}
	}
	d.setMembers(members)
	d.stamp = stamp
}

// setMembers makes members the list; d.mu is held, or d not yet shared.
func (d *Directory) setMembers(members []Member) {
	d.members = members
	d.byID = make(map[string]int, len(members))
	for i, m := range members {
		d.byID[m.ID] = i
	}
}

// Add adds m and saves the file. An id already listed is refused, so a
// mistyped id never takes over someone else's roles: use Replace.
func (d *Directory) Add(m Member) error {
	return d.put(m, true, func(exists bool) error {
		if exists {
			return fmt.Errorf("staff %s is listed already: change them with set, or choose another id", m.ID)
		}
		return nil
	})
}

// Replace changes the member with m's id to m and saves the file.
func (d *Directory) Replace(m Member) error {
	return d.put(m, true, func(exists bool) error {
		if !exists {
			return fmt.Errorf("staff %s is not listed: add them first", m.ID)
		}
		return nil
	})
}

// PutTemporary adds m for this process only: the file is not written, so
// the member is gone at the next start. A demo server's staff are added
// so, not to outlive the demo.
func (d *Directory) PutTemporary(m Member) error {
	return d.put(m, false, func(bool) error { return nil })
}

// Member returns the member with id.
func (d *Directory) Member(id string) (Member, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.byID[id]
	if !ok {
		return Member{}, false
	}
	m := d.members[i]
	m.Roles = slices.Clone(m.Roles)
	return m, true
}

// Remove takes the member with id off the list and saves the file. A
// server reads the list when it starts; tokens it has issued stay valid
// until they expire.
func (d *Directory) Remove(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := slices.IndexFunc(d.members, func(o Member) bool { return o.ID == id })
	if i < 0 {
		return fmt.Errorf("staff %s is not listed", id)
	}
	members := slices.Delete(slices.Clone(d.members), i, i+1)
	if !d.temporary[id] {
		kept := slices.DeleteFunc(slices.Clone(members), func(o Member) bool { return d.temporary[o.ID] })
		if err := d.save(kept); err != nil {
			return err
		}
	}
	delete(d.temporary, id)
	d.setMembers(members)
	return nil
}

// put adds m, or replaces the member with its id, once allow accepts
// whether that id is listed.
func (d *Directory) put(m Member, save bool, allow func(exists bool) error) error {
	if err := m.check(); err != nil {
		return err
	}
	m.Mobile = ledger.NormalizeMobile(m.Mobile)
	d.mu.Lock()
	defer d.mu.Unlock()
	members := slices.Clone(d.members)
	i := slices.IndexFunc(members, func(o Member) bool { return o.ID == m.ID })
	if err := allow(i >= 0); err != nil {
		return err
	}
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
		kept := slices.DeleteFunc(slices.Clone(members), func(o Member) bool { return o.ID != m.ID && d.temporary[o.ID] })
		if err := d.save(kept); err != nil {
			return err
		}
		delete(d.temporary, m.ID)
	} else {
		if d.temporary == nil {
			d.temporary = map[string]bool{}
		}
		d.temporary[m.ID] = true
	}
	d.setMembers(members)
	return nil
}

// save writes members to the file, and remembers its stamp so that
// refresh does not read back what was just written; d.mu is held.
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
	d.stamp, _ = stampOf(d.path)
	return nil
}

// Lookup returns the member with mobile if they hold role.
func (d *Directory) Lookup(mobile string, role Role) (Member, bool) {
	d.refresh()
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

// Holds reports whether the member with id holds role now.
func (d *Directory) Holds(id string, role Role) bool {
	d.refresh()
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.byID[id]
	return ok && slices.Contains(d.members[i].Roles, role)
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
