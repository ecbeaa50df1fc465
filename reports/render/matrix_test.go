package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/reporttest"
	"github.com/sessionlab/sessionlab/reports/render"
)

// jsonReport is what the matrix tests read back from the report JSON: the figures a cell shows.
type jsonReport struct {
	Skipped  string `json:"skipped"`
	Balancer struct {
		Kind     string `json:"kind"`
		Strategy string `json:"strategy"`
	} `json:"balancer"`
	Totals struct {
		LoginFailRate *float64 `json:"login_failure_rate"`
		SessionLoss   *float64 `json:"session_loss_rate"`
	} `json:"totals"`
	Skew struct {
		MaxOverMean *float64 `json:"max_over_mean"`
	} `json:"skew"`
}

// jsonReports renders rs as the comparison's JSON and reads it back.
func jsonReports(t *testing.T, rs []*reports.Report) []jsonReport {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, render.Compare(&buf, "json", rs))
	var out []jsonReport
	require.NoError(t, json.Unmarshal(buf.Bytes(), &out))
	require.Len(t, out, len(rs))
	return out
}

// figure prints a JSON figure as the reports do.
func figure(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", *v)
}

// wantBand is the band the matrix documents for a login failure rate as printed: good up to 0.01, warn up to 0.1,
// bad above.
func wantBand(t *testing.T, v *float64) string {
	if v == nil {
		return "na"
	}
	shown := htmlNum(t, figure(v))
	switch {
	case shown <= 0.01:
		return "good"
	case shown <= 0.1:
		return "warn"
	}
	return "bad"
}

// matrixCell is the one cell of the page's matrix for the pair; the test fails unless there is exactly one.
func matrixCell(t *testing.T, doc *html.Node, balancer, strategy string) *html.Node {
	t.Helper()
	var found []*html.Node
	for _, td := range htmlFind(doc, "td", "class", "cell") {
		if htmlAttr(td, "data-balancer") == balancer && htmlAttr(td, "data-strategy") == strategy {
			found = append(found, td)
		}
	}
	require.Len(t, found, 1, "one cell for %s %s", balancer, strategy)
	return found[0]
}

// spanText is the text of the cell's first <span> of the class.
func spanText(t *testing.T, n *html.Node, class string) string {
	t.Helper()
	spans := htmlFind(n, "span", "class", class)
	require.NotEmpty(t, spans, "a span.%s", class)
	return htmlText(spans[0])
}

