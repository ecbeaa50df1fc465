package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a scenario duration, written with a unit: 500ms, 2s, 1m30s.
type Duration time.Duration

// String writes the duration as a scenario file does: 2s, 1m30s.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML reads "2s"; the scenario loader has already refused anything a duration cannot be.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes "2s", as a scenario file does.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// parseDuration reads a non-negative duration with a unit.
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a duration (write a non-negative number with a unit: 500ms, 2s, 1m)", s)
	}
	return v, nil
}

// Range is a count written as a number (10) or an inclusive range ("5..15"); each user draws its own from a range.
type Range struct{ Min, Max int }

// fixed is the range of exactly n.
func fixed(n int) Range { return Range{n, n} }

// String writes the range as a scenario file does: 10, or 5..15.
func (r Range) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(r.Min)
	}
	return fmt.Sprintf("%d..%d", r.Min, r.Max)
}

// parseRange reads "10" or "5..15".
func parseRange(s string) (Range, error) {
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
	v, err := parseRange(n.Value)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalYAML writes 10 or "5..15", as a scenario file does.
func (r Range) MarshalYAML() (any, error) { return r.String(), nil }
