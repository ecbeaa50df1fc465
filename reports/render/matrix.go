package render

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/fig"
)

// The comparison matrix puts a comparison's variants on a grid, a row per strategy and a column per balancer, in
// the order the reports come (make demo's: balancer.Kinds, then its strategies). Each cell is coloured by the
// variant's login failure rate, in three bands read off the rate as printed (three decimals), and carries the
// session loss rate and the skew (requests max/mean over the replicas). A pair the balancer refused is a grey
// cell whose reason is its title (HTML) or a footnote (Markdown).
const (
	// goodMax is the highest login failure rate of the good band: at most one login in a hundred fails.
	goodMax = 0.01
	// warnMax is the highest of the warn band; above it a variant is bad.
	warnMax = 0.1
	// skewHigh is the max/mean above which a cell marks its skew: a replica with half as much again as an even share.
	skewHigh = 1.5
)

// The classes of a matrix cell: a band of its login failure rate, or why it has none.
const (
	bandGood    = "good"
	bandWarn    = "warn"
	bandBad     = "bad"
	bandNA      = "na"      // run, but no login was attempted: the rate could not be computed
	bandRefused = "refused" // the balancer cannot run the strategy (a skipped report)
	bandAbsent  = "absent"  // the comparison has no report of the pair
)

// band is the band of a rate, read off its printed value so that the colour and the figure always agree (0.0104
// prints 0.010 and is good).
func band(v *float64) string {
	shown, err := strconv.ParseFloat(fig.Fmt(v), 64)
	if err != nil || math.IsNaN(shown) {
		return bandNA
	}
	switch {
	case shown <= goodMax:
		return bandGood
	case shown <= warnMax:
		return bandWarn
	default:
		return bandBad
	}
}

// matrixCell is one balancer and strategy of the matrix.
type matrixCell struct {
	Balancer, Strategy string
	Band               string // a band, bandRefused or bandAbsent
	Variant            int    // the report's place in the comparison: the HTML page's section id; -1 when absent
	Rate, Loss, Skew   string // the figures as printed; empty for a refused or absent pair
	LossBand           string // the session loss rate's band (the same edges)
	SkewHigh           bool   // max/mean above skewHigh
	Reason             string // why the balancer refused the pair
	Note               int    // the Markdown footnote of a refused pair, from 1
	Title              string // the cell's tooltip: every figure with its counts, or the reason
}

type matrixRow struct {
	Strategy string
	Cells    []matrixCell
}

// matrix is a comparison on a grid: Balancers are the columns, Rows a strategy each; Refused lists the refused cells
// in the order of their footnotes.
type matrix struct {
	Balancers []string
	Rows      []matrixRow
	Refused   []matrixCell
}

// column names the balancer of a report's column: its kind, the config and the instances of a tier when it had them,
// or the live target a target run drove.
func column(r *reports.Report) string {
	if r.Target != "" {
		return "target " + r.Target
	}
	name := r.Balancer.Kind
	if name == "" {
		name = "-"
	}
	if n := len(r.Balancer.Instances); n > 1 {
		name += fmt.Sprintf(" ×%d", n)
	}
	if r.Balancer.Config != "" {
		name += " (config " + r.Balancer.Config + ")"
	}
	return name
}

// buildMatrix lays rs out, columns and rows in the order their balancers and strategies first come. A second
// report of a pair already placed (two logs of one variant, rendered together) opens a column of its own, "nginx
// #2", so that no report is hidden.
func buildMatrix(rs []*reports.Report) matrix {
	var m matrix
	cols, rows := map[string]int{}, map[string]int{}
	type placed struct{ col, row int }
	at := map[placed]*reports.Report{}
	index := map[*reports.Report]int{}
	for i, r := range rs {
		if r == nil {
			continue
		}
		strategy := r.Balancer.Strategy
		if strategy == "" {
			strategy = "-"
		}
		row, ok := rows[strategy]
		if !ok {
			row = len(m.Rows)
			rows[strategy] = row
			m.Rows = append(m.Rows, matrixRow{Strategy: strategy})
		}
		base := column(r)
		name := base
		for n := 2; ; n++ {
			col, ok := cols[name]
			if !ok {
				cols[name] = len(m.Balancers)
				m.Balancers = append(m.Balancers, name)
				break
			}
			if at[placed{col, row}] == nil {
				break
			}
			name = base + " #" + strconv.Itoa(n)
		}
		at[placed{cols[name], row}] = r
		index[r] = i
	}
	for ri := range m.Rows {
		row := &m.Rows[ri]
		for ci, name := range m.Balancers {
			r := at[placed{ci, ri}]
			c := matrixCell{Balancer: name, Strategy: row.Strategy, Band: bandAbsent, Variant: -1,
				Title: name + " " + row.Strategy + ": not in this comparison"}
			if r != nil {
				c = cellOf(r, name, row.Strategy, index[r])
			}
			if c.Band == bandRefused {
				c.Note = len(m.Refused) + 1
				m.Refused = append(m.Refused, c)
			}
			row.Cells = append(row.Cells, c)
		}
	}
	return m
}

