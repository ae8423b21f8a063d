package auth

import (
	"strings"
	"testing"
)

// BenchmarkVerifyNew checks a token not seen before, as a citizen's first
// request after signing in does.
func BenchmarkVerifyNew(b *testing.B) {
	tokens, _ := NewTokens([]byte(strings.Repeat("k", SecretLen)), nil)
	tok, _ := tokens.Issue(Principal{Role: Citizen, ID: "ABCDEFGHIJKLMNOP", Name: "Asha"})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tokens.parse(tok.Value); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssue mints a citizen's token, as each sign-in does.
func BenchmarkIssue(b *testing.B) {
	tokens, _ := NewTokens([]byte(strings.Repeat("k", SecretLen)), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tokens.Issue(Principal{Role: Citizen, ID: "ABCDEFGHIJKLMNOP"}); err != nil {
			b.Fatal(err)
		}
	}
}
