package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/esdbstore"
	"github.com/doseledger/doseledger/ledger/keystore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/projections"
)

// errUsage is returned for a command line that cannot be run; the usage
// was printed already.
var errUsage = errors.New("usage")

// usageError is a command line that cannot be run, said in a message of
// its own rather than by the usage: it too ends with exit status 2.
type usageError string

func (e usageError) Error() string        { return string(e) }
func (e usageError) Is(target error) bool { return target == errUsage }

// Config is the configuration shared by every subcommand, from flags and
// then the environment.
type Config struct {
	DataDir string
	// Store is where the events are kept: empty for the embedded store in
	// DataDir/events, or an EventStoreDB (KurrentDB) connection string,
	// esdb://, esdb+discover://, kurrentdb:// or kurrentdb+discover://.
	Store    string
	LogLevel slog.Level
	LogJSON  bool
}

// Main is the program: its output streams and the ledger it opens. End-to-
// end tests run it as the binary would.
type Main struct {
	Stdout, Stderr io.Writer
	Config         Config
	Log            *slog.Logger
	// cutoff, set by asof, makes queries read the ledger as it stood then.
	cutoff *projections.Cutoff
	// out, set by export, receives a query's output instead of Stdout.
	out io.Writer
	// finderSaveEvery, if set, replaces defaultFinderSaveEvery (tests).
	finderSaveEvery time.Duration
}

// NewMain returns a Main writing to stdout and stderr.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{Stdout: stdout, Stderr: stderr}
}

const usage = `doseledger — a national vaccination dose ledger.

Usage:
  doseledger [global flags] <command> [flags]

Commands:
  serve        run the server on the embedded store: API, read models, certificates,
               reminders (--demo seeds an empty one first)
  seed         generate a synthetic country into an empty ledger
  events       print the first or last events of one stream or of the whole log
  staff        list or add the staff who may sign in as vaccinator, official, auditor, admin
  import       record the doses of a paper register typed into CSV, with a report per row
  loadtest     run the server on a scratch ledger and measure it over HTTP: a booking race, a
               registration burst

Certificates:
  certificate  issue certificates from the ledger; a person's QR or PDF; publish keys
  verify       check a certificate offline: VALID, INVALID, REVOKED or UNKNOWN ISSUER

Read models (brought up to date with the ledger before each query):
  replay       rebuild every read model from the first event
  due          a session's schedule and due list: who is booked, slot, code
  eligible     who is due for which dose, from when, in any state
  coverage     doses, registrations and completed schedules by day and place
  anomalies    doses recorded with anomalies, and their review
  history      every event about one person, in ledger order
  asof         run a query on the ledger as it stood at a moment (auditors)
  export       write a query's answer to a CSV file

Global flags:
  --data DIR        data directory (default ./data; env DOSELEDGER_DATA)
  --log-level LVL   debug, info, warn or error (default info; env DOSELEDGER_LOG_LEVEL)
  --log-json        write logs as JSON (env DOSELEDGER_LOG_JSON=1)
  --store URL       keep events in EventStoreDB/KurrentDB (esdb://HOST:2113?tls=false,
                    kurrentdb+discover://…) instead of the embedded store in DATA/events;
                    keys and read models stay in DATA (env DOSELEDGER_STORE)

Run 'doseledger <command> --help' for a command's flags.
`

