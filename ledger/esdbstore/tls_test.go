package esdbstore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/esdbserver"
	"github.com/doseledger/doseledger/ledger/esdbstore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// mustCert makes a self-signed certificate for 127.0.0.1 and writes it,
// as the CA file a connection string names, to a temporary directory.
func mustCert(tb testing.TB) (tls.Certificate, string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "esdbserver test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	ca := filepath.Join(tb.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, ca
}

// TestStore_TLSCredentials connects with TLS and a user name and password
// taken from the connection string, as to a secure EventStoreDB.
func TestStore_TLSCredentials(t *testing.T) {
	cert, ca := mustCert(t)
	ps, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := esdbserver.New(ps, esdbserver.Options{Authenticate: func(u, p string) bool { return u == "admin" && p == "changeit" }})
	go func() {
		done <- srv.Serve(ctx, lis, grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	}()
	t.Cleanup(func() { cancel(); <-done; ps.Close() })
	addr := lis.Addr().String()

	s := MustOpen(t, "esdb://admin:changeit@"+addr+"?tls=true&tlsCAFile="+ca, esdbstore.Options{})
	e := storetest.NewEvent("DoseAdministered", 1)
	storetest.MustAppend(t, s, "patient-1", ledger.NoStream(), e)
	if got := storetest.MustReadStream(t, s, "patient-1", ledger.ReadOptions{}); len(got) != 1 || got[0].ID != e.ID {
		t.Errorf("read back %d events", len(got))
	}

	_, err = esdbstore.Open("esdb://admin:wrong@"+addr+"?tls=true&tlsCAFile="+ca, esdbstore.Options{ConnectTimeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("Open with a wrong password: err = %v, want the credentials refused", err)
	}
	// Without the CA the server's certificate is not trusted.
	_, err = esdbstore.Open("esdb://admin:changeit@"+addr+"?tls=true", esdbstore.Options{ConnectTimeout: 2 * time.Second})
	if err == nil {
		t.Error("Open trusted a self-signed certificate without its CA")
	}
}
