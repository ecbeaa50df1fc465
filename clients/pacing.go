package clients

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a scenario duration, written with a unit: 500ms, 2s, 1m30s.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML reads "2s"; the scenario loader has already refused anything ParseDuration cannot read.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes "2s", as a scenario file does.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// ParseDuration reads a non-negative duration with a unit.
func ParseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a duration (write a non-negative number with a unit: 500ms, 2s, 1m)", s)
	}
	return v, nil
}

// Range is a count written as a number (10) or an inclusive range ("5..15"); each user draws its own from a range.
type Range struct{ Min, Max int }

// Fixed is the range of exactly n.
func Fixed(n int) Range { return Range{n, n} }

func (r Range) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(r.Min)
	}
	return fmt.Sprintf("%d..%d", r.Min, r.Max)
}

// ParseRange reads "10" or "5..15".
func ParseRange(s string) (Range, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "..")
	if !isRange {
		hi = lo
	}
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	if errA != nil || errB != nil || a > b {
		return Range{}, fmt.Errorf("%q is not a count or a range (write 10, or 5..15 with the smaller first)", s)
	}
	return Range{a, b}, nil
}

// UnmarshalYAML reads 10 or "5..15".
func (r *Range) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseRange(n.Value)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalYAML writes 10 or "5..15", as a scenario file does.
func (r Range) MarshalYAML() (any, error) { return r.String(), nil }

// draw picks a value in the range.
func (r Range) draw(rng *rand.Rand) int {
	if r.Max <= r.Min {
		return r.Min
	}
	return r.Min + rng.IntN(r.Max-r.Min+1)
}

// Arrival kinds.
const (
	ArrivalAll     = "all"     // every user is ready at the start; concurrency alone paces them
	ArrivalFixed   = "fixed"   // one user every 1/rate seconds
	ArrivalPoisson = "poisson" // exponential gaps between users, rate per second on average
)

// Arrival is `clients.arrival`: when users start their journeys.
type Arrival struct {
	Kind string  `yaml:"kind"` // all (default) | fixed | poisson
	Rate float64 `yaml:"rate"` // users per second, for fixed and poisson
}

// Think kinds.
const (
	ThinkNone        = "none"        // no pause between pages (default)
	ThinkConstant    = "constant"    // always Mean
	ThinkUniform     = "uniform"     // uniformly between Min and Max
	ThinkExponential = "exponential" // exponential with mean Mean, as many independent readers give
)

// Think is `clients.think`: the pause a user takes before each protected page.
type Think struct {
	Kind string   `yaml:"kind"`
	Mean Duration `yaml:"mean"`
	Min  Duration `yaml:"min"`
	Max  Duration `yaml:"max"`
}

// pause draws one pause.
// heldShare is the share of pauses no longer than keep: those a user keeps its connection through.
func (t Think) heldShare(keep time.Duration) float64 {
	switch t.Kind {
	case ThinkConstant:
		if time.Duration(t.Mean) <= keep {
			return 1
		}
		return 0
	case ThinkUniform:
		lo, hi := float64(t.Min), float64(t.Max)
		if hi <= lo {
			return t.heldShareAt(lo, keep)
		}
		return min(1, max(0, (float64(keep)-lo)/(hi-lo)))
	case ThinkExponential:
		if t.Mean <= 0 {
			return 1
		}
		return 1 - math.Exp(-float64(keep)/float64(t.Mean))
	}
	return 1 // no pauses: the connection is always in use
}

func (t Think) heldShareAt(d float64, keep time.Duration) float64 {
	if d <= float64(keep) {
		return 1
	}
	return 0
}

func (t Think) pause(rng *rand.Rand) time.Duration {
	switch t.Kind {
	case ThinkConstant:
		return time.Duration(t.Mean)
	case ThinkUniform:
		lo, hi := int64(t.Min), int64(t.Max)
		if hi <= lo {
			return time.Duration(lo)
		}
		return time.Duration(lo + rng.Int64N(hi-lo+1))
	case ThinkExponential:
		return time.Duration(rng.ExpFloat64() * float64(t.Mean))
	}
	return 0
}

func (c Config) validatePacing() []error {
	var errs []error
	switch c.Arrival.Kind {
	case "", ArrivalAll:
		if c.Arrival.Rate != 0 {
			errs = append(errs, keyErr("clients.arrival.rate", "applies to arrival kinds fixed and poisson only"))
		}
	case ArrivalFixed, ArrivalPoisson:
		if !(c.Arrival.Rate > 0) || math.IsInf(c.Arrival.Rate, 0) || c.Arrival.Rate > 1e6 {
			errs = append(errs, keyErr("clients.arrival.rate", "%g is out of range (users per second, above 0 and at most 1000000)", c.Arrival.Rate))
		}
	default:
		errs = append(errs, keyErr("clients.arrival.kind", "%q is not allowed (allowed: all, fixed, poisson)", c.Arrival.Kind))
	}
	t := c.Think
	switch t.Kind {
	case "", ThinkNone:
		if t.Mean != 0 || t.Min != 0 || t.Max != 0 {
			errs = append(errs, keyErr("clients.think", "mean, min and max need a kind (constant, uniform, exponential)"))
		}
	case ThinkConstant, ThinkExponential:
		if t.Min != 0 || t.Max != 0 {
			errs = append(errs, keyErr("clients.think", "%s takes mean only (min and max are for uniform)", t.Kind))
		}
	case ThinkUniform:
		if t.Mean != 0 {
			errs = append(errs, keyErr("clients.think.mean", "uniform takes min and max"))
		}
		if t.Max < t.Min {
			errs = append(errs, keyErr("clients.think.max", "%s is less than min %s", t.Max, t.Min))
		}
	default:
		errs = append(errs, keyErr("clients.think.kind", "%q is not allowed (allowed: none, constant, uniform, exponential)", t.Kind))
	}
	if c.Logout < 0 || c.Logout > 1 {
		errs = append(errs, keyErr("clients.logout", "%g is out of range (allowed 0.0..1.0: the fraction of users who log out at the end)", c.Logout))
	}
	return errs
}

// arrivals are the users' start offsets from the run's start; nil when every user is ready at once.
func arrivals(rng *rand.Rand, a Arrival, n int) []time.Duration {
	if a.Kind == "" || a.Kind == ArrivalAll {
		return nil
	}
	out := make([]time.Duration, n)
	var t float64
	for i := range out {
		out[i] = time.Duration(t * float64(time.Second))
		if a.Kind == ArrivalPoisson {
			t += rng.ExpFloat64() / a.Rate
		} else {
			t += 1 / a.Rate
		}
	}
	return out
}
