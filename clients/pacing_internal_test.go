package clients

import (
	"math"
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

// The connections users hold at once follow how many of their pauses last no longer than keep_alive.
func TestConnectionsAtOnce(t *testing.T) {
	cfg := func(think Think, keep time.Duration) Config {
		c := DefaultConfig()
		c.Users, c.Concurrency, c.Think, c.KeepAlive = 50000, 50000, think, Duration(keep)
		return c
	}
	inFlight := 50000/10 + 256
	cases := []struct {
		name string
		cfg  Config
		want int
	}{
		{"no pauses: every user holds one", cfg(Think{Kind: ThinkNone}, 30*time.Second), 50000},
		{"pauses shorter than keep_alive", cfg(Think{Kind: ThinkConstant, Mean: Duration(time.Second)}, 30*time.Second), 50000},
		{"pauses longer than keep_alive", cfg(Think{Kind: ThinkConstant, Mean: Duration(10 * time.Second)}, 5*time.Second), inFlight},
		{"uniform, half of them longer", cfg(Think{Kind: ThinkUniform, Min: 0, Max: Duration(10 * time.Second)}, 5*time.Second), 25000 + inFlight},
		{"exponential", cfg(Think{Kind: ThinkExponential, Mean: Duration(10 * time.Second)}, 5*time.Second), int(math.Ceil(50000*(1-math.Exp(-0.5)))) + inFlight},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, c.cfg.ConnectionsAtOnce())
		})
	}
	small := DefaultConfig()
	small.Users, small.Concurrency = 10, 10
	assert.Equal(t, 10, small.ConnectionsAtOnce(), "never more than the users at once")
}
