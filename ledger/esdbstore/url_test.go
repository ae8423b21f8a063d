package esdbstore

import "testing"

func TestEsdbScheme(t *testing.T) {
	tests := []struct{ in, want string }{
		{"esdb://localhost:2113?tls=false", "esdb://localhost:2113?tls=false"},
		{"kurrentdb://localhost:2113?tls=false", "esdb://localhost:2113?tls=false"},
		{"kurrentdb+discover://admin:pw@cluster.dns:2113", "esdb+discover://admin:pw@cluster.dns:2113"},
		{"kurrent://a:1,b:2", "esdb://a:1,b:2"},
		{"esdb+discover://x", "esdb+discover://x"},
		{"http://x", "http://x"},
	}
	for _, tt := range tests {
		if got := esdbScheme(tt.in); got != tt.want {
			t.Errorf("esdbScheme(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"esdb://admin:changeit@node1:2113?tls=true", "esdb://admin:***@node1:2113?tls=true"},
		{"esdb://node1:2113?tls=false", "esdb://node1:2113?tls=false"},
		{"esdb://admin@node1:2113", "esdb://admin@node1:2113"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOpen_Bad(t *testing.T) {
	for _, url := range []string{"", "http://localhost:2113", "esdb://", "esdb://localhost:2113?tls=maybe"} {
		if s, err := Open(url, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) = nil error, want one", url)
		}
	}
	if _, err := Open("esdb://localhost:2113?tls=false", Options{StreamPrefix: "$x"}); err == nil {
		t.Error("Open with a '$' stream prefix succeeded")
	}
}
