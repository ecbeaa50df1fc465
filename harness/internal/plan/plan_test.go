package plan_test

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTrigger(t *testing.T) {
	tests := []struct {
		in   string
		want plan.Trigger
	}{
		{"2s", plan.Trigger{After: 2 * time.Second}},
		{"1500ms", plan.Trigger{After: 1500 * time.Millisecond}},
		{"0s", plan.Trigger{}},
		{"1500 requests", plan.Trigger{Requests: 1500}},
		{"1 request", plan.Trigger{Requests: 1}},
		{"20requests", plan.Trigger{Requests: 20}},
	}
	for _, tt := range tests {
		got, err := plan.ParseTrigger(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "soon", "-2s", "0 requests", "2", "1.5 requests"} {
		_, err := plan.ParseTrigger(bad)
		assert.Error(t, err, "%q", bad)
	}
}
