package render

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/fig"
	"github.com/sessionlab/sessionlab/reports/render/internal/svg"
)

// htmlHead is the whole stylesheet: the page must open offline, so no font, image or sheet is fetched, and fonts
// are the system's own.
const htmlHead = `{{define "head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d1d1f;background:#fff;max-width:1100px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.5em;margin:0 0 .2em}
h2{font-size:1.15em;margin:1.8em 0 .6em;padding-bottom:.2em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:1.4em 0 .4em}
.meta{color:#555;margin:0 0 1em}
table{border-collapse:collapse;margin:.4em 0 1em;font-variant-numeric:tabular-nums}
th,td{padding:3px 10px;border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}
th{font-weight:600;background:#f5f5f5}
.n{text-align:right;white-space:nowrap}
td.note{color:#555}
.diagnosis{background:#f7f7f2;border-left:4px solid #b0a46a;padding:.6em .9em;margin:.6em 0}
.finding{display:block}
.finding+.finding{margin-top:.4em}
.fixes{color:#444}
ul.expect,ul.faults{padding-left:0;list-style:none}
ul.expect li,ul.faults li{margin:.2em 0}
.mark{display:inline-block;width:1.3em;font-weight:700}
.met .mark{color:#1a7f37}
.unmet .mark{color:#c62828}
.unmet{color:#8b1a1a}
.skipped{color:#777;font-style:italic}
.interrupted{background:#fff4e5;border-left:4px solid #e6a23c;padding:.6em .9em;margin:.6em 0}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f3f3;padding:0 3px}
svg.plot{display:block;max-width:100%;height:auto;margin:.8em 0 1.2em}
svg text{font-family:inherit;font-size:11px;fill:#222}
svg .plot-title{font-size:14px;font-weight:600}
svg .axis-title{font-size:12px;fill:#333}
svg .value{font-size:10px}
svg .fault-label{font-size:10px;fill:#333}
svg .note{font-size:13px;fill:#777;font-style:italic}
{{template "compareStyle"}}</style>
</head>
<body>
{{end}}`

const htmlParts = `
{{define "diagnosis"}}<p class="diagnosis">
{{- range .}}<span class="finding">{{.Text}}{{with .Fixes}} <span class="fixes">Fixes: {{join . "; "}}</span>{{end}}</span>
{{- else}}Nothing to diagnose: no rule recognised these figures.{{end -}}
</p>
{{end}}
{{define "expectations"}}{{if .}}<ul class="expect">
{{- range .}}
<li class="{{if .OK}}met{{else}}unmet{{end}}"><span class="mark" title="{{if .OK}}met{{else}}not met{{end}}">{{if .OK}}✔{{else}}✘{{end}}</span><code>{{.Key}}</code> want {{.Want}}, got {{fig .Got}}</li>
{{- end}}
</ul>
{{else}}<p class="meta">No expectations.</p>
{{end}}{{end}}
`

