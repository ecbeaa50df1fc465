// Package bound reads the conditions a scenario's expectations hold a figure to ("< 0.01", "between 1.8 2.2") and
// applies them.
package bound

import (
	"fmt"
	"strconv"
	"strings"
)

// Bound is a parsed condition such as "< 0.01", ">= 0.5", "== 0" or "between 1.8 2.2".
type Bound struct {
	op     string
	lo, hi float64
}

// Parse reads a condition: "< X", "<= X", "> X", ">= X", "== X", "!= X" or "between X Y"; the error says what is
// allowed.
func Parse(s string) (Bound, error) {
	bad := fmt.Errorf("%q is not a bound (allowed: \"< X\", \"<= X\", \"> X\", \">= X\", \"== X\", \"!= X\", \"between X Y\")", s)
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "between"); ok {
		f := strings.Fields(rest)
		if len(f) != 2 {
			return Bound{}, bad
		}
		lo, err1 := strconv.ParseFloat(f[0], 64)
		hi, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil || lo > hi {
			return Bound{}, bad
		}
		return Bound{op: "between", lo: lo, hi: hi}, nil
	}
	for _, op := range []string{"<=", ">=", "==", "!=", "<", ">"} { // two-character operators first
		if rest, ok := strings.CutPrefix(s, op); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return Bound{}, bad
			}
			return Bound{op: op, lo: v}, nil
		}
	}
	return Bound{}, bad
}

// Holds reports whether v meets the bound.
func (b Bound) Holds(v float64) bool {
	switch b.op {
	case "<":
		return v < b.lo
	case "<=":
		return v <= b.lo
	case ">":
		return v > b.lo
	case ">=":
		return v >= b.lo
	case "==":
		return v == b.lo
	case "!=":
		return v != b.lo
	case "between":
		return v >= b.lo && v <= b.hi
	}
	return false
}
