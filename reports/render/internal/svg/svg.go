// Package svg draws the HTML report's pictures as inline SVG: the plot of the outcomes over time, the requests per
// replica, and a witness's sequence diagram. Every picture is made of numbers printed the same way each time and
// escaped names only, so that the page embeds it as it is and the same report always gives the same bytes.
package svg

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sessionlab/sessionlab/reports"
)

// Colours are attributes, not CSS classes, so that a plot copied out of the page keeps them. In the outcome stack
// lightness falls from ok to error, so the layers still separate when printed in grey.
const (
	colOK      = "#c7e9c0"
	colReauth  = "#6baed6"
	colRefused = "#fdae6b"
	colLoss    = "#e6550d"
	colLoop    = "#a50f15"
	colError   = "#252525"
	colHarness = "#969696" // the harness's own limit: apart from the system's outcomes
	colCut     = "#bdbdbd" // cut by an interruption
	colBar     = "#4e79a7"
)

// frame is a plot's canvas and the margins around its drawing area.
type frame struct {
	w, h                     float64
	left, right, top, bottom float64
}

func (f frame) plotW() float64 { return f.w - f.left - f.right }
func (f frame) plotH() float64 { return f.h - f.top - f.bottom }
func (f frame) base() float64  { return f.h - f.bottom }

// y maps v on an axis running from 0 to top onto the canvas.
func (f frame) y(v, top float64) float64 { return f.base() - v/top*f.plotH() }

// canvas collects one inline SVG.
type canvas struct{ b strings.Builder }

func (c *canvas) printf(format string, a ...any) { fmt.Fprintf(&c.b, format, a...) }

func (c *canvas) String() string { return c.b.String() }

// num prints a coordinate with one decimal: enough for a screen, and the same bytes every time.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if s == "-0.0" {
		return "0.0"
	}
	return s
}

func esc(s string) string { return html.EscapeString(s) }

// tickLabel prints a tick value without the float noise of repeated steps (0.6000000000000001).
func tickLabel(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}

// niceScale is the smallest round axis top (1, 2, 2.5 or 5 times a power of ten) at or above v, and its tick step.
func niceScale(v float64) (top, step float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1, 0.2
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, s := range []struct{ n, k float64 }{{1, 5}, {2, 4}, {2.5, 5}, {5, 5}, {10, 5}} {
		if v <= s.n*e*(1+1e-9) {
			return s.n * e, s.n * e / s.k
		}
	}
	return 10 * e, 2 * e
}

func ticks(top, step float64) []float64 {
	n := int(math.Round(top / step))
	out := make([]float64, n+1)
	for i := range out {
		out[i] = float64(i) * step
	}
	return out
}

// textWidth guesses how wide a label is at the plots' 11px font; layout only needs to avoid gross overlaps.
func textWidth(s string) float64 { return 6.2 * float64(len([]rune(s))) }

func (c *canvas) begin(id, title, desc string, f frame) {
	c.printf(`<svg class="plot" id="%s" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-labelledby="%s-title %s-desc">`+"\n",
		id, num(f.w), num(f.h), num(f.w), num(f.h), id, id)
	c.printf(`<title id="%s-title">%s</title>`+"\n", id, esc(title))
	c.printf(`<desc id="%s-desc">%s</desc>`+"\n", id, esc(desc))
	c.printf(`<text class="plot-title" x="8" y="18">%s</text>`+"\n", esc(title))
}

func (c *canvas) end() { c.printf("</svg>\n") }

func (c *canvas) text(x, y float64, anchor, class, s string) {
	c.printf(`<text class="%s" x="%s" y="%s" text-anchor="%s">%s</text>`+"\n", class, num(x), num(y), anchor, esc(s))
}

// rotText writes s turned by deg degrees about its anchor point.
func (c *canvas) rotText(x, y, deg float64, anchor, class, s string) {
	c.printf(`<text class="%s" x="%s" y="%s" text-anchor="%s" transform="rotate(%s %s %s)">%s</text>`+"\n",
		class, num(x), num(y), anchor, num(deg), num(x), num(y), esc(s))
}

func (c *canvas) note(f frame, s string) {
	c.text(f.left+f.plotW()/2, f.top+f.plotH()/2, "middle", "note", s)
}

// legendItem is one entry of a plot's legend: a filled swatch, or a dashed line for a reference line.
type legendItem struct {
	label, fill, stroke string
	dashed              bool
}

const (
	legendTop = 30.0
	legendRow = 18.0
)

