package fakeapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Session is what a store keeps for one login.
type Session struct {
	User    string
	Expires time.Time
}

// Store keeps sessions under opaque ids. Implementations decide where the state lives, which is what decides
// whether another replica can find it.
type Store interface {
	Create(ctx context.Context, s Session) (id string, err error)
	// Lookup reports ok=false for an unknown or expired id; err is for a store that cannot answer.
	Lookup(ctx context.Context, id string) (s Session, ok bool, err error)
	Delete(ctx context.Context, id string) error
}

// MemoryStore keeps sessions in this process's memory: the state every other replica cannot see.
type MemoryStore struct {
	mu       sync.Mutex
	sessions map[string]Session
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{sessions: make(map[string]Session)}
}

func (m *MemoryStore) Create(_ context.Context, s Session) (string, error) {
	id := newID()
	m.mu.Lock()
	m.sessions[id] = s
	m.mu.Unlock()
	return id, nil
}

func (m *MemoryStore) Lookup(_ context.Context, id string) (Session, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if ok && time.Now().After(s.Expires) {
		delete(m.sessions, id)
		return Session{}, false, nil
	}
	return s, ok, nil
}

func (m *MemoryStore) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	delete(m.sessions, id)
	m.mu.Unlock()
	return nil
}

// Len reports how many sessions the store holds, expired ones included until they are looked up.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// newID returns 128 random bits; session ids must not be guessable or shared between replicas by accident.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error on supported platforms.
	return hex.EncodeToString(b[:])
}