func TestMatrixHTMLGrid(t *testing.T) {
	rs := reporttest.Grid()
	doc := htmlParse(t, htmlCompare(t, rs))
	tables := htmlFind(doc, "table", "", "")
	require.NotEmpty(t, tables)
	assert.True(t, htmlHasWord(tables[0], "class", "matrix"), "the matrix is the page's first table")
	assert.Equal(t, "Login failure rate by strategy and balancer", htmlText(htmlFind(doc, "h2", "", "")[0]), "and its first section")
	assert.Empty(t, htmlFind(doc, "svg", "", ""), "the bar chart is gone")
	matrix := tables[0]

	var cols, rows []string
	for _, th := range htmlFind(matrix, "th", "scope", "col")[1:] {
		cols = append(cols, htmlText(th))
	}
	for _, th := range htmlFind(matrix, "th", "scope", "row") {
		rows = append(rows, htmlText(th))
	}
	assert.Equal(t, reporttest.GridKinds, cols, "a column per balancer, in the reports' order")
	assert.Equal(t, reporttest.GridStrategies, rows, "a row per strategy")
	require.Len(t, htmlFind(matrix, "td", "class", "cell"), 32)
	assert.Len(t, htmlFind(matrix, "td", "class", "band-refused"), 12)

	sections := map[string]*html.Node{}
	for _, s := range htmlFind(doc, "section", "class", "variant") {
		sections["#"+htmlAttr(s, "id")] = s
	}
	for _, r := range jsonReports(t, rs) {
		t.Run(r.Balancer.Kind+" "+r.Balancer.Strategy, func(t *testing.T) {
			cell := matrixCell(t, doc, r.Balancer.Kind, r.Balancer.Strategy)
			links := htmlFind(cell, "a", "", "")
			require.Len(t, links, 1, "a cell links to its variant's section")
			section := sections[htmlAttr(links[0], "href")]
			require.NotNil(t, section, "the link %q names a section", htmlAttr(links[0], "href"))
			assert.Equal(t, r.Balancer.Kind+" "+r.Balancer.Strategy, htmlText(htmlFind(section, "h3", "", "")[0]))
			if r.Skipped != "" {
				assert.True(t, htmlHasWord(cell, "class", "band-refused"), "a refused pair is a grey cell: %s", htmlAttr(cell, "class"))
				assert.Equal(t, "refused", spanText(t, cell, "rate"))
				assert.Equal(t, r.Balancer.Kind+" "+r.Balancer.Strategy+" refused: "+r.Skipped, htmlAttr(cell, "title"),
					"the reason on hover")
				assert.Contains(t, htmlText(section), "skipped: "+r.Skipped, "and in the section it links to")
				return
			}
			band := wantBand(t, r.Totals.LoginFailRate)
			assert.True(t, htmlHasWord(cell, "class", "band-"+band), "%s is %s: %s", figure(r.Totals.LoginFailRate), band,
				htmlAttr(cell, "class"))
			assert.Equal(t, band, htmlAttr(cell, "data-band"))
			assert.Equal(t, figure(r.Totals.LoginFailRate), spanText(t, cell, "rate"))
			assert.Equal(t, figure(r.Totals.SessionLoss), spanText(t, cell, "loss"))
			assert.Equal(t, figure(r.Skew.MaxOverMean), spanText(t, cell, "skew"))
			assert.Equal(t, "loss "+figure(r.Totals.SessionLoss)+" · skew "+figure(r.Skew.MaxOverMean), spanText(t, cell, "sub"))
			assert.Contains(t, htmlAttr(cell, "title"), "login failure rate "+figure(r.Totals.LoginFailRate)+" (")
		})
	}

	// The fixture's named cells, one per band and edge.
	for _, tc := range []struct {
		balancer, strategy, rate, band string
		lossHigh, skewHigh             bool
	}{
		{"nginx", "round-robin", "0.670", "bad", true, false},
		{"haproxy", "ip-hash", "0.100", "warn", true, false},
		{"nginx", "cookie-balanced", "0.030", "warn", true, false},
		{"caddy", "ip-hash", "0.010", "good", false, false},
		{"traefik", "cookie-insert", "0.003", "good", false, false},
		{"traefik", "ip-hash", "0.000", "good", false, true},
	} {
		cell := matrixCell(t, doc, tc.balancer, tc.strategy)
		assert.Equal(t, tc.rate, spanText(t, cell, "rate"))
		assert.Equal(t, "cell band-"+tc.band, htmlAttr(cell, "class"), "%s %s", tc.balancer, tc.strategy)
		assert.Equal(t, tc.lossHigh, htmlHasWord(htmlFind(cell, "span", "class", "loss")[0], "class", "hi"), "loss marked")
		assert.Equal(t, tc.skewHigh, htmlHasWord(htmlFind(cell, "span", "class", "skew")[0], "class", "hi"), "skew marked")
	}
	refused := matrixCell(t, doc, "haproxy", "cookie-balanced")
	assert.Equal(t, "cell band-refused", htmlAttr(refused, "class"))
	assert.Contains(t, htmlAttr(refused, "title"), "HAProxy's cookie names a server", "the quote survives the attribute")
}

// A pair rendered twice opens a second column; a pair missing is a cell saying so; a run without login attempts
// has no band.
func TestMatrixHTMLEdges(t *testing.T) {
	noLogins := reporttest.Looping()
	noLogins.Balancer.Strategy = "ip-hash"
	noLogins.Totals.LoginAttempts, noLogins.Totals.LoginFailures, noLogins.Totals.LoginFailRate = 0, 0, nil
	rs := []*reports.Report{reporttest.Looping(), reporttest.Looping(), noLogins, reporttest.Variants()[2]}
	doc := htmlParse(t, htmlCompare(t, rs))
	matrix := htmlFind(doc, "table", "class", "matrix")[0]
	var cols []string
	for _, th := range htmlFind(matrix, "th", "scope", "col")[1:] {
		cols = append(cols, htmlText(th))
	}
	assert.Equal(t, []string{"nginx", "nginx #2", "haproxy"}, cols)

	second := matrixCell(t, doc, "nginx #2", "round-robin")
	assert.Equal(t, "0.670", spanText(t, second, "rate"))
	assert.Equal(t, "#variant-1", htmlAttr(htmlFind(second, "a", "", "")[0], "href"), "the second report's section")
	na := matrixCell(t, doc, "nginx", "ip-hash")
	assert.Equal(t, "cell band-na", htmlAttr(na, "class"))
	assert.Equal(t, "n/a", spanText(t, na, "rate"))
	absent := matrixCell(t, doc, "haproxy", "round-robin")
	assert.Equal(t, "cell band-absent", htmlAttr(absent, "class"))
	assert.Empty(t, htmlFind(absent, "a", "", ""), "nothing to link to")
	assert.Equal(t, "–not run", htmlText(absent))
	assert.Equal(t, "cell band-refused", htmlAttr(matrixCell(t, doc, "haproxy", "hash-cookie"), "class"))

	// The band is the printed figure's: 0.0104 prints 0.010, good; 0.1006 prints 0.101, bad.
	for _, tc := range []struct {
		v          float64
		rate, band string
	}{{0.0104, "0.010", "good"}, {0.0106, "0.011", "warn"}, {0.1004, "0.100", "warn"}, {0.1006, "0.101", "bad"}} {
		r := reporttest.Healthy()
		r.Totals.LoginFailRate = new(tc.v)
		cell := matrixCell(t, htmlParse(t, htmlCompare(t, []*reports.Report{r})), "nginx", "round-robin")
		assert.Equal(t, tc.rate, spanText(t, cell, "rate"))
		assert.Equal(t, "cell band-"+tc.band, htmlAttr(cell, "class"), "%v", tc.v)
	}
}