// legendRows lays items out left to right, wrapping within width; it returns each item's position and the rows
// used, so that the caller can size the top margin before drawing.
func legendRows(items []legendItem, x0, width float64) (pos [][2]float64, rows int) {
	x, row := x0, 0
	for _, it := range items {
		w := 16 + textWidth(it.label) + 18
		if x > x0 && x+w > x0+width {
			x, row = x0, row+1
		}
		pos = append(pos, [2]float64{x, legendTop + 12 + float64(row)*legendRow})
		x += w
	}
	return pos, row + 1
}

func (c *canvas) legend(items []legendItem, pos [][2]float64) {
	c.printf(`<g class="legend">` + "\n")
	for i, it := range items {
		x, y := pos[i][0], pos[i][1]
		if it.dashed {
			c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="4 3"/>`+"\n",
				num(x), num(y-4), num(x+12), num(y-4), it.stroke)
		} else {
			stroke := it.stroke
			if stroke == "" {
				stroke = "none"
			}
			c.printf(`<rect x="%s" y="%s" width="12" height="12" fill="%s" stroke="%s"/>`+"\n", num(x), num(y-10), it.fill, stroke)
		}
		c.text(x+16, y, "start", "legend-label", it.label)
	}
	c.printf("</g>\n")
}

// grid draws the horizontal guide lines of the left axis, under everything else.
func (c *canvas) grid(f frame, top float64, ts []float64) {
	c.printf(`<g class="grid" stroke="#e6e6e6">` + "\n")
	for _, t := range ts[1:] {
		y := f.y(t, top)
		c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(f.left), num(y), num(f.w-f.right), num(y))
	}
	c.printf("</g>\n")
}

// yAxis draws a vertical axis with its ticks and title, on the left edge of the drawing area or, when right, on
// its right edge.
func (c *canvas) yAxis(f frame, top float64, ts []float64, title string, right bool) {
	x, dir, anchor, side := f.left, -1.0, "end", "left"
	if right {
		x, dir, anchor, side = f.w-f.right, 1, "start", "right"
	}
	c.printf(`<g class="axis y %s">`+"\n", side)
	c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`+"\n", num(x), num(f.top), num(x), num(f.base()))
	for _, t := range ts {
		y := f.y(t, top)
		c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`+"\n", num(x), num(y), num(x+dir*4), num(y))
		c.text(x+dir*6, y+4, anchor, "tick", tickLabel(t))
	}
	mid := f.top + f.plotH()/2
	if right {
		c.rotText(f.w-f.right+44, mid, 90, "middle", "axis-title", title)
	} else {
		c.rotText(14, mid, -90, "middle", "axis-title", title)
	}
	c.printf("</g>\n")
}

// xBase draws the baseline and the x axis title under the tick labels.
func (c *canvas) xBase(f frame, title string) {
	c.printf(`<g class="axis x">`+"\n"+`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`+"\n",
		num(f.left), num(f.base()), num(f.w-f.right), num(f.base()))
	c.text(f.left+f.plotW()/2, f.h-8, "middle", "axis-title", title)
	c.printf("</g>\n")
}

// valueLabel writes a bar's value above its top, turned upright when the bar is too narrow for the text.
func (c *canvas) valueLabel(cx, y, barW float64, s string) {
	if barW < textWidth(s)*0.85 {
		c.rotText(cx+3, y-4, -90, "start", "value", s)
		return
	}
	c.text(cx, y-4, "middle", "value", s)
}

// Replicas is a bar per replica of the requests it served, with a dashed line at the mean: the even share.
func Replicas(reps []reports.Replica) string {
	n := len(reps)
	f := frame{w: min(max(200+float64(n)*56, 520), 1040), h: 320, left: 64, right: 20, bottom: 48}
	slot := (f.w - f.left - f.right) / float64(max(n, 1))
	barW := slot * 0.62
	total, most, longest := 0, 0, 0.0
	for _, r := range reps {
		total += r.Requests
		most = max(most, r.Requests)
		longest = max(longest, textWidth(r.Name))
	}
	// Names that do not fit under their bar slant, or stand upright when even slanted they would touch.
	angle := 0.0
	if longest > slot*0.95 {
		angle = -45
		if slot < 18 {
			angle = -90
		}
		f.bottom = 34 + longest*math.Sin(-angle*math.Pi/180) + 14
		f.h = 272 + f.bottom
	}
	items := []legendItem{{label: "requests served by the replica", fill: colBar}}
	if n > 0 {
		items = append(items, legendItem{label: "mean (an even share)", stroke: "#555", dashed: true})
	}
	pos, rows := legendRows(items, f.left, f.plotW())
	f.top = legendTop + float64(rows)*legendRow + 14
	if barW < textWidth(strconv.Itoa(most))*0.85 {
		f.top += 36 // upright value labels above the tallest bar
	}
	f.h += f.top

	var c canvas
	c.begin("replicas", "Requests per replica",
		"One bar per replica: the requests it answered. The dashed line is the mean; bars far from it mean skewed load.", f)
	c.legend(items, pos)
	top, step := niceScale(float64(max(most, 5)))
	ts := ticks(top, step)
	c.grid(f, top, ts)
	if n == 0 {
		c.note(f, "no replicas")
	}
	for i, r := range reps {
		cx := f.left + slot*(float64(i)+0.5)
		y := f.y(float64(r.Requests), top)
		c.printf(`<rect class="bar" data-replica="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %d requests</title></rect>`+"\n",
			esc(r.Name), num(cx-barW/2), num(y), num(barW), num(f.base()-y), colBar, esc(r.Name), r.Requests)
		c.valueLabel(cx, y, barW, strconv.Itoa(r.Requests))
		if angle != 0 {
			c.rotText(cx+4, f.base()+10, angle, "end", "tick", r.Name)
		} else {
			c.text(cx, f.base()+16, "middle", "tick", r.Name)
		}
	}
	if n > 0 {
		y := f.y(float64(total)/float64(n), top)
		c.printf(`<line class="mean" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#555" stroke-width="1.5" stroke-dasharray="4 3"/>`+"\n",
			num(f.left), num(y), num(f.w-f.right), num(y))
	}
	c.yAxis(f, top, ts, "requests", false)
	c.xBase(f, "replica")
	c.end()
	return c.String()
}