func cellOf(r *reports.Report, balancer, strategy string, variant int) matrixCell {
	c := matrixCell{Balancer: balancer, Strategy: strategy, Variant: variant}
	name := balancer + " " + strategy
	if r.Skipped != "" {
		c.Band, c.Reason = bandRefused, r.Skipped
		c.Title = name + " refused: " + r.Skipped
		return c
	}
	t := r.Totals
	c.Band = band(t.LoginFailRate)
	c.Rate, c.Loss, c.Skew = fig.Fmt(t.LoginFailRate), fig.Fmt(t.SessionLoss), fig.Fmt(r.Skew.MaxOverMean)
	c.LossBand = band(t.SessionLoss)
	c.SkewHigh = r.Skew.MaxOverMean != nil && *r.Skew.MaxOverMean > skewHigh
	c.Title = fmt.Sprintf("%s: login failure rate %s (%d of %d attempts), session loss rate %s (%d of %d protected pages), "+
		"requests max/mean %s over %d replicas", name, c.Rate, t.LoginFailures, t.LoginAttempts, c.Loss, t.SessionLosses,
		t.PageRequests, c.Skew, len(r.Replicas))
	return c
}

// matrixHTML is the matrix of the comparison page, and the comparison's part of the stylesheet ("compareStyle",
// which the pages' head includes); html.go parses it with the pages' templates.
// The band colours run from light green through amber to a darker red, so that they also part in grey; the figure
// is printed in every cell, so no reading rests on the colour alone.
const matrixHTML = `
{{define "compareStyle"}}
table.matrix{border-collapse:separate;border-spacing:3px;margin:.4em 0 .6em}
.matrix th{background:none;border:0;padding:4px 8px}
.matrix thead th{text-align:center;font-size:1.05em}
.matrix tbody th{text-align:right;vertical-align:middle;white-space:nowrap;font-weight:600}
.matrix td.cell{padding:0;border:0;min-width:11.5em;text-align:center;vertical-align:middle;border-radius:3px}
.matrix td.cell a{display:block;padding:5px 10px 6px;color:inherit;text-decoration:none}
.matrix td.cell a:hover,.matrix td.cell a:focus{outline:2px solid #333;outline-offset:-2px}
.matrix .rate{display:block;font-size:1.3em;font-weight:700;line-height:1.25}
.matrix .sub{display:block;font-size:.82em;color:#333;white-space:nowrap}
.matrix .hi{color:#8b1a1a;font-weight:700}
.band-good{background:#e1f3da;color:#14502a}
.band-warn{background:#fbe29a;color:#5c4100}
.band-bad{background:#f0a394;color:#5f0f0f}
.band-na{background:#fff;color:#555;box-shadow:inset 0 0 0 1px #bbb}
.band-refused{background:#e2e2e2;color:#6a6a6a}
.band-refused .rate{font-size:1em;font-weight:400;font-style:italic;padding:.6em 0}
.band-absent{background:#f7f7f7;color:#999}
.matrix-key{color:#444;margin:.2em 0 .4em}
.matrix-key .key{display:inline-block;padding:0 .5em;margin:0 .15em;border-radius:3px}
table.compare td:nth-child(-n+2){white-space:nowrap}
table.compare th.n{white-space:normal}
{{end}}
{{define "matrix"}}<h2 id="matrix">Login failure rate by strategy and balancer</h2>
<p class="matrix-key">A cell's colour is its login failure rate's
<span class="key band-good">≤ {{.Good}} good</span><span class="key band-warn">≤ {{.Warn}} warn</span><span class="key band-bad">&gt; {{.Warn}} bad</span><span class="key band-refused">refused by the balancer</span>;
under the rate, the session loss rate and the skew (requests max/mean over the replicas), in dark red above {{.Good}} and {{.SkewHigh}}.
Hover a cell for its counts or why it was refused; click it for its diagnosis.</p>
<table class="matrix">
<thead><tr><th scope="col">strategy</th>{{range .M.Balancers}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .M.Rows}}
<tr><th scope="row">{{.Strategy}}</th>
{{- range .Cells}}
<td class="cell band-{{.Band}}" data-balancer="{{.Balancer}}" data-strategy="{{.Strategy}}" data-band="{{.Band}}" title="{{.Title}}">
{{- if eq .Band "absent"}}<span class="rate">–</span><span class="sub">not run</span>
{{- else}}<a href="#variant-{{.Variant}}">
{{- if eq .Band "refused"}}<span class="rate">refused</span>
{{- else}}<span class="rate">{{.Rate}}</span><span class="sub">loss <span class="loss{{if or (eq .LossBand "warn") (eq .LossBand "bad")}} hi{{end}}">{{.Loss}}</span> · skew <span class="skew{{if .SkewHigh}} hi{{end}}">{{.Skew}}</span></span>
{{- end}}</a>
{{- end}}</td>
{{- end}}
</tr>
{{- end}}
</tbody>
</table>
{{end}}`

