package scenario_test

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTrigger(t *testing.T) {
	tests := []struct {
		in   string
		want scenario.Trigger
	}{
		{"2s", scenario.Trigger{After: 2 * time.Second}},
		{"1500ms", scenario.Trigger{After: 1500 * time.Millisecond}},
		{"0s", scenario.Trigger{}},
		{"1500 requests", scenario.Trigger{Requests: 1500}},
		{"1 request", scenario.Trigger{Requests: 1}},
		{"20requests", scenario.Trigger{Requests: 20}},
	}
	for _, tt := range tests {
		got, err := scenario.ParseTrigger(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "soon", "-2s", "0 requests", "2", "1.5 requests"} {
		_, err := scenario.ParseTrigger(bad)
		assert.Error(t, err, "%q", bad)
	}
}
