package main

import (
	"bufio"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/esdbserver"
)

// esdbFlags are serve's flags for the EventStoreDB protocol listener.
type esdbFlags struct {
	listen          string
	writable        bool
	tlsCert, tlsKey string
	usersFile       string
}

func addESDBFlags(fs *flag.FlagSet) *esdbFlags {
	f := &esdbFlags{}
	fs.StringVar(&f.listen, "esdb-listen", os.Getenv("DOSELEDGER_ESDB_LISTEN"), "also serve the ledger over EventStoreDB's gRPC protocol on this address, for any EventStoreDB client; read-only unless --esdb-writable (env DOSELEDGER_ESDB_LISTEN)")
	fs.BoolVar(&f.writable, "esdb-writable", os.Getenv("DOSELEDGER_ESDB_WRITABLE") == "1", "let --esdb-listen clients append too (another doseledger with --store), not only read (env DOSELEDGER_ESDB_WRITABLE=1)")
	fs.StringVar(&f.tlsCert, "esdb-tls-cert", os.Getenv("DOSELEDGER_ESDB_TLS_CERT"), "PEM certificate for TLS on --esdb-listen (env DOSELEDGER_ESDB_TLS_CERT)")
	fs.StringVar(&f.tlsKey, "esdb-tls-key", os.Getenv("DOSELEDGER_ESDB_TLS_KEY"), "PEM private key of --esdb-tls-cert (env DOSELEDGER_ESDB_TLS_KEY)")
	fs.StringVar(&f.usersFile, "esdb-users", os.Getenv("DOSELEDGER_ESDB_USERS"), "file of user:password lines that --esdb-listen accepts; needs TLS (env DOSELEDGER_ESDB_USERS)")
	return f
}

// serveESDB serves store over EventStoreDB's gRPC protocol as f says, so
// that any EventStoreDB client (an auditor's, or another doseledger with
// --store esdb://ADDR) can read and follow the ledger, and append to it
// with --esdb-writable. It returns a function that stops the server and
// waits for it; call it before closing the store.
func (m *Main) serveESDB(ctx context.Context, store ledger.Store, f *esdbFlags) (stop func(), err error) {
	opts := esdbserver.Options{Logger: m.Log, ReadOnly: !f.writable}
	var grpcOpts []grpc.ServerOption
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, fmt.Errorf("--esdb-tls-cert and --esdb-tls-key go together")
	}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--esdb-tls-cert: %w", err)
		}
		grpcOpts = append(grpcOpts, grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	}
	if f.usersFile != "" {
		if f.tlsCert == "" {
			return nil, fmt.Errorf("--esdb-users needs --esdb-tls-cert: EventStoreDB clients send passwords over TLS only")
		}
		users, err := readUsers(f.usersFile)
		if err != nil {
			return nil, err
		}
		opts.Authenticate = func(user, password string) bool {
			want, ok := users[user]
			return ok && subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return nil, fmt.Errorf("--esdb-listen: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	srv := esdbserver.New(store, opts)
	go func() { done <- srv.Serve(ctx, ln, grpcOpts...) }()
	tlsParam := "false"
	if f.tlsCert != "" {
		tlsParam = "true"
	}
	m.Log.Info("serving the ledger over EventStoreDB's gRPC protocol", "addr", ln.Addr().String(),
		"connect", "esdb://"+ln.Addr().String()+"?tls="+tlsParam, "writable", f.writable, "users", f.usersFile != "")
	if f.tlsCert == "" {
		m.Log.Warn("the EventStoreDB listener has no TLS and no users: keep it on loopback or a trusted network", "addr", ln.Addr().String())
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			m.Log.Error("EventStoreDB protocol server stopped", "err", err)
		}
	}, nil
}

// readUsers reads user:password lines; blank lines and # comments are
// passed over.
func readUsers(path string) (map[string]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--esdb-users: %w", err)
	}
	defer file.Close()
	users := map[string]string{}
	sc := bufio.NewScanner(file)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, pass, ok := strings.Cut(line, ":")
		if !ok || user == "" || pass == "" {
			return nil, fmt.Errorf("--esdb-users %s line %d: want user:password", path, n)
		}
		users[user] = pass
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--esdb-users: %w", err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("--esdb-users %s names no user", path)
	}
	return users, nil
}