// limit prints a band's limit in the legend as short as it goes: 0.01, where a rate prints 0.010.
func limit(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// matrixView is what the "matrix" template reads.
type matrixView struct {
	M                    matrix
	Good, Warn, SkewHigh string
}

func newMatrixView(rs []*reports.Report) matrixView {
	return matrixView{M: buildMatrix(rs), Good: limit(goodMax), Warn: limit(warnMax), SkewHigh: limit(skewHigh)}
}

// mdMatrix writes the matrix as a Markdown table, a band's mark (🟢 🟡 🔴, ⚪ refused) before each rate, and the
// reasons of the refused pairs as footnotes under it. Nothing for no report.
func mdMatrix(w io.Writer, rs []*reports.Report) {
	m := buildMatrix(rs)
	if len(m.Rows) == 0 {
		return
	}
	fmt.Fprintf(w, "**Login failure rate** by strategy and balancer: 🟢 ≤ %s · 🟡 ≤ %s · 🔴 > %s · ⚪ refused by the balancer; "+
		"then the session loss rate and the skew (requests max/mean over the replicas), in bold above %s and %s.\n\n",
		limit(goodMax), limit(warnMax), limit(warnMax), limit(goodMax), limit(skewHigh))
	mdTable(w, append([]string{"strategy"}, m.Balancers...), "---", func(row func(cells ...string)) {
		for _, r := range m.Rows {
			cells := []string{r.Strategy}
			for _, c := range r.Cells {
				cells = append(cells, mdMatrixCell(c))
			}
			row(cells...)
		}
	})
	if len(m.Refused) > 0 {
		fmt.Fprintln(w)
		for _, c := range m.Refused {
			fmt.Fprintf(w, "[^%d]: %s %s: %s\n", c.Note, c.Balancer, c.Strategy, mdLine(c.Reason))
		}
	}
	fmt.Fprintln(w)
}

// mdMarks stand for the bands' colours, which Markdown has not.
var mdMarks = map[string]string{bandGood: "🟢", bandWarn: "🟡", bandBad: "🔴"}

func mdMatrixCell(c matrixCell) string {
	switch c.Band {
	case bandAbsent:
		return "– not run"
	case bandRefused:
		return fmt.Sprintf("⚪ refused[^%d]", c.Note)
	}
	loss, skew := c.Loss, c.Skew
	if c.LossBand == bandWarn || c.LossBand == bandBad {
		loss = "**" + loss + "**"
	}
	if c.SkewHigh {
		skew = "**" + skew + "**"
	}
	rate := c.Rate
	if c.Band != bandNA {
		rate = mdMarks[c.Band] + " **" + rate + "**"
	}
	return strings.Join([]string{rate, "loss " + loss, "skew " + skew}, " · ")
}
