// Package fig writes a report's figures as text, one way for the diagnosis and every renderer of package reports
// and reports/render.
package fig

import "strconv"

// Fmt writes a figure as the text renderers and the diagnosis do: three decimals, or "n/a" when it could not be
// computed.
func Fmt(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}