// mdCells splits a Markdown table row into its cells (the matrix's have no pipe of their own).
func mdCells(line string) []string {
	return strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "| "), " |"), " | ")
}

func TestMatrixMarkdownGrid(t *testing.T) {
	rs := reporttest.Grid()
	var buf bytes.Buffer
	require.NoError(t, render.Compare(&buf, "markdown", rs))
	out := buf.String()

	head := "| strategy | nginx | haproxy | caddy | traefik |"
	require.Contains(t, out, head)
	assert.Less(t, strings.Index(out, head), strings.Index(out, "| balancer | strategy |"), "the matrix comes before the table")
	assert.Contains(t, out, "🟢 ≤ 0.01 · 🟡 ≤ 0.1 · 🔴 > 0.1 · ⚪ refused", "the key")

	lines := strings.Split(out, "\n")
	rows := map[string][]string{}
	for _, line := range lines {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := mdCells(line)
		if slices.Contains(reporttest.GridStrategies, cells[0]) && !slices.Contains(reporttest.GridKinds, cells[0]) &&
			len(cells) == 5 {
			rows[cells[0]] = cells
		}
	}
	require.Len(t, rows, 8, "a row per strategy:\n%s", out)
	notes := map[string]string{}
	for _, line := range lines {
		if m := regexp.MustCompile(`^\[\^(\d+)\]: (.*)$`).FindStringSubmatch(line); m != nil {
			notes[m[1]] = m[2]
		}
	}
	assert.Len(t, notes, 12, "a footnote per refused pair")
	marks := map[string]string{"good": "🟢", "warn": "🟡", "bad": "🔴"}
	for _, r := range jsonReports(t, rs) {
		cell := rows[r.Balancer.Strategy][1+slices.Index(reporttest.GridKinds, r.Balancer.Kind)]
		if r.Skipped != "" {
			m := regexp.MustCompile(`^⚪ refused\[\^(\d+)\]$`).FindStringSubmatch(cell)
			require.NotNil(t, m, "a refused cell: %q", cell)
			assert.Equal(t, r.Balancer.Kind+" "+r.Balancer.Strategy+": "+r.Skipped, notes[m[1]], "its footnote gives the reason")
			continue
		}
		want := marks[wantBand(t, r.Totals.LoginFailRate)] + " **" + figure(r.Totals.LoginFailRate) + "** · loss "
		assert.True(t, strings.HasPrefix(cell, want), "%s %s: %q, want it to start %q", r.Balancer.Kind, r.Balancer.Strategy, cell, want)
		assert.Contains(t, cell, figure(r.Totals.SessionLoss))
		assert.True(t, strings.HasSuffix(strings.ReplaceAll(cell, "**", ""), "· skew "+figure(r.Skew.MaxOverMean)), cell)
	}
	assert.Equal(t, "🔴 **0.670** · loss **0.670** · skew 1.000", rows["round-robin"][1])
	assert.Equal(t, "🟢 **0.000** · loss 0.000 · skew **2.900**", rows["ip-hash"][4])
	assert.Equal(t, "🟡 **0.030** · loss **0.020** · skew 1.030", rows["cookie-balanced"][1])
	assert.Contains(t, out, "\n[^1]: traefik least-conn: not supported by traefik:", "footnotes in the matrix's order, row by row")
}

// chromiumPath finds Debian's chromium (make deps installs it); like cmd/sessionlab's test, its absence fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("no chromium binary: install Debian's chromium package (make deps does)")
	return ""
}

