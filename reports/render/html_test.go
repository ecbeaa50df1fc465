package render_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/reporttest"
	"github.com/sessionlab/sessionlab/reports/render"
)

func htmlRun(t *testing.T, r *reports.Report) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, render.Report(&buf, "html", r))
	return buf.String()
}

func htmlCompare(t *testing.T, rs []*reports.Report) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, render.Compare(&buf, "html", rs))
	return buf.String()
}

func htmlParse(t *testing.T, page string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	return doc
}

// fetches lists everything in the tree that would make a browser load something: elements that embed or link
// resources, and attributes or styles that name a URL.
func htmlFetches(n *html.Node) []string {
	var found []string
	banned := map[string]bool{"script": true, "link": true, "img": true, "image": true, "iframe": true, "frame": true,
		"object": true, "embed": true, "source": true, "audio": true, "video": true, "track": true, "base": true, "feimage": true}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if banned[strings.ToLower(n.Data)] {
				found = append(found, "<"+n.Data+">")
			}
			for _, a := range n.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				key := strings.ToLower(a.Key)
				switch {
				case strings.Contains(v, "http:"), strings.Contains(v, "https:"), strings.HasPrefix(v, "//"),
					strings.Contains(v, "url("):
					found = append(found, n.Data+" "+a.Key+"="+a.Val)
				case (key == "href" || key == "src" || key == "xlink:href" || key == "srcset") && !strings.HasPrefix(v, "#"):
					found = append(found, n.Data+" "+a.Key+"="+a.Val)
				case key == "http-equiv" && v == "refresh":
					found = append(found, "meta refresh")
				}
			}
			if n.Data == "style" && n.FirstChild != nil {
				css := strings.ToLower(n.FirstChild.Data)
				if strings.Contains(css, "url(") || strings.Contains(css, "@import") || strings.Contains(css, "@font-face") {
					found = append(found, "stylesheet fetches")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return found
}

// find returns the elements below n named tag whose attribute key contains word (any element of tag when key
// is "").
func htmlFind(n *html.Node, tag, key, word string) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag && (key == "" || htmlHasWord(n, key, word)) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func htmlAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func htmlHasWord(n *html.Node, key, word string) bool {
	for _, w := range strings.Fields(htmlAttr(n, key)) {
		if w == word {
			return true
		}
	}
	return false
}

func htmlText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func htmlNum(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return v
}

// plot is the inline SVG with the given id; the test fails without it.
func htmlPlot(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	for _, s := range htmlFind(doc, "svg", "class", "plot") {
		if htmlAttr(s, "id") == id {
			return s
		}
	}
	require.Failf(t, "no plot", "no <svg class=plot id=%q>", id)
	return nil
}

// texts are the text contents of the <text> elements below n of the given class.
func htmlTexts(n *html.Node, class string) []string {
	var out []string
	for _, e := range htmlFind(n, "text", "class", class) {
		out = append(out, htmlText(e))
	}
	return out
}

func TestRenderHTMLIsDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		render func(t *testing.T) string
	}{
		{"run", func(t *testing.T) string { return htmlRun(t, reporttest.Looping()) }},
		{"compare", func(t *testing.T) string { return htmlCompare(t, reporttest.Variants()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := tc.render(t)
			for range 3 {
				require.Equal(t, first, tc.render(t))
			}
		})
	}
}

func TestRenderHTMLFetchesNothing(t *testing.T) {
	for name, page := range map[string]string{
		"run":     htmlRun(t, reporttest.Looping()),
		"compare": htmlCompare(t, reporttest.Variants()),
		"empty":   htmlRun(t, &reports.Report{}),
	} {
		t.Run(name, func(t *testing.T) {
			require.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
			assert.Empty(t, htmlFetches(htmlParse(t, page)))
			assert.NotContains(t, page, "<script")
		})
	}
}

// The checker must itself catch fetches, or a passing TestRenderHTMLFetchesNothing proves nothing.
func TestFetchCheckerCatchesFetches(t *testing.T) {
	for _, snippet := range []string{
		`<p>x</p><img src="https://example.invalid/x.png">`,
		`<div style="background:url(x)">x</div>`,
		`<svg><image href="pic.png"/></svg>`,
		`<style>@import "x.css";</style>`,
		`<link rel="stylesheet" href="//cdn.invalid/a.css">`,
	} {
		t.Run(snippet, func(t *testing.T) {
			assert.NotEmpty(t, htmlFetches(htmlParse(t, snippet)))
		})
	}
}

func TestRenderHTMLRunContents(t *testing.T) {
	page := htmlRun(t, reporttest.Looping())
	for _, want := range []string{
		"<title>sessionlab: rr-memory, nginx round-robin</title>", "runtime local", "seed 7",
		"login failure rate", "0.670", "<td>failure causes</td><td class=\"n\">loop 198, rejected 3</td>", "session loss rate", "0.667",
		"duplicate session ratio", "1.500", "<td>store sessions</td><td class=\"n\">420</td>", "websocket state loss", "ip_hash keys",
		"Sessions live in each replica&#39;s memory", "Fixes: affinity: cookie on the ingress; a shared session store",
		"fault 1: kill replica-2 at 1.5s (1500–2500 ms)", "fault 3: restart-store redis at 60s: not reached",
		"during kill replica-2", "400/0/400",
	} {
		assert.Contains(t, page, want)
	}
	doc := htmlParse(t, page)
	met := htmlFind(doc, "li", "class", "met")
	unmet := htmlFind(doc, "li", "class", "unmet")
	require.Len(t, met, 1)
	require.Len(t, unmet, 1)
	assert.Equal(t, "✔skew.max_over_mean want < 1.5, got 1.077", htmlText(met[0]))
	assert.Equal(t, "✘login_failure_rate want < 0.01, got 0.670", htmlText(unmet[0]))
}