// outcomeLayer is one layer of the outcome plot.
type outcomeLayer struct {
	label, fill string
	count       func(reports.Bucket) int
}

// The layers drawn, and named in the legend, only in a run that has them: the exchanges the harness's own limits
// broke, and those an interruption cut short.
var (
	harnessLayer     = outcomeLayer{"harness's own limit", colHarness, func(b reports.Bucket) int { return b.HarnessLimit }}
	interruptedLayer = outcomeLayer{"cut by the interruption", colCut, func(b reports.Bucket) int { return b.Interrupted }}
)

// layersOf are the layers of the outcome plot of ot: outcomeSeries, then harnessLayer and interruptedLayer when a
// bucket counts any.
func layersOf(ot reports.OverTime) []outcomeLayer {
	layers := outcomeSeries
	for _, extra := range []outcomeLayer{harnessLayer, interruptedLayer} {
		if slices.ContainsFunc(ot.Buckets, func(b reports.Bucket) bool { return extra.count(b) > 0 }) {
			layers = append(slices.Clone(layers), extra)
		}
	}
	return layers
}

// outcomeSeries are the layers of the outcome plot, bottom first.
var outcomeSeries = []outcomeLayer{
	{"ok", colOK, func(b reports.Bucket) int { return b.OK }},
	{"silent re-auth (ok)", colReauth, func(b reports.Bucket) int { return b.Reauth }},
	{"refused (csrf, rejected, rate limited)", colRefused, func(b reports.Bucket) int { return b.CSRF + b.Rejected + b.RateLimited }},
	{"session loss", colLoss, func(b reports.Bucket) int { return b.Loss }},
	{"login loop", colLoop, func(b reports.Bucket) int { return b.Loop }},
	{"error", colError, func(b reports.Bucket) int { return b.Error }},
}

