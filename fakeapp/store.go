package fakeapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionlab/sessionlab/internal/contract"
)

// session is what the app keeps for one browser: a logged-in user, or before login the CSRF token of the form it
// was given (a pre-login session).
type session struct {
	User    string    `json:"u,omitempty"`
	CSRF    string    `json:"c,omitempty"`
	Expires time.Time `json:"e"` // the absolute end of its lifetime
}

// loggedIn reports whether the session carries a login.
func (s session) loggedIn() bool { return s.User != "" }

// Store keeps records under ids, each for a time. Implementations decide where the state lives, which is what
// decides whether another replica can find it.
type Store interface {
	// Save creates or replaces the record id, to be forgotten after ttl.
	Save(ctx context.Context, id string, value []byte, ttl time.Duration) error
	// Load reports ok=false for an unknown or expired id; err is for a store that cannot answer.
	Load(ctx context.Context, id string) (value []byte, ok bool, err error)
	Delete(ctx context.Context, id string) error
	// Len counts the records held now.
	Len(ctx context.Context) (int, error)
}

// memoryStore keeps records in this process's memory: the state every other replica cannot see.
type memoryStore struct {
	mu      sync.Mutex
	records map[string]memoryRecord
	now     func() time.Time
}

type memoryRecord struct {
	value   []byte
	expires time.Time
}

var _ Store = (*memoryStore)(nil)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() Store {
	return &memoryStore{records: make(map[string]memoryRecord), now: time.Now}
}

func (m *memoryStore) Save(_ context.Context, id string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[id] = memoryRecord{value: value, expires: m.now().Add(ttl)}
	return nil
}

func (m *memoryStore) Load(_ context.Context, id string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[id]
	if ok && !m.now().Before(r.expires) {
		delete(m.records, id)
		return nil, false, nil
	}
	return r.value, ok, nil
}

func (m *memoryStore) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	delete(m.records, id)
	m.mu.Unlock()
	return nil
}

// Len counts the records that have not expired, dropping the ones that have.
func (m *memoryStore) Len(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for id, r := range m.records {
		if !now.Before(r.expires) {
			delete(m.records, id)
		}
	}
	return len(m.records), nil
}

// redisStore keeps records in a Redis shared by every replica, as keys under a prefix with Redis's own TTL, so
// that any replica finds any record and Redis alone decides when one expires.
type redisStore struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ Store = (*redisStore)(nil)

// NewRedisStore stores under prefix (for example "sessionlab:session:sid-") in rdb.
func NewRedisStore(rdb redis.UniversalClient, prefix string) Store {
	return &redisStore{rdb: rdb, prefix: prefix}
}

func (r *redisStore) Save(ctx context.Context, id string, value []byte, ttl time.Duration) error {
	if err := r.rdb.Set(ctx, r.prefix+id, value, ttl).Err(); err != nil {
		return fmt.Errorf("redis set: %w", err)
	}
	return nil
}

func (r *redisStore) Load(ctx context.Context, id string) ([]byte, bool, error) {
	v, err := r.rdb.Get(ctx, r.prefix+id).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("redis get: %w", err)
	}
	return v, true, nil
}

func (r *redisStore) Delete(ctx context.Context, id string) error {
	if err := r.rdb.Del(ctx, r.prefix+id).Err(); err != nil {
		return fmt.Errorf("redis del: %w", err)
	}
	return nil
}

// Len counts the keys under the prefix with SCAN, which does not block Redis the way KEYS would.
func (r *redisStore) Len(ctx context.Context) (int, error) {
	return contract.CountKeys(ctx, r.rdb, r.prefix+"*")
}

func encodeSession(s session) []byte {
	b, _ := json.Marshal(s) // a struct of strings and a time always marshals
	return b
}

func decodeSession(b []byte) (session, error) {
	var s session
	if err := json.Unmarshal(b, &s); err != nil {
		return session{}, fmt.Errorf("decode session: %w", err)
	}
	return s, nil
}

// newID returns 128 random bits; ids must not be guessable or shared between replicas by accident.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error on supported platforms.
	return hex.EncodeToString(b[:])
}