// Run parses args and runs the subcommand they name.
func (m *Main) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("doseledger", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, usage) }
	data := fs.String("data", envOr("DOSELEDGER_DATA", "data"), "")
	level := fs.String("log-level", envOr("DOSELEDGER_LOG_LEVEL", "info"), "")
	logJSON := fs.Bool("log-json", os.Getenv("DOSELEDGER_LOG_JSON") == "1", "")
	store := fs.String("store", os.Getenv("DOSELEDGER_STORE"), "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage // the flag package printed what was wrong
	}
	m.Config = Config{DataDir: *data, Store: *store, LogJSON: *logJSON}
	if err := checkStoreURL(m.Config.Store); err != nil {
		return err
	}
	if err := m.Config.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", *level)
	}
	opts := &slog.HandlerOptions{Level: m.Config.LogLevel}
	if m.Config.LogJSON {
		m.Log = slog.New(slog.NewJSONHandler(m.Stderr, opts))
	} else {
		m.Log = slog.New(slog.NewTextHandler(m.Stderr, opts))
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errUsage
	}
	switch cmd, args := rest[0], rest[1:]; cmd {
	case "serve":
		return m.serve(ctx, args)
	case "seed":
		return m.seed(ctx, args)
	case "events":
		return m.events(ctx, args)
	case "staff":
		return m.staff(ctx, args)
	case "import":
		return m.importRegister(ctx, args)
	case "loadtest":
		return m.loadtest(ctx, args)
	case "verify":
		return m.verify(ctx, args)
	case "certificate":
		return m.certificate(ctx, args)
	case "replay":
		return m.replay(ctx, args)
	case "due", "eligible", "coverage", "anomalies":
		return m.query(ctx, cmd, args)
	case "history":
		return m.history(ctx, args)
	case "asof":
		return m.asof(ctx, args)
	case "export":
		return m.export(ctx, args)
	case "help":
		fs.Usage()
		return nil
	default:
		fmt.Fprintf(m.Stderr, "doseledger: unknown command %q\n\n", cmd)
		fs.Usage()
		return errUsage
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// newFlags returns a subcommand's flag set with its usage text. It takes
// --data too, so that it may come after the subcommand's name as well.
func (m *Main) newFlags(name, synopsis string) *flag.FlagSet {
	fs := m.newFlagsNoData(name, synopsis)
	fs.StringVar(&m.Config.DataDir, "data", m.Config.DataDir, "data directory (env DOSELEDGER_DATA)")
	return fs
}

// newFlagsNoData is newFlags for a command that reads no data directory
// (verify works offline; loadtest makes its own), so its help offers none.
func (m *Main) newFlagsNoData(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: doseledger %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a subcommand's flags, refusing stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// ledgerHandle is an opened ledger: the event store, the key store and the
// command handler over them.
type ledgerHandle struct {
	Store   ledger.Store
	Keys    *keystore.Store
	Handler *command.Handler
	// Hasher is the handler's: the keyed hashes of mobiles and ID numbers.
	Hasher ledger.Hasher
}

// engines returns the Pebble metrics of the ledger's embedded stores, by
// name, for /metrics.
func (l *ledgerHandle) engines() map[string]func() *pebble.Metrics {
	stores := map[string]func() *pebble.Metrics{"keys": l.Keys.EngineMetrics}
	if events, ok := l.Store.(*pebblestore.Store); ok {
		stores["events"] = events.LogMetrics
		stores["events-index"] = events.IndexMetrics
	}
	return stores
}

func (l *ledgerHandle) Close() error {
	return errors.Join(l.Store.Close(), l.Keys.Close())
}

// requireLedger refuses to go on when the data directory holds no ledger:
// a command that reads would otherwise create an empty one there and
// answer "nothing", as if the ledger were empty.
func (m *Main) requireLedger() error {
	if m.Config.Store != "" {
		return nil // EventStoreDB: an empty ledger there is still the ledger
	}
	if _, err := os.Stat(filepath.Join(m.Config.DataDir, "events")); err != nil {
		return fmt.Errorf("no ledger in %s: seed one (doseledger seed, or serve --demo), or point --data (or DOSELEDGER_DATA) at one", m.Config.DataDir)
	}
	return nil
}

// openLedger opens the embedded ledger in the data directory, with now as
// the clock of the store and the commands.
func (m *Main) openLedger(now func() time.Time) (*ledgerHandle, error) {
	dir := m.Config.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	keys, err := keystore.Open(filepath.Join(dir, "keys"), m.Log)
	if err != nil {
		return nil, inUse(err, dir)
	}
	var store ledger.Store
	if m.Config.Store == "" {
		// The embedded store syncs the key store in each group commit,
		// before writing its events, so a registration does not wait for
		// a sync of its own key first.
		store, err = m.openEmbeddedStore(dir, now, keys.DeferSyncs())
	} else {
		store, err = m.openStore(dir, now)
	}
	if err != nil {
		keys.Close()
		return nil, inUse(err, dir)
	}
	l := &ledgerHandle{Store: store, Keys: keys}
	secret, err := keys.Secret("lookup-hash", 32)
	if err != nil {
		l.Close()
		return nil, err
	}
	hasher, err := ledger.NewHasher(secret)
	if err != nil {
		l.Close()
		return nil, err
	}
	l.Hasher = hasher
	l.Handler, err = command.New(command.Config{Store: store, Keys: keys, Hasher: hasher, Now: now, Logger: m.Log})
	if err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// inUse says plainly when opening failed because another process holds
// the data directory's stores (they are locked while open).
func inUse(err error, dir string) error {
	if errors.Is(err, syscall.EAGAIN) {
		return fmt.Errorf("the ledger in %s is open in another doseledger process (a running serve?): stop it first", dir)
	}
	return err
}

// openStore opens the event store Config.Store names: EventStoreDB, or
// the embedded store in dir/events.
func (m *Main) openStore(dir string, now func() time.Time) (ledger.Store, error) {
	if m.Config.Store != "" {
		return esdbstore.Open(m.Config.Store, esdbstore.Options{Logger: m.Log})
	}
	return m.openEmbeddedStore(dir, now, nil)
}

// openEmbeddedStore opens the embedded store in dir/events; before, if
// not nil, is called before each group commit is written.
func (m *Main) openEmbeddedStore(dir string, now func() time.Time, before func() error) (ledger.Store, error) {
	return pebblestore.Open(filepath.Join(dir, "events"), pebblestore.Options{Now: now, Logger: m.Log, BeforeWrite: before})
}

// checkStoreURL refuses a --store that names no store this program knows.
func checkStoreURL(url string) error {
	if url == "" {
		return nil
	}
	for _, scheme := range []string{"esdb://", "esdb+discover://", "kurrentdb://", "kurrentdb+discover://", "kurrent://", "kurrent+discover://"} {
		if strings.HasPrefix(url, scheme) {
			return nil
		}
	}
	return fmt.Errorf("--store (or DOSELEDGER_STORE) %q: want an EventStoreDB connection string (esdb://, esdb+discover://, kurrentdb://), or nothing for the embedded store", url)
}

func humanCount(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