// OverTime stacks the exchanges per second of each outcome over the run and shades every fault's window, so a
// jump in losses can be read against the fault that caused it.
func OverTime(ot reports.OverTime, faults []reports.FaultResult) string {
	f := frame{w: 1040, h: 340, left: 64, right: 20, bottom: 48}
	layers := layersOf(ot)
	items := make([]legendItem, 0, len(layers)+1)
	for _, s := range layers {
		items = append(items, legendItem{label: s.label, fill: s.fill})
	}
	items = append(items, legendItem{label: "fault window", fill: "#ebebeb", stroke: "#555"})
	pos, rows := legendRows(items, f.left, f.plotW())
	f.top = legendTop + float64(rows)*legendRow + 14
	f.h += f.top

	// A hand-made report may lack the width; a second keeps the rates finite.
	width := ot.BucketMs
	if width <= 0 {
		width = 1000
	}
	var endMs int64
	peak := 0.0
	for _, b := range ot.Buckets {
		endMs = max(endMs, b.FromMs+width)
		peak = max(peak, float64(b.Total())*1000/float64(width))
	}
	for _, fr := range faults {
		if fr.StartMs != nil {
			endMs = max(endMs, *fr.StartMs)
		}
		if fr.EndMs != nil {
			endMs = max(endMs, *fr.EndMs)
		}
	}
	xTop, xStep := niceScale(float64(endMs) / 1000)
	yTop, yStep := niceScale(peak)
	x := func(ms int64) float64 { return f.left + float64(ms)/1000/xTop*f.plotW() }

	var c canvas
	c.begin("over-time", "Outcomes over time",
		"Exchanges per second by outcome, stacked, over the run; shaded bands are the faults' windows.", f)
	c.legend(items, pos)
	yts := ticks(yTop, yStep)
	c.grid(f, yTop, yts)
	if len(ot.Buckets) == 0 {
		c.note(f, "no exchanges")
	}
	c.stack(f, layers, ot.Buckets, width, yTop, x)
	c.faults(f, faults, x)
	c.yAxis(f, yTop, yts, "exchanges per second", false)
	for _, t := range ticks(xTop, xStep) {
		xt := x(int64(math.Round(t * 1000)))
		c.printf(`<line class="xtick" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`+"\n", num(xt), num(f.base()), num(xt), num(f.base()+4))
		c.text(xt, f.base()+16, "middle", "tick", tickLabel(t))
	}
	c.xBase(f, "time since start (s)")
	c.end()
	return c.String()
}

// stack draws each outcome as a step-shaped band on top of the ones below it; a series with no exchange draws
// nothing, though it stays in the legend so that every plot has the same key.
func (c *canvas) stack(f frame, layers []outcomeLayer, buckets []reports.Bucket, width int64, yTop float64, x func(int64) float64) {
	lower := make([]float64, len(buckets))
	for _, s := range layers {
		var pts []string
		upper := make([]float64, len(buckets))
		seen := false
		for i, b := range buckets {
			n := s.count(b)
			seen = seen || n > 0
			upper[i] = lower[i] + float64(n)*1000/float64(width)
			y := num(f.y(upper[i], yTop))
			pts = append(pts, num(x(b.FromMs))+","+y, num(x(b.FromMs+width))+","+y)
		}
		for i := len(buckets) - 1; i >= 0; i-- {
			b, y := buckets[i], num(f.y(lower[i], yTop))
			pts = append(pts, num(x(b.FromMs+width))+","+y, num(x(b.FromMs))+","+y)
		}
		if seen {
			c.printf(`<polygon class="area" data-series="%s" points="%s" fill="%s" stroke="#fff" stroke-width="0.5"/>`+"\n",
				esc(s.label), strings.Join(pts, " "), s.fill)
		}
		lower = upper
	}
}

// faults shades each started fault from its start to its end, or to the plot's right edge while it never ended.
// A label that would run into an earlier one drops to the next of three rows.
func (c *canvas) faults(f frame, faults []reports.FaultResult, x func(int64) float64) {
	var rowEnds [3]float64
	for _, fr := range faults {
		if fr.StartMs == nil {
			continue
		}
		x0, x1 := x(*fr.StartMs), f.w-f.right
		span := fmt.Sprintf("%d ms – end of run", *fr.StartMs)
		if fr.EndMs != nil {
			x1 = x(*fr.EndMs)
			span = fmt.Sprintf("%d–%d ms", *fr.StartMs, *fr.EndMs)
		}
		x1 = max(x1, x0+2) // an instant fault still shows
		label := fmt.Sprintf("fault %d: %s", fr.Index+1, fr.Label())
		c.printf(`<rect class="fault" data-fault="%d" x="%s" y="%s" width="%s" height="%s" fill="#000" fill-opacity="0.08" stroke="#555" stroke-dasharray="3 2"><title>%s (%s)</title></rect>`+"\n",
			fr.Index+1, num(x0), num(f.top), num(x1-x0), num(f.plotH()), esc(label), esc(span))
		lx, anchor := x0+3, "start"
		if lx+textWidth(label) > f.w-f.right {
			lx, anchor = f.w-f.right-3-textWidth(label), "end"
		}
		row := 0
		for row < len(rowEnds)-1 && rowEnds[row] > lx {
			row++
		}
		rowEnds[row] = lx + textWidth(label) + 6
		if anchor == "end" {
			lx += textWidth(label)
		}
		c.text(lx, f.top+12+float64(row)*13, anchor, "fault-label", label)
	}
}
