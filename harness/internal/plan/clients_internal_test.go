package plan

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/harness/scenario"
)

func TestThinkPauses(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ms := func(n int) scenario.Duration { return scenario.Duration(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name     string
		think    scenario.Think
		mean     time.Duration
		min, max time.Duration
	}{
		{"none", scenario.Think{}, 0, 0, 0},
		{"constant", scenario.Think{Kind: vocab.ThinkConstant, Mean: ms(40)}, 40 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond},
		{"uniform", scenario.Think{Kind: vocab.ThinkUniform, Min: ms(10), Max: ms(30)}, 20 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond},
		{"exponential", scenario.Think{Kind: vocab.ThinkExponential, Mean: ms(50)}, 50 * time.Millisecond, 0, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			draw := pause(tt.think)
			if tt.think.Kind == "" {
				require.Nil(t, draw, "no pauses")
				return
			}
			const n = 20000
			var sum time.Duration
			for range n {
				p := draw(rng)
				assert.True(t, p >= tt.min && p <= tt.max, "%s outside %s..%s", p, tt.min, tt.max)
				sum += p
			}
			assert.InDelta(t, tt.mean.Seconds(), (sum / n).Seconds(), 0.03*tt.mean.Seconds()+1e-9)
		})
	}
	assert.Nil(t, pause(scenario.Think{Kind: vocab.ThinkNone}))
}

// The connections users hold at once are sized for the worst instant: users who all arrive at the start are all
// there at once whatever their pauses (the flash crowd); users arriving at a rate hold one through the pauses no
// longer than keep_alive, plus those in flight and a second's arrivals.
func TestConnectionsAtOnce(t *testing.T) {
	cfg := func(think scenario.Think, keep time.Duration, arrival scenario.Arrival) scenario.Clients {
		c := scenario.Default().Clients
		c.Users, c.Concurrency, c.Think, c.KeepAlive, c.Arrival = 50000, 50000, think, scenario.Duration(keep), arrival
		return c
	}
	sec := func(n int) scenario.Duration { return scenario.Duration(time.Duration(n) * time.Second) }
	atOnce := scenario.Arrival{Kind: vocab.ArrivalAll}
	fixed := scenario.Arrival{Kind: vocab.ArrivalFixed, Rate: 1000}
	poisson := scenario.Arrival{Kind: vocab.ArrivalPoisson, Rate: 400}
	inFlight := 50000/10 + 256
	long := scenario.Think{Kind: vocab.ThinkConstant, Mean: sec(10)}
	cases := []struct {
		name string
		cfg  scenario.Clients
		want int
	}{
		{"all at once, pauses longer than keep_alive: the flash crowd", cfg(long, 5*time.Second, atOnce), 50000},
		{"no pauses: every user holds one", cfg(scenario.Think{Kind: vocab.ThinkNone}, 30*time.Second, fixed), 50000},
		{"pauses shorter than keep_alive", cfg(scenario.Think{Kind: vocab.ThinkConstant, Mean: sec(1)}, 30*time.Second, fixed), 50000},
		{"pauses longer than keep_alive", cfg(long, 5*time.Second, fixed), inFlight + 1000},
		{"uniform, half of them longer", cfg(scenario.Think{Kind: vocab.ThinkUniform, Min: 0, Max: sec(10)}, 5*time.Second, fixed), 25000 + 1000 + inFlight},
		{"exponential", cfg(scenario.Think{Kind: vocab.ThinkExponential, Mean: sec(10)}, 5*time.Second, fixed), int(math.Ceil(50000*(1-math.Exp(-0.5))+1000)) + inFlight},
		{"poisson: three deviations above a second's mean", cfg(long, 5*time.Second, poisson), 400 + 60 + inFlight},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, connectionsAtOnce(c.cfg))
		})
	}
	small := scenario.Default().Clients
	small.Users, small.Concurrency = 10, 10
	assert.Equal(t, 10, connectionsAtOnce(small), "never more than the users at once")
	ws := cfg(long, 5*time.Second, atOnce)
	ws.WebSocket.Connections = 2
	assert.Equal(t, 100000, connectionsAtOnce(ws), "a WebSocket beside each user's page connection")
}
