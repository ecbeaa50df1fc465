package scenario_test

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTrigger(t *testing.T) {
	tests := []struct {
		in   string
		want vocab.Trigger
	}{
		{"2s", vocab.Trigger{After: 2 * time.Second}},
		{"1500ms", vocab.Trigger{After: 1500 * time.Millisecond}},
		{"0s", vocab.Trigger{}},
		{"1500 requests", vocab.Trigger{Requests: 1500}},
		{"1 request", vocab.Trigger{Requests: 1}},
		{"20requests", vocab.Trigger{Requests: 20}},
	}
	for _, tt := range tests {
		got, err := vocab.ParseTrigger(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "soon", "-2s", "0 requests", "2", "1.5 requests"} {
		_, err := vocab.ParseTrigger(bad)
		assert.Error(t, err, "%q", bad)
	}
}
