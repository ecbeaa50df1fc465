package svg

import (
	"slices"
	"strconv"
)

// Sequence is a sequence diagram as its caller words it: a lane for the browser, one for the balancer, the lanes
// past it, and a row per exchange. Draw only lays it out: what the diagram says is the caller's to word.
type Sequence struct {
	ID, Title, Desc string
	Lanes           []string // past the balancer, left to right: the replicas, then other hosts
	Rows            []Row
	// Gap, when not "", is a note in a stretch of its own before Rows[GapAt]: the exchanges left out.
	Gap   string
	GapAt int
}

// Row is one exchange: an arrow from the browser to the lane that answered and one back.
type Row struct {
	TMs             int64
	Outcome         string // under the time, on the left
	To              string // the lane that answered; "" for the balancer, when nobody past it did
	ThroughBalancer bool   // To is a replica, reached through the balancer: a dot on its lane
	Instance        string // the balancer instance, written on the balancer's lane
	Request, Answer string // over the two arrows
	Note            string // beside the answering lane
	Failed          bool   // drawn red on a red band, in a group of class "failed"
}

// Colours of the sequence diagram.
const (
	colRequest  = "#4e79a7"
	colAnswer   = "#555555"
	colFailed   = "#c62828"
	colFailedBg = "#fdecea"
	colLane     = "#c8c8c8"
)

// Draw writes the diagram as one inline SVG.
func (s Sequence) Draw() string {
	const (
		browserX = 120.0
		lbX      = 330.0
		firstX   = 520.0
		laneGap  = 170.0
		top      = 64.0 // where the first exchange's row begins
		rowH     = 50.0
		gapH     = 26.0
	)
	laneX := func(name string) float64 { return firstX + float64(slices.Index(s.Lanes, name))*laneGap }
	width := max(firstX+float64(max(len(s.Lanes)-1, 0))*laneGap+150, 760)
	height := top + float64(len(s.Rows))*rowH + 16
	if s.Gap != "" {
		height += gapH
	}

	var c canvas
	f := frame{w: width, h: height}
	c.begin(s.ID, s.Title, s.Desc, f)
	type lane struct {
		name string
		x    float64
	}
	all := []lane{{"browser", browserX}, {"balancer", lbX}}
	for _, name := range s.Lanes {
		all = append(all, lane{name, laneX(name)})
	}
	c.printf(`<g class="lanes">` + "\n")
	for _, l := range all {
		bw := textWidth(l.name) + 16
		c.printf(`<rect x="%s" y="30" width="%s" height="20" rx="3" fill="#f5f5f5" stroke="%s"/>`+"\n", num(l.x-bw/2), num(bw), colLane)
		c.text(l.x, 44, "middle", "lane", l.name)
		c.printf(`<line x1="%s" y1="50" x2="%s" y2="%s" stroke="%s" stroke-dasharray="3 3"/>`+"\n", num(l.x), num(l.x), num(height-8), colLane)
	}
	c.printf("</g>\n")

	y := top
	for i, row := range s.Rows {
		if s.Gap != "" && i == s.GapAt {
			c.text(browserX+10, y+gapH/2+4, "start", "note", s.Gap)
			y += gapH
		}
		class, req, ans := "exchange", colRequest, colAnswer
		if row.Failed {
			class, req, ans = "exchange failed", colFailed, colFailed
		}
		c.printf(`<g class="%s">`+"\n", class)
		if row.Failed {
			c.printf(`<rect x="0" y="%s" width="%s" height="%s" fill="%s"/>`+"\n", num(y), num(width), num(rowH), colFailedBg)
		}
		to := lbX
		if row.To != "" {
			to = laneX(row.To)
		}
		reqY, ansY := y+20, y+42
		c.text(8, reqY, "start", "time", strconv.FormatInt(row.TMs, 10)+" ms")
		c.text(8, ansY, "start", "outcome", row.Outcome)
		c.arrow(browserX, to, reqY, req, false)
		c.arrow(to, browserX, ansY, ans, true)
		if row.ThroughBalancer {
			c.printf(`<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", num(lbX), num(reqY), req)
		}
		if row.Instance != "" {
			c.text(lbX+6, reqY+12, "start", "instance", row.Instance)
		}
		c.text(browserX+8, reqY-5, "start", "request", row.Request)
		c.text(browserX+8, ansY-5, "start", "answer", row.Answer)
		if row.Note != "" {
			c.text(to+8, ansY-5, "start", "note", row.Note)
		}
		c.printf("</g>\n")
		y += rowH
	}
	c.end()
	return c.String()
}

// arrow draws a horizontal arrow from x1 to x2 at y, its head a small triangle (no marker: a marker would be
// referenced by url(…), which the page keeps out); dashed for an answer.
func (c *canvas) arrow(x1, x2, y float64, colour string, dashed bool) {
	dash := ""
	if dashed {
		dash = ` stroke-dasharray="5 3"`
	}
	dir := 1.0
	if x2 < x1 {
		dir = -1
	}
	c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5"%s/>`+"\n",
		num(x1), num(y), num(x2-dir*6), num(y), colour, dash)
	c.printf(`<polygon points="%s,%s %s,%s %s,%s" fill="%s"/>`+"\n",
		num(x2), num(y), num(x2-dir*7), num(y-4), num(x2-dir*7), num(y+4), colour)
}