const htmlRun = `{{template "head" .Title -}}
<h1>{{.R.Scenario}}</h1>
<p class="meta">{{.Balancer}}{{with .R.Balancer.Config}} (config {{.}}){{end}} · runtime {{.R.Runtime}} · seed {{.R.Seed}} · {{.R.App.Replicas}} replicas · sessions {{.R.App.Sessions}}
{{- with .R.App.Login}} · login {{.}}{{end}}{{with .R.App.Secret}} · secret {{.}}{{end}}{{with .R.App.CookieName}} · cookie name {{.}}{{end}}</p>
{{with interruption .R}}<p class="interrupted"><strong>Interrupted</strong> {{.}}.</p>
{{end -}}
<h2>Figures</h2>
<table class="headline">
<tr><th>figure</th><th class="n">value</th><th></th></tr>
{{- range .Headline}}
<tr><td>{{.Label}}</td><td class="n">{{.Value}}</td><td class="note">{{.Note}}</td></tr>
{{- end}}
</table>
<h2>Diagnosis</h2>
{{template "diagnosis" .R.Diagnosis}}
{{with .Witness}}{{.}}
{{end -}}
<h2>Expectations</h2>
{{if and .R.Interrupted .R.Expectations}}<p class="meta">Not judged: the run was interrupted.</p>
{{end -}}
{{template "expectations" .R.Expectations}}
<h2>Timeline</h2>
{{.OverTime}}
<h2>Replicas</h2>
{{.Replicas}}
<table class="replicas">
<tr><th>replica</th><th class="n">requests</th><th class="n">share</th><th class="n">users</th></tr>
{{- range .R.Replicas}}
<tr><td>{{.Name}}</td><td class="n">{{.Requests}}</td><td class="n">{{fig .Share}}</td><td class="n">{{.Users}}</td></tr>
{{- end}}
</table>
<p class="meta">skew: max/mean {{fig .R.Skew.MaxOverMean}} · cov {{fig .R.Skew.CoV}} · jain {{fig .R.Skew.Jain}}</p>
{{- with .R.Tier}}
<h2>Balancer tier</h2>
<p class="meta">{{tierSummary .}}</p>
<table class="tier">
<tr><th>instance</th><th class="n">requests</th><th class="n">share</th><th class="n">users</th><th class="n">errors</th><th class="n">connections</th></tr>
{{- range .Instances}}
<tr><td>{{.Name}}</td><td class="n">{{.Requests}}</td><td class="n">{{fig .Share}}</td><td class="n">{{.Users}}</td><td class="n">{{.Errors}}</td><td class="n">{{.Connections}}</td></tr>
{{- end}}
</table>
<p class="meta">session losses: {{lossSplit .}}</p>
{{- end}}
{{- if or .R.Phases .R.Faults}}
<h2>Phases</h2>
<table class="phases">
<tr><th>phase</th><th class="n">ms</th><th class="n">requests</th><th class="n">login failures</th><th class="n">rate</th><th class="n">session losses</th><th class="n">rate</th><th class="n">users lost</th><th class="n">errors</th>{{if .ConnsClosed}}<th class="n">conns closed</th>{{end}}<th class="n">requests per replica</th></tr>
{{- range .R.Phases}}
<tr><td>{{.Name}}</td><td class="n">{{.FromMs}}–{{.ToMs}}</td><td class="n">{{.Requests}}</td><td class="n">{{.LoginFailures}}</td><td class="n">{{fig .LoginFailRate}}</td><td class="n">{{.SessionLosses}}</td><td class="n">{{fig .SessionLoss}}</td><td class="n">{{.UsersWithLoss}}</td><td class="n">{{.Errors}}</td>{{if $.ConnsClosed}}<td class="n">{{.ConnectionsClosed}}</td>{{end}}<td class="n">{{phaseReplicas .Replicas}}</td></tr>
{{- end}}
</table>
<ul class="faults">
{{- range .R.Faults}}
<li>{{faultLine . $.R.Tier}}</li>
{{- end}}
</ul>
{{- end}}
</body>
</html>
`