func TestRenderHTMLPlotsHaveAxesAndTitles(t *testing.T) {
	doc := htmlParse(t, htmlRun(t, reporttest.Looping()))
	for _, tc := range []struct {
		id, title string
		axes      []string
	}{
		{"replicas", "Requests per replica", []string{"requests", "replica"}},
		{"over-time", "Outcomes over time", []string{"exchanges per second", "time since start (s)"}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			svg := htmlPlot(t, doc, tc.id)
			titles := htmlFind(svg, "title", "", "")
			require.NotEmpty(t, titles)
			assert.Equal(t, tc.title, htmlText(titles[0]))
			assert.ElementsMatch(t, tc.axes, htmlTexts(svg, "axis-title"))
			assert.NotEmpty(t, htmlTexts(svg, "tick"))
			assert.NotEmpty(t, htmlTexts(svg, "legend-label"))
		})
	}
}

func TestRenderHTMLReplicaBars(t *testing.T) {
	svg := htmlPlot(t, htmlParse(t, htmlRun(t, reporttest.Looping())), "replicas")
	bars := htmlFind(svg, "rect", "class", "bar")
	require.Len(t, bars, 3)
	for i, want := range []struct{ name, value string }{{"replica-1", "1400"}, {"replica-2", "1300"}, {"replica-3", "1200"}} {
		assert.Equal(t, want.name, htmlAttr(bars[i], "data-replica"))
		assert.Equal(t, want.value, htmlTexts(svg, "value")[i])
	}
	// Taller bar for more requests: the y of a bar's top falls as its value rises.
	assert.Less(t, htmlNum(t, htmlAttr(bars[0], "y")), htmlNum(t, htmlAttr(bars[2], "y")))
}

func TestRenderHTMLFaultShading(t *testing.T) {
	svg := htmlPlot(t, htmlParse(t, htmlRun(t, reporttest.Looping())), "over-time")
	rects := htmlFind(svg, "rect", "class", "fault")
	require.Len(t, rects, 2, "one per started fault; the fault never reached has none")
	assert.Equal(t, []string{"fault 1: kill replica-2", "fault 2: pause nginx"}, htmlTexts(svg, "fault-label"))
	assert.Equal(t, []string{"1", "2"}, []string{htmlAttr(rects[0], "data-fault"), htmlAttr(rects[1], "data-fault")})
	assert.NotEmpty(t, htmlFind(svg, "polygon", "class", "area"))
	assert.NotContains(t, htmlTexts(svg, "note"), "no exchanges")
}

func TestRenderHTMLEmptyOverTime(t *testing.T) {
	r := reporttest.Looping()
	r.OverTime = reports.OverTime{BucketMs: 100, Buckets: []reports.Bucket{}}
	svg := htmlPlot(t, htmlParse(t, htmlRun(t, r)), "over-time")
	assert.Equal(t, []string{"no exchanges"}, htmlTexts(svg, "note"))
	assert.Empty(t, htmlFind(svg, "polygon", "class", "area"))
	assert.Len(t, htmlFind(svg, "rect", "class", "fault"), 2, "faults still show on an empty plot")
}

// The comparison page's variant sections and table (its matrix: matrix_test.go).
func TestRenderHTMLCompareSections(t *testing.T) {
	doc := htmlParse(t, htmlCompare(t, reporttest.Variants()))
	sections := htmlFind(doc, "section", "class", "variant")
	require.Len(t, sections, 3)
	for i, s := range sections {
		assert.Equal(t, "variant-"+strconv.Itoa(i), htmlAttr(s, "id"), "the matrix's cells link to it")
	}
	assert.Contains(t, htmlText(sections[2]), "skipped: haproxy has no hash-cookie strategy")
	rows := htmlFind(doc, "tr", "class", "skipped")
	require.Len(t, rows, 1)
	assert.Contains(t, htmlText(rows[0]), "skipped: haproxy has no hash-cookie strategy")
}

func TestRenderHTMLNilFigures(t *testing.T) {
	r := reporttest.Looping()
	r.Totals.LoginFailRate, r.Totals.StoreSessions, r.Skew.MaxOverMean = nil, nil, nil
	r.Expectations = []reports.Expectation{{Key: "skew.max_over_mean", Want: "< 1.5"}}
	doc := htmlParse(t, htmlRun(t, r))
	cells := map[string]string{}
	for _, row := range htmlFind(doc, "tr", "", "") {
		if tds := htmlFind(row, "td", "", ""); len(tds) >= 2 {
			cells[htmlText(tds[0])] = htmlText(tds[1])
		}
	}
	for _, label := range []string{"login failure rate", "store sessions"} {
		assert.Equal(t, "n/a", cells[label], label)
	}
	assert.Contains(t, htmlText(htmlFind(doc, "p", "class", "meta")[1]), "max/mean n/a")
	unmet := htmlFind(doc, "li", "class", "unmet")
	require.Len(t, unmet, 1, "a figure that could not be computed meets nothing")
	assert.Contains(t, htmlText(unmet[0]), "got n/a")

	require.Error(t, render.Report(&bytes.Buffer{}, "html", nil))
}

func TestRenderHTMLEmptyDiagnosis(t *testing.T) {
	r := reporttest.Looping()
	r.Diagnosis, r.Expectations = []reports.Finding{}, nil
	doc := htmlParse(t, htmlRun(t, r))
	diag := htmlFind(doc, "p", "class", "diagnosis")
	require.Len(t, diag, 1)
	assert.Empty(t, htmlFind(diag[0], "span", "class", "finding"))
	assert.NotEmpty(t, strings.TrimSpace(htmlText(diag[0])))
	assert.Empty(t, htmlFind(doc, "ul", "class", "expect"))
}
