package reports

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/sessionlab/sessionlab/reports/internal/bound"
)

// Expectation is one bound from a scenario's `expect:` and whether the run met it. Got is null when the figure
// could not be computed; such an expectation is not met.
type Expectation struct {
	Key  string   `json:"key"`
	Want string   `json:"want"`
	Got  *float64 `json:"got"`
	OK   bool     `json:"ok"`
}

// ParseBound checks that s is a condition an expectation can hold a figure to ("< X", "<= X", "> X", ">= X",
// "== X", "!= X", "between X Y"); the error says what is allowed. Check applies the bounds themselves.
func ParseBound(s string) error {
	_, err := bound.Parse(s)
	return err
}

// Lookup finds a figure by key: a totals field by its name ("login_failure_rate") or any figure by its dotted JSON
// path ("skew.max_over_mean", "failure_causes.loop", "replicas.0.share"). found is false for a key the report does
// not have; a figure that exists but is null is found with a nil value.
func (r *Report) Lookup(key string) (v *float64, found bool) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, false
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, false
	}
	if v, found := walk(doc, strings.Split(key, ".")); found {
		return v, true
	}
	return walk(doc, append([]string{"totals"}, strings.Split(key, ".")...))
}

func walk(node any, path []string) (*float64, bool) {
	for _, p := range path {
		switch n := node.(type) {
		case map[string]any:
			next, ok := n[p]
			if !ok {
				return nil, false
			}
			node = next
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(n) {
				return nil, false
			}
			node = n[i]
		default:
			return nil, false
		}
	}
	switch n := node.(type) {
	case float64:
		return &n, true
	case nil:
		return nil, true
	}
	return nil, false // an object, a list or a string is not a figure
}

// Check evaluates every expectation against r, records them in r.Expectations (sorted by key) and reports whether
// all were met. A key the report lacks or a bound that does not parse is an unmet expectation, and so is every
// expectation of an interrupted run (r.Interrupted: set it first): its figures are of part of the run, not judged.
func (r *Report) Check(expect map[string]string) bool {
	r.Expectations = r.Expectations[:0]
	all := true
	for _, key := range sortedKeys(expect) {
		e := Expectation{Key: key, Want: expect[key]}
		b, err := bound.Parse(e.Want)
		v, found := r.Lookup(key)
		if err == nil && found && v != nil {
			e.Got = v
			e.OK = b.Holds(*v) && !r.Interrupted
		}
		all = all && e.OK
		r.Expectations = append(r.Expectations, e)
	}
	return all
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
