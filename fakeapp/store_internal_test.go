package fakeapp

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoryStoreLenDropsExpired looks inside: counting must also free the expired records, or a long run that
// never loads them again would keep every one.
func TestMemoryStoreLenDropsExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemoryStore().(*memoryStore)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	for i, ttl := range []time.Duration{time.Second, time.Second, time.Minute} {
		require.NoError(t, m.Save(ctx, string(rune('a'+i)), nil, ttl))
	}

	now = now.Add(time.Second)
	n, err := m.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Len(t, m.records, 1, "Len must drop the expired records")
	assert.Contains(t, m.records, "c")

	now = now.Add(time.Minute)
	_, ok, err := m.Load(ctx, "c")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Empty(t, m.records, "Load must drop the expired record it finds")
}