const htmlCompareTemplate = `{{template "head" .Title -}}
<h1>{{.Scenario}}</h1>
<p class="meta">{{.Meta}}</p>
{{template "matrix" .Matrix}}<h2>Comparison</h2>
<table class="compare">
<tr><th>balancer</th><th>strategy</th><th class="n">requests</th><th class="n">login failure rate</th><th>causes</th><th class="n">session loss</th><th class="n">dup ratio</th><th class="n">max/mean</th><th class="n">cov</th><th class="n">jain</th><th class="n">requests per replica</th></tr>
{{- range .Reports}}
{{- if .Skipped}}
<tr class="skipped"><td>{{.Balancer.Kind}}</td><td>{{.Balancer.Strategy}}</td><td colspan="9">skipped: {{.Skipped}}</td></tr>
{{- else}}
<tr><td>{{.Balancer.Kind}}</td><td>{{.Balancer.Strategy}}</td><td class="n">{{.Totals.Requests}}</td><td class="n">{{fig .Totals.LoginFailRate}}</td><td>{{causes .FailureCauses}}</td><td class="n">{{fig .Totals.SessionLoss}}</td><td class="n">{{fig .Totals.DuplicateRatio}}</td><td class="n">{{fig .Skew.MaxOverMean}}</td><td class="n">{{fig .Skew.CoV}}</td><td class="n">{{fig .Skew.Jain}}</td><td class="n">{{replicas .Replicas}}</td></tr>
{{- end}}
{{- end}}
</table>
<h2>Variants</h2>
{{- range $i, $r := .Reports}}
<section class="variant" id="variant-{{$i}}">
<h3>{{.Balancer.Kind}} {{.Balancer.Strategy}}</h3>
{{if .Skipped}}<p class="skipped">skipped: {{.Skipped}}</p>
{{else}}{{with interruption .}}<p class="interrupted"><strong>Interrupted</strong> {{.}}.</p>{{end}}{{template "diagnosis" .Diagnosis}}{{template "expectations" .Expectations}}{{end -}}
</section>
{{- end}}
</body>
</html>
`

var htmlTemplates = template.Must(template.New("html").Funcs(template.FuncMap{
	"fig":         fig.Fmt,
	"causes":      causes,
	"join":        strings.Join,
	"faultLine":   faultLine,
	"tierSummary": tierSummary,
	"lossSplit":   lossSplit,
	"replicas": func(reps []reports.Replica) string {
		parts := make([]string, len(reps))
		for i, r := range reps {
			parts[i] = strconv.Itoa(r.Requests)
		}
		return strings.Join(parts, "/")
	},
	"phaseReplicas": phaseReplicas,
	"interruption":  interruption,
}).Parse(htmlHead + htmlParts + matrixHTML +
	`{{define "run"}}` + htmlRun + `{{end}}` +
	`{{define "compare"}}` + htmlCompareTemplate + `{{end}}`))

// headRow is one line of the headline table.
type headRow struct{ Label, Value, Note string }

// htmlReport writes r as one self-contained HTML page: headline figures, diagnosis, expectations, a plot of the
// outcomes over time with the faults shaded, a plot of the requests per replica, and the phase table. The page
// loads nothing (styles and plots are inline) and the same report always gives the same bytes.
func htmlReport(w io.Writer, r *reports.Report) error {
	if r == nil {
		return errors.New("render html: no report")
	}
	data := struct {
		Title, Balancer    string
		R                  *reports.Report
		Headline           []headRow
		OverTime, Replicas template.HTML
		Witness            template.HTML // the first witness's section, "" without one (witness.go)
		ConnsClosed        bool          // the phase table has the connections closed
	}{
		Title:       fmt.Sprintf("sessionlab: %s, %s", r.Scenario, balancerOf(r)),
		Balancer:    balancerOf(r),
		R:           r,
		Headline:    headline(r),
		ConnsClosed: r.Totals.Connections != nil,
		// Both are built from numbers and html.EscapeString'd names only.
		OverTime: template.HTML(svg.OverTime(r.OverTime, r.Faults)),
		Replicas: template.HTML(svg.Replicas(r.Replicas)),
	}
	var err error
	if data.Witness, err = witnessHTML(r); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return execute(w, "run", data)
}

