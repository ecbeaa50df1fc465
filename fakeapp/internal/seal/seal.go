// Package seal seals what leaves a fake-app replica (session cookies, tickets, SSO states and codes).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// Sealer seals values that leave the replica (session cookies, tickets, SSO states and codes) with authenticated
// encryption under a key derived from a secret, so that only a holder of the same secret can open them and a
// changed byte is refused. A replica with another secret is exactly the replica that cannot open the cookie.
type Sealer struct {
	aead cipher.AEAD
}

// ErrUnsealed is the answer to a sealed value that does not open: made with another secret, tampered with, or not
// a sealed value at all.
var ErrUnsealed = errors.New("sealed value does not open with this secret")

// New derives an AES-256-GCM key from secret (any length, at least one byte).
func New(secret []byte) (*Sealer, error) {
	if len(secret) == 0 {
		return nil, errors.New("seal: empty secret")
	}
	key := sha256.Sum256(secret)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// RandomSecret is what a replica uses when it is given none: 32 random bytes of its own, as Wakapi and
// caddy-security do without a configured key.
func RandomSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error on supported platforms.
	return b
}

// Seal returns plaintext encrypted and authenticated, as URL-safe base64 fit for a cookie or a query parameter.
// The purpose is bound into the seal, so a value sealed as one thing (an SSO code) cannot be replayed as another
// (a session).
func (s *Sealer) Seal(purpose string, plaintext []byte) string {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plaintext, []byte(purpose)))
}

// Open returns what Seal sealed for the same purpose with the same secret, or ErrUnsealed.
func (s *Sealer) Open(purpose, sealed string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, ErrUnsealed
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	if err != nil {
		return nil, ErrUnsealed
	}
	return plain, nil
}
