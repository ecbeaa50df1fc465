package seal_test

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp/internal/seal"
)

func newSealer(t *testing.T, secret string) *seal.Sealer {
	t.Helper()
	s, err := seal.New([]byte(secret))
	require.NoError(t, err)
	return s
}

func TestSealRoundTrip(t *testing.T) {
	tests := []struct{ name, secret, plaintext string }{
		{"ticket", "secret-a", "0123456789abcdef0123456789abcdef"},
		{"one-byte secret", "k", `{"u":"user1"}`},
		{"empty plaintext", "secret-a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSealer(t, tt.secret)
			sealed := s.Seal("session", []byte(tt.plaintext))
			raw, err := base64.RawURLEncoding.DecodeString(sealed)
			require.NoError(t, err, "a sealed value must be URL-safe base64, fit for a cookie")
			if tt.plaintext != "" {
				assert.NotContains(t, string(raw), tt.plaintext, "the plaintext must be encrypted, not just signed")
			}

			got, err := newSealer(t, tt.secret).Open("session", sealed) // another Sealer, same secret
			require.NoError(t, err)
			assert.Equal(t, tt.plaintext, string(got))
			assert.NotEqual(t, sealed, s.Seal("session", []byte(tt.plaintext)), "each seal takes a fresh nonce")
		})
	}
}

// flipByte returns sealed with bit 0 of its decoded byte i inverted, re-encoded.
func flipByte(t *testing.T, sealed string, i int) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	require.NoError(t, err)
	raw[i] ^= 1
	return base64.RawURLEncoding.EncodeToString(raw)
}

func TestSealRefuses(t *testing.T) {
	a := newSealer(t, "secret-a")
	sealed := a.Seal("ticket", []byte("0123456789abcdef"))
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	require.NoError(t, err)

	tests := []struct {
		name, purpose, value string
		sealer               *seal.Sealer
	}{
		{"another secret", "ticket", sealed, newSealer(t, "secret-b")},
		{"another purpose", "session", sealed, a},
		{"empty", "ticket", "", a},
		{"not base64", "ticket", "not a sealed value!", a},
		{"standard base64 padding", "ticket", base64.URLEncoding.EncodeToString(raw), a},
		{"shorter than nonce and tag", "ticket", base64.RawURLEncoding.EncodeToString(raw[:27]), a},
		{"truncated by one byte", "ticket", base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]), a},
		{"one byte appended", "ticket", base64.RawURLEncoding.EncodeToString(append(raw[:len(raw):len(raw)], 0)), a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(tt.purpose, tt.value)
			require.ErrorIs(t, err, seal.ErrUnsealed)
			assert.Nil(t, got)
		})
	}
	t.Run("any byte tampered", func(t *testing.T) {
		for i := range raw {
			_, err := a.Open("ticket", flipByte(t, sealed, i))
			require.ErrorIs(t, err, seal.ErrUnsealed, "byte %d of %d changed", i, len(raw))
		}
	})
	t.Run("untouched still opens", func(t *testing.T) {
		got, err := a.Open("ticket", sealed)
		require.NoError(t, err)
		assert.Equal(t, "0123456789abcdef", string(got))
	})
}

func TestNewSealerNeedsASecret(t *testing.T) {
	for _, secret := range [][]byte{nil, {}} {
		s, err := seal.New(secret)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "empty secret")
		assert.Nil(t, s)
	}
}

func TestRandomSecret(t *testing.T) {
	a, b := seal.RandomSecret(), seal.RandomSecret()
	assert.Len(t, a, 32)
	assert.NotEqual(t, a, b, "each replica must draw its own secret")

	sa, err := seal.New(a)
	require.NoError(t, err)
	sb, err := seal.New(b)
	require.NoError(t, err)
	_, err = sb.Open("session", sa.Seal("session", []byte("x")))
	assert.ErrorIs(t, err, seal.ErrUnsealed)
}