// htmlCompare writes the reports of one scenario under several balancers and strategies as one
// self-contained HTML page: the matrix of login failure rates by strategy and balancer (matrix.go), the comparison
// table, and each variant's diagnosis and expectations. A skipped variant shows why it was not run.
func htmlCompare(w io.Writer, rs []*reports.Report) error {
	kept := make([]*reports.Report, 0, len(rs))
	for _, r := range rs {
		if r != nil {
			kept = append(kept, r)
		}
	}
	data := struct {
		Title, Scenario, Meta string
		Matrix                matrixView
		Reports               []*reports.Report
	}{Title: "sessionlab comparison", Scenario: "comparison", Matrix: newMatrixView(kept), Reports: kept}
	for _, r := range kept {
		if r.Skipped == "" {
			data.Scenario = r.Scenario
			data.Title = "sessionlab: " + r.Scenario + ", comparison"
			data.Meta = fmt.Sprintf("seed %d · runtime %s · %d replicas · sessions %s · %d users · %d variants",
				r.Seed, r.Runtime, r.App.Replicas, r.App.Sessions, r.Totals.Users, len(kept))
			break
		}
	}
	return execute(w, "compare", data)
}

// execute renders into memory first so that a failing template leaves no half page behind.
func execute(w io.Writer, name string, data any) error {
	var buf bytes.Buffer
	if err := htmlTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func headline(r *reports.Report) []headRow {
	t := r.Totals
	n := strconv.Itoa
	rows := []headRow{{"users", n(t.Users), ""}}
	if t.UsersDone != nil && r.Interrupted {
		rows = append(rows, headRow{"users done", n(*t.UsersDone), "the run was interrupted before the others finished"})
	}
	rows = append(rows, []headRow{
		{"requests", n(t.Requests), ""},
		{"errors", n(t.Errors), "exchanges that ended in an error"},
		{"login attempts", n(t.LoginAttempts), ""},
		{"login failures", n(t.LoginFailures), ""},
		{"login failure rate", fig.Fmt(t.LoginFailRate), ""},
		{"failure causes", causes(r.FailureCauses), ""},
		{"session losses", n(t.SessionLosses), fmt.Sprintf("of %d protected pages", t.PageRequests)},
		{"session loss rate", fig.Fmt(t.SessionLoss), ""},
		{"users in a login loop", n(t.UsersInLoginLoop), ""},
		{"affected users", n(t.AffectedUsers), "a failed login, a lost session or an error"},
		{"stickiness mean", fig.Fmt(r.Stickiness.Mean), fmt.Sprintf("%s of users always on their session's replica", fig.Fmt(r.Stickiness.ShareAtOne))},
		{"duplicate session ratio", fig.Fmt(t.DuplicateRatio), fmt.Sprintf("for %d users logged in", t.UsersLoggedIn)},
	}...)
	if t.Interrupted > 0 {
		rows = append(rows, headRow{"interrupted", n(t.Interrupted), "exchanges the harness cut short: counted in no failure"})
	}
	store := headRow{"store sessions", "n/a", fmt.Sprintf("%d sessions created (no store record)", t.SessionsCreated)}
	if t.StoreSessions != nil {
		store.Value = n(*t.StoreSessions)
	}
	if st := r.Store; st != nil {
		store.Note = fmt.Sprintf("%s store (%s); %d issued, %d csrf refusals, %d unreadable cookies",
			st.Kind, st.Source, st.SessionsCreated, st.CSRFRefusals, st.BadCookies)
		if len(st.Unread) > 0 {
			store.Note += "; unread: " + strings.Join(st.Unread, ", ")
		}
	}
	rows = append(rows, store, headRow{"silent re-authentications", n(t.SilentReauths), ""})
	if ws := r.WebSocket; ws != nil {
		rows = append(rows, headRow{"websocket state loss", fig.Fmt(ws.StateLossRate),
			fmt.Sprintf("%d of %d reconnects lost state; %d connections, %d errors", ws.StateLost, ws.Reconnects, ws.Connections, ws.Errors)})
	}
	if t.Connections != nil {
		rows = append(rows, headRow{"connections closed", n(t.ConnectionsClosed), connections(t)})
	}
	return append(rows,
		headRow{"client addresses", n(r.Network.Addresses), ""},
		headRow{"ip_hash keys", n(r.Network.HashKeys), "distinct /24s (IPv4) and addresses (IPv6)"})
}
