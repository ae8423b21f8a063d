package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/doseledger/doseledger/api/auth"
)

// staffPath is the staff directory of the data directory.
func (m *Main) staffPath() string { return filepath.Join(m.Config.DataDir, "staff.json") }

func (m *Main) staff(_ context.Context, args []string) error {
	fs := m.newFlags("staff", "staff list\n"+
		"       staff add --id ID --name NAME --mobile NUMBER --role ROLE[,ROLE]\n"+
		"       staff set --id ID [--name NAME] [--mobile NUMBER] [--role ROLE[,ROLE]]\n"+
		"       staff remove --id ID\n\n"+
		"Lists or changes who may sign in with a staff role (vaccinator, official,\n"+
		"auditor, admin). Staff sign in like citizens, with their mobile number and\n"+
		"an OTP, and ask for the role. add refuses an id already listed; set changes\n"+
		"only what it is given. The list is data/staff.json; a running server reads\n"+
		"it when it starts, so restart it after a change (tokens it has issued stay\n"+
		"valid until they expire, within the hour).")
	id := fs.String("id", "", "staff id, recorded on the events they write (lower case, digits, dashes)")
	name := fs.String("name", "", "display name")
	mobile := fs.String("mobile", "", "10-digit mobile number they sign in with")
	roleList := fs.String("role", "", "comma-separated roles: vaccinator, official, auditor, admin")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := parse(fs, args); err != nil {
			return err // --help, or a flag before the action
		}
		fs.Usage()
		return errUsage
	}
	verb := args[0]
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	dir, err := auth.OpenDirectory(m.staffPath())
	if err != nil {
		return err
	}
	switch verb {
	case "list":
		tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tMOBILE\tROLES")
		for _, s := range dir.Members() {
			roles := make([]string, len(s.Roles))
			for i, r := range s.Roles {
				roles[i] = string(r)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, s.Name, s.Mobile, strings.Join(roles, ","))
		}
		return tw.Flush()
	case "add":
		roles, err := staffRoles(*roleList)
		if err != nil {
			return err
		}
		if err := dir.Add(auth.Member{ID: *id, Name: *name, Mobile: *mobile, Roles: roles}); err != nil {
			return err
		}
		m.Log.Info("staff member added", "id", *id, "roles", *roleList, "file", m.staffPath())
		return nil
	case "set":
		member, ok := dir.Member(*id)
		if !ok {
			return fmt.Errorf("staff %s is not listed: add them first (staff list shows who is)", *id)
		}
		changed := false
		var err error
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "name":
				member.Name, changed = *name, true
			case "mobile":
				member.Mobile, changed = *mobile, true
			case "role":
				member.Roles, err = staffRoles(*roleList)
				changed = true
			}
		})
		if err != nil {
			return err
		}
		if !changed {
			return fmt.Errorf("staff set: give --name, --mobile or --role to change")
		}
		if err := dir.Replace(member); err != nil {
			return err
		}
		m.Log.Info("staff member changed", "id", *id, "roles", member.Roles, "file", m.staffPath())
		return nil
	case "remove":
		if err := dir.Remove(*id); err != nil {
			return err
		}
		m.Log.Info("staff member removed; restart a running server for it to take effect", "id", *id, "file", m.staffPath())
		return nil
	}
	return fmt.Errorf("staff: unknown action %q (want list, add, set or remove)", verb)
}

// staffRoles parses --role: staff roles, separated by commas.
func staffRoles(list string) ([]auth.Role, error) {
	var roles []auth.Role
	for _, r := range strings.Split(list, ",") {
		role, err := auth.ParseRole(strings.TrimSpace(r))
		if err != nil || role == auth.Citizen {
			return nil, fmt.Errorf("staff: role %q: want vaccinator, official, auditor or admin (several with commas)", r)
		}
		roles = append(roles, role)
	}
	return roles, nil
}

// demoStaff is who may sign in to a demo server, one of each role.
var demoStaff = []auth.Member{
	{ID: "demo-vaccinator", Name: "Anita Rao (demo vaccinator)", Mobile: "9000000001", Roles: []auth.Role{auth.Vaccinator}},
	{ID: "demo-official", Name: "Ravi Kumar (demo official)", Mobile: "9000000002", Roles: []auth.Role{auth.Official}},
	{ID: "demo-auditor", Name: "Meera Iyer (demo auditor)", Mobile: "9000000003", Roles: []auth.Role{auth.Auditor}},
	{ID: "demo-admin", Name: "Demo Admin", Mobile: "9000000009", Roles: []auth.Role{auth.Admin}},
}

// addDemoStaff lets demoStaff sign in to this run of the server only:
// they are not written to the staff file, so no demo number keeps a
// role once the demo is over.
func (m *Main) addDemoStaff(dir *auth.Directory) error {
	for _, s := range demoStaff {
		if err := dir.PutTemporary(s); err != nil {
			return err
		}
		m.Log.Info("demo staff member (this run only): sign in with this number and the OTP from the log", "mobile", s.Mobile, "role", s.Roles[0])
	}
	return nil
}
