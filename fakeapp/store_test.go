package fakeapp_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp"
)

// TestStoreContract holds every Store to the same answers.
func TestStoreContract(t *testing.T) {
	stores := []struct {
		name string
		new  func(t *testing.T) fakeapp.Store
	}{
		{"memory", func(*testing.T) fakeapp.Store { return fakeapp.NewMemoryStore() }},
		{"redis", func(t *testing.T) fakeapp.Store { return fakeapp.NewRedisStore(startRedis(t), "test:") }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			s := st.new(t)
			assertLen(t, s, 0)

			_, ok, err := s.Load(ctx, "nobody")
			require.NoError(t, err)
			assert.False(t, ok, "an unknown id is not an error, just absent")

			require.NoError(t, s.Save(ctx, "a", []byte("one"), time.Hour))
			require.NoError(t, s.Save(ctx, "b", []byte("two"), time.Hour))
			assertLoads(t, s, "a", "one")
			assertLen(t, s, 2)

			require.NoError(t, s.Save(ctx, "a", []byte("uno"), time.Hour))
			assertLoads(t, s, "a", "uno")
			assertLen(t, s, 2)

			require.NoError(t, s.Delete(ctx, "a"))
			_, ok, err = s.Load(ctx, "a")
			require.NoError(t, err)
			assert.False(t, ok, "a deleted record must be gone")
			require.NoError(t, s.Delete(ctx, "a"), "deleting twice is not an error")
			assertLoads(t, s, "b", "two")
			assertLen(t, s, 1)
		})
	}
}

func assertLoads(t *testing.T, s fakeapp.Store, id, want string) {
	t.Helper()
	got, ok, err := s.Load(context.Background(), id)
	require.NoError(t, err)
	require.True(t, ok, "record %q must be there", id)
	assert.Equal(t, want, string(got))
}

func assertLen(t *testing.T, s fakeapp.Store, want int) {
	t.Helper()
	n, err := s.Len(context.Background())
	require.NoError(t, err)
	assert.Equal(t, want, n)
}

func TestMemoryStoreExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := fakeapp.NewMemoryStore()
		require.NoError(t, s.Save(ctx, "short", []byte("s"), time.Second))
		require.NoError(t, s.Save(ctx, "long", []byte("l"), time.Hour))

		time.Sleep(999 * time.Millisecond)
		assertLoads(t, s, "short", "s")
		assertLen(t, s, 2)

		time.Sleep(time.Millisecond) // the ttl is up: gone at exactly its end
		_, ok, err := s.Load(ctx, "short")
		require.NoError(t, err)
		assert.False(t, ok, "an expired record must not load")
		assertLen(t, s, 1)

		require.NoError(t, s.Save(ctx, "long", []byte("l2"), time.Second)) // a Save replaces the ttl too
		time.Sleep(time.Second)
		assertLen(t, s, 0)
	})
}

func TestRedisStoreTTL(t *testing.T) {
	rdb := startRedis(t)
	ctx := context.Background()
	s := fakeapp.NewRedisStore(rdb, "sessionlab:session:sid-")
	require.NoError(t, s.Save(ctx, "t1", []byte("v"), 90*time.Second))

	raw, err := rdb.Get(ctx, "sessionlab:session:sid-t1").Result()
	require.NoError(t, err, "the record must be a plain key under the prefix")
	assert.Equal(t, "v", raw)
	ttl, err := rdb.TTL(ctx, "sessionlab:session:sid-t1").Result()
	require.NoError(t, err)
	assert.InDelta(t, 90, ttl.Seconds(), 2, "Redis must hold the ttl the store was given")

	require.NoError(t, s.Save(ctx, "t2", []byte("v"), 300*time.Millisecond))
	pttl, err := rdb.PTTL(ctx, "sessionlab:session:sid-t2").Result()
	require.NoError(t, err)
	assert.Positive(t, pttl)
	assert.LessOrEqual(t, pttl, 300*time.Millisecond, "a sub-second ttl must be kept in milliseconds")
	require.Eventually(t, func() bool {
		_, ok, err := s.Load(ctx, "t2")
		return err == nil && !ok
	}, 5*time.Second, 50*time.Millisecond, "Redis must expire the record")
	assertLen(t, s, 1)
}

func TestRedisStoreCountsByPrefix(t *testing.T) {
	rdb := startRedis(t)
	ctx := context.Background()
	sessions := fakeapp.NewRedisStore(rdb, contract.RedisKeyPrefix+"session:sid-")
	states := fakeapp.NewRedisStore(rdb, contract.RedisKeyPrefix+"state:")
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, sessions.Save(ctx, id, []byte(id), time.Hour))
	}
	require.NoError(t, states.Save(ctx, "s", []byte("s"), time.Hour))
	require.NoError(t, rdb.Set(ctx, "unrelated", "x", 0).Err())
	require.NoError(t, rdb.Set(ctx, contract.RedisKeyPrefix+"session:other-x", "x", 0).Err())

	assertLen(t, sessions, 3)
	assertLen(t, states, 1)
	_, ok, err := states.Load(ctx, "a")
	require.NoError(t, err)
	assert.False(t, ok, "a store must not see records under another prefix")

	tests := []struct {
		pattern string
		want    int
	}{
		{contract.RedisKeyPrefix + "*", 5},
		{contract.RedisKeyPrefix + "session:*", 4},
		{contract.RedisKeyPrefix + "session:sid-*", 3},
		{"nothing:*", 0},
	}
	for _, tt := range tests {
		n, err := contract.CountKeys(ctx, rdb, tt.pattern)
		require.NoError(t, err)
		assert.Equal(t, tt.want, n, tt.pattern)
	}
}

func TestRedisStoreUnreachable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: freeAddr(t), MaxRetries: -1, DialerRetries: 1,
		DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	s := fakeapp.NewRedisStore(rdb, "p:")
	ctx := context.Background()

	err := s.Save(ctx, "a", []byte("v"), time.Minute)
	assert.ErrorContains(t, err, "redis set: ")
	_, ok, err := s.Load(ctx, "a")
	assert.ErrorContains(t, err, "redis get: ")
	assert.False(t, ok)
	assert.ErrorContains(t, s.Delete(ctx, "a"), "redis del: ")
	n, err := s.Len(ctx)
	assert.ErrorContains(t, err, "redis scan p:*: ")
	assert.Zero(t, n)
}