// matrixLayout is what the page looks like to Chromium at make screenshot's window size.
type matrixLayout struct {
	PageWider    bool              `json:"pageWider"`    // the page scrolls sideways
	WideTables   []string          `json:"wideTables"`   // tables that stick out of the page's column
	MatrixWidth  float64           `json:"matrixWidth"`  // px
	MatrixBottom float64           `json:"matrixBottom"` // px from the page's top
	TableTop     float64           `json:"tableTop"`     // the comparison table's top
	Overflowing  []string          `json:"overflowing"`  // cells whose text does not fit them
	Backgrounds  map[string]string `json:"backgrounds"`  // computed background colour by band
	Title        string            `json:"title"`        // the refused nginx learn-cookie cell's title
}

const matrixLayoutJS = `(() => {
  const m = document.querySelector('table.matrix'), r = m.getBoundingClientRect();
  const out = {pageWider: document.documentElement.scrollWidth > innerWidth, matrixWidth: r.width,
    matrixBottom: r.bottom + scrollY, tableTop: document.querySelector('table.compare').getBoundingClientRect().top + scrollY,
    overflowing: [], backgrounds: {}, wideTables: []};
  const body = document.body.getBoundingClientRect(), pad = parseFloat(getComputedStyle(document.body).paddingRight);
  for (const t of document.querySelectorAll('table')) {
    if (t.getBoundingClientRect().right > body.right - pad + 1) out.wideTables.push(t.className);
  }
  for (const td of m.querySelectorAll('td.cell')) {
    for (const el of [td, ...td.querySelectorAll('span')]) {
      if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display === 'block') {
        out.overflowing.push(td.dataset.balancer + ' ' + td.dataset.strategy);
      }
    }
    out.backgrounds[td.dataset.band] = getComputedStyle(td).backgroundColor;
  }
  out.title = m.querySelector('td[data-balancer="nginx"][data-strategy="learn-cookie"]').title;
  return out;
})()`

// The 4 × 8 page in headless Chromium at the picture's size (make screenshot): it asks for nothing but itself, the
// matrix fits the window above the table with every cell's text inside its cell, the bands have colours of their
// own and a refused cell is grey.
func TestMatrixInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium")
	}
	browser := chromiumPath(t)
	page := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, os.WriteFile(page, []byte(htmlCompare(t, reporttest.Grid())), 0o644))

	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]), chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 1500))
	allocCtx, stopBrowser := chromedp.NewExecAllocator(context.Background(), opts...)
	defer stopBrowser()
	tabCtx, closeTab := chromedp.NewContext(allocCtx)
	defer closeTab()
	var mu sync.Mutex
	var urls []string
	_, err := chromedp.Call(tabCtx, network.Enable, network.EnableParams{})
	require.NoError(t, err, "start chromium")
	require.NoError(t, chromedp.Listen(tabCtx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL)
			mu.Unlock()
		}
	}))
	ctx, cancel := context.WithTimeout(tabCtx, time.Minute)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("file://"+page), chromedp.WaitReady("body"),
		chromedp.Sleep(300*time.Millisecond)))
	got, err := chromedp.Run(ctx, chromedp.Evaluate[matrixLayout](matrixLayoutJS))
	require.NoError(t, err)
	mu.Lock()
	assert.Equal(t, []string{"file://" + page}, urls, "the page asks for nothing but itself")
	mu.Unlock()

	assert.False(t, got.PageWider, "no sideways scrolling at 1200 px")
	assert.Empty(t, got.WideTables, "every table fits the page's column")
	assert.LessOrEqual(t, got.MatrixWidth, 1100.0, "the matrix fits the page's column")
	assert.Less(t, got.MatrixBottom, got.TableTop, "the matrix is above the table")
	assert.LessOrEqual(t, got.MatrixBottom, 1500.0, "and within the picture")
	assert.Empty(t, got.Overflowing, "every cell's text fits it")
	assert.Contains(t, got.Title, "not supported by nginx: open-source nginx cannot learn a cookie")

	bg := got.Backgrounds
	require.Len(t, bg, 4, "the fixture has the three bands and refused: %v", bg)
	seen := map[string]bool{}
	for band, colour := range bg {
		assert.False(t, seen[colour], "%s has a colour of its own: %s", band, colour)
		seen[colour] = true
	}
	var r, g, b int
	_, err = fmt.Sscanf(bg["refused"], "rgb(%d, %d, %d)", &r, &g, &b)
	require.NoError(t, err, bg["refused"])
	assert.True(t, r == g && g == b && r < 240, "a refused cell is grey: %s", bg["refused"])
}
