package clients

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestThinkPauses(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ms := func(n int) Duration { return Duration(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name     string
		think    Think
		mean     time.Duration
		min, max time.Duration
	}{
		{"none", Think{}, 0, 0, 0},
		{"constant", Think{Kind: ThinkConstant, Mean: ms(40)}, 40 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond},
		{"uniform", Think{Kind: ThinkUniform, Min: ms(10), Max: ms(30)}, 20 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond},
		{"exponential", Think{Kind: ThinkExponential, Mean: ms(50)}, 50 * time.Millisecond, 0, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 20000
			var sum time.Duration
			for range n {
				p := tt.think.pause(rng)
				assert.True(t, p >= tt.min && p <= tt.max, "%s outside %s..%s", p, tt.min, tt.max)
				sum += p
			}
			assert.InDelta(t, tt.mean.Seconds(), (sum / n).Seconds(), 0.03*tt.mean.Seconds()+1e-9)
		})
	}
}
