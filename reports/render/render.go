// Package render writes reports for people and tools: text (the terminal), the v1 JSON, Markdown, one
// self-contained HTML page with SVG plots, and JUnit XML for CI, each for one run or a comparison of several. It
// computes nothing: the figures are package reports'.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/fig"
)

// format is one way to render reports: one run, or a comparison of several.
type format struct {
	name    string
	file    string // the file it is written to in an output directory (--out)
	one     func(io.Writer, *reports.Report) error
	compare func(io.Writer, []*reports.Report) error
}

// formats is the one table Formats, FileName, Report and Compare read.
var formats = []format{
	{"text", "report.txt", textReport, textCompare},
	{"json", "report.json", jsonReport, jsonList},
	{"markdown", "report.md", markdownReport, markdownCompare},
	{"html", "report.html", htmlReport, htmlCompare},
	{"junit", "junit.xml", junitReport, junitCompare},
}

// Formats are the formats a report can be rendered in.
var Formats = func() []string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.name
	}
	return names
}()

func lookup(name string) (format, error) {
	for _, f := range formats {
		if f.name == name {
			return f, nil
		}
	}
	return format{}, fmt.Errorf("format %q is not known (allowed: %s)", name, strings.Join(Formats, ", "))
}

// FileName is the file a format is written to in an output directory (--out), or "" for an unknown format.
func FileName(name string) string {
	f, _ := lookup(name)
	return f.file
}

// Report writes r in the named format (one of Formats).
func Report(w io.Writer, name string, r *reports.Report) error {
	f, err := lookup(name)
	if err != nil {
		return err
	}
	return f.one(w, r)
}

// Compare writes the reports of one scenario run under several strategies (and balancers) in the named format.
func Compare(w io.Writer, name string, rs []*reports.Report) error {
	f, err := lookup(name)
	if err != nil {
		return err
	}
	return f.compare(w, rs)
}

// jsonReport writes the v1 report JSON, indented.
func jsonReport(w io.Writer, r *reports.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// textReport writes the report as a short summary and a table per replica.
func textReport(w io.Writer, r *reports.Report) error {
	t := r.Totals
	config := ""
	if r.Balancer.Config != "" {
		config = " (config " + r.Balancer.Config + ")"
	}
	app := ""
	switch {
	case r.App.Own:
		app = fmt.Sprintf("  your app  secret %s", r.App.Secret)
	case r.App.Login != "":
		app = fmt.Sprintf("  login %s  secret %s  cookie name %s", r.App.Login, r.App.Secret, r.App.CookieName)
	}
	fmt.Fprintf(w, "%s  seed %d  runtime %s  %s%s  %d replicas  sessions %s%s\n\n",
		r.Scenario, r.Seed, r.Runtime, balancerOf(r), config, r.App.Replicas, r.App.Sessions, app)
	if line := interruption(r); line != "" {
		fmt.Fprintf(w, "INTERRUPTED: %s\n\n", line)
	}
	fmt.Fprintf(w, "users %d  requests %d  errors %d%s\n", t.Users, t.Requests, t.Errors, interruptedCount(t.Figures))
	fmt.Fprintf(w, "logins    %d attempts, %d failed (rate %s)  causes: %s\n", t.LoginAttempts, t.LoginFailures, fig.Fmt(t.LoginFailRate), causes(r.FailureCauses))
	fmt.Fprintf(w, "sessions  %d of %d protected pages lost (rate %s)\n", t.SessionLosses, t.PageRequests, fig.Fmt(t.SessionLoss))
	fmt.Fprintf(w, "users     %d affected, %d in a login loop; stickiness mean %s, %s of users at 1.0\n",
		t.AffectedUsers, t.UsersInLoginLoop, fig.Fmt(r.Stickiness.Mean), fig.Fmt(r.Stickiness.ShareAtOne))
	if st := r.Store; st != nil {
		fmt.Fprintf(w, "          %d held by the %s store for %d users logged in (duplicate ratio %s), %d silent re-authentications\n",
			st.Sessions, st.Kind, t.UsersLoggedIn, fig.Fmt(t.DuplicateRatio), t.SilentReauths)
		if st.Keys != "" {
			fmt.Fprintf(w, "store     %d keys matching %s in Redis (your app's counters are not read)", st.Sessions, st.Keys)
		} else {
			fmt.Fprintf(w, "store     %d sessions issued, %d after a password, %d csrf refusals, %d cookies a replica could not open",
				st.SessionsCreated, st.Logins, st.CSRFRefusals, st.BadCookies)
		}
		if len(st.Unread) > 0 {
			fmt.Fprintf(w, " (unread: %s)", strings.Join(st.Unread, ", "))
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "          %d created for %d users logged in (duplicate ratio %s), %d silent re-authentications\n",
			t.SessionsCreated, t.UsersLoggedIn, fig.Fmt(t.DuplicateRatio), t.SilentReauths)
	}
	if ws := r.WebSocket; ws != nil {
		fmt.Fprintf(w, "websocket %d connections, %d errors, state lost on %d of %d reconnects (rate %s)\n",
			ws.Connections, ws.Errors, ws.StateLost, ws.Reconnects, fig.Fmt(ws.StateLossRate))
	}
	if t.Connections != nil {
		fmt.Fprintf(w, "conns     %s\n", connections(t))
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	failovers := slices.ContainsFunc(r.Replicas, func(rep reports.Replica) bool { return rep.FailedOver > 0 })
	if failovers {
		// Only when the balancer reported any: the column says which replicas it could not use.
		fmt.Fprintln(tw, "replica\trequests\tshare\tusers\tfailed over\t")
	} else {
		fmt.Fprintln(tw, "replica\trequests\tshare\tusers\t")
	}
	for _, rep := range r.Replicas {
		if failovers {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t\n", rep.Name, rep.Requests, fig.Fmt(rep.Share), rep.Users, rep.FailedOver)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t\n", rep.Name, rep.Requests, fig.Fmt(rep.Share), rep.Users)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "skew: max/mean %s  cov %s  jain %s\n", fig.Fmt(r.Skew.MaxOverMean), fig.Fmt(r.Skew.CoV), fig.Fmt(r.Skew.Jain))
	if err := renderTier(w, r.Tier); err != nil {
		return err
	}
	if err := renderPhases(w, r); err != nil {
		return err
	}
	if len(r.Diagnosis) > 0 {
		fmt.Fprintln(w, "\ndiagnosis")
		for _, f := range r.Diagnosis {
			fmt.Fprintf(w, "  %s\n", f.Line())
		}
	}
	if len(r.Witnesses) > 0 {
		fmt.Fprintln(w)
		if err := witnessText(w, r); err != nil {
			return err
		}
	}
	return renderExpectations(w, r)
}

// interruption says what an interrupted run's report holds, e.g. "by SIGINT after 1200 of 3000 users had finished:
// the figures are those of what ran; 14 exchanges cut short count in no failure; the expectations are not judged";
// "" for a run that was not interrupted. Every format opens the report with it.
func interruption(r *reports.Report) string {
	if !r.Interrupted {
		return ""
	}
	var b strings.Builder
	if r.InterruptedBy != "" {
		b.WriteString("by " + r.InterruptedBy + " ")
	}
	if d := r.Totals.UsersDone; d != nil {
		fmt.Fprintf(&b, "after %d of %d users had finished", *d, r.Totals.Users)
	} else {
		fmt.Fprintf(&b, "before all %d users had finished", r.Totals.Users)
	}
	b.WriteString(": the figures are those of what ran")
	switch n := r.Totals.Interrupted; n {
	case 0:
		b.WriteString("; no exchange was cut short")
	default:
		fmt.Fprintf(&b, "; %d exchanges cut short count in no failure", n)
	}
	if len(r.Expectations) > 0 {
		b.WriteString("; the expectations are not judged")
	}
	return b.String()
}

// interruptedCount is ", interrupted N" after the errors, when exchanges were cut short.
func interruptedCount(f reports.Figures) string {
	if f.Interrupted == 0 {
		return ""
	}
	return fmt.Sprintf("  interrupted %d", f.Interrupted)
}

// renderPhases writes the phase table and one line per fault; nothing for a run without faults. The column of
// connections closed is there when the log records why connections opened.
func renderPhases(w io.Writer, r *reports.Report) error {
	if len(r.Phases) == 0 && len(r.Faults) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nphases")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	conns := r.Totals.Connections != nil
	head := "  phase\tms\trequests\tlogin fail\tsession loss\tusers lost\terrors\t"
	if conns {
		head += "conns closed\t"
	}
	fmt.Fprintln(tw, head+"requests per replica")
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "  %s\t%d–%d\t%d\t%d %s\t%d %s\t%d\t%d\t", p.Name, p.FromMs, p.ToMs, p.Requests,
			p.LoginFailures, fig.Fmt(p.LoginFailRate), p.SessionLosses, fig.Fmt(p.SessionLoss), p.UsersWithLoss, p.Errors)
		if conns {
			fmt.Fprintf(tw, "%d\t", p.ConnectionsClosed)
		}
		fmt.Fprintln(tw, phaseReplicas(p.Replicas))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Faults {
		if _, err := fmt.Fprintln(w, faultLine(f, r.Tier)); err != nil {
			return err
		}
	}
	return nil
}

// renderTier writes the tier's table of instances and what it says of the losses; nothing without a tier.
func renderTier(w io.Writer, t *reports.Tier) error {
	if t == nil {
		return nil
	}
	fmt.Fprintf(w, "\ntier: %s\n", tierSummary(t))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "instance\trequests\tshare\tusers\terrors\tconnections\t")
	for _, in := range t.Instances {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t\n", in.Name, in.Requests, fig.Fmt(in.Share), in.Users, in.Errors, in.Connections)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "session losses by instance: %s\n", lossSplit(t))
	return err
}

// tierSummary is e.g. "2 instances behind an L4 front spreading by connection (…); 12 requests answered by no
// instance; 40 users answered by several instances".
func tierSummary(t *reports.Tier) string {
	front := t.Front
	if front == "" {
		front = "-"
	}
	return fmt.Sprintf("%d instances behind an L4 front spreading by %s (a real HAProxy in TCP mode, standing in for a cloud L4 balancer); "+
		"%d requests answered by no instance; %d users answered by several instances",
		len(t.Instances), front, t.NoInstance, t.UsersOnSeveral)
}

// lossSplit is e.g. "30 on another instance than the login's, 2 on the login's, 1 unattributed".
func lossSplit(t *reports.Tier) string {
	return fmt.Sprintf("%d on another instance than the login's, %d on the login's, %d unattributed",
		t.LossesElsewhere, t.LossesSameInstance, t.LossesUnattributed)
}

// connections is e.g. "312 new connections: closed 12, first 300 (12 closed by the balancer's side)".
func connections(t reports.Totals) string {
	n := 0
	for _, v := range t.Connections {
		n += v
	}
	return fmt.Sprintf("%d new connections: %s (%d closed by the balancer's side)", n, causes(t.Connections), t.ConnectionsClosed)
}

func phaseReplicas(reps []reports.PhaseReplica) string {
	parts := make([]string, len(reps))
	for i, r := range reps {
		parts[i] = strconv.Itoa(r.Requests)
	}
	return strings.Join(parts, "/")
}

// faultLine is e.g. "fault 1: kill replica-2 at 1500 requests (812–815 ms): 300 users across, 98 moved (0.327); 98 on
// replica-2 of whom 97 lost their session, 0 lost elsewhere". In a tier it adds the users sent back and forth.
func faultLine(f reports.FaultResult, tier *reports.Tier) string {
	head := fmt.Sprintf("fault %d: %s at %s", f.Index+1, f.Label(), f.At)
	var line string
	switch {
	case f.StartMs == nil:
		line = head + ": not reached"
	case f.EndMs == nil:
		line = fmt.Sprintf("%s (%d ms–): did not finish", head, *f.StartMs)
	default:
		line = fmt.Sprintf("%s (%d–%d ms): %d users across, %d moved (%s); ", head, *f.StartMs, *f.EndMs,
			*f.UsersAcross, *f.MovedUsers, fig.Fmt(f.MovedShare))
		if f.UsersOnTarget != nil {
			line += fmt.Sprintf("%d on %s of whom %d lost their session, %d lost elsewhere",
				*f.UsersOnTarget, f.Target, *f.LostOnTarget, *f.LostElsewhere)
		} else {
			line += fmt.Sprintf("%d lost their session", *f.UsersLost)
		}
		if tier != nil && f.FlippedUsers != nil {
			line += fmt.Sprintf("; %d users sent back and forth between replicas while it lasted", *f.FlippedUsers)
		}
	}
	if f.Error != "" {
		line += "; error: " + f.Error
	}
	return line
}

func renderExpectations(w io.Writer, r *reports.Report) error {
	if len(r.Expectations) == 0 {
		return nil
	}
	if r.Interrupted {
		fmt.Fprintln(w, "\nexpectations (not judged: the run was interrupted)")
	} else {
		fmt.Fprintln(w, "\nexpectations")
	}
	for _, e := range r.Expectations {
		if _, err := fmt.Fprintf(w, "  %s  %s %s  (got %s)\n", textMark(r, e), e.Key, e.Want, fig.Fmt(e.Got)); err != nil {
			return err
		}
	}
	return nil
}

// textMark is an expectation's mark in the text report, every mark the same width: "skip" on an interrupted run,
// whose expectations are not judged.
func textMark(r *reports.Report, e reports.Expectation) string {
	switch {
	case r.Interrupted:
		return "skip"
	case e.OK:
		return "ok  "
	}
	return "FAIL"
}

// textCompare writes one row per report, side by side, for runs of one scenario under different strategies.
func textCompare(w io.Writer, rs []*reports.Report) error {
	if len(rs) == 0 {
		return nil
	}
	first := rs[0]
	for _, r := range rs {
		if r.Skipped == "" {
			first = r
			break
		}
	}
	if first.Skipped == "" {
		fmt.Fprintf(w, "%s  seed %d  runtime %s  %d replicas  sessions %s  users %d\n\n",
			first.Scenario, first.Seed, first.Runtime, first.App.Replicas, first.App.Sessions, first.Totals.Users)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "balancer\tstrategy\trequests\tlogin fail\tcauses\tsession loss\tdup ratio\tmax/mean\tcov\tjain\trequests per replica")
	for _, r := range rs {
		if r.Skipped != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n", r.Balancer.Kind, r.Balancer.Strategy, r.Skipped)
			continue
		}
		t := r.Totals
		perReplica := make([]string, len(r.Replicas))
		for i, rep := range r.Replicas {
			perReplica[i] = strconv.Itoa(rep.Requests)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Balancer.Kind, r.Balancer.Strategy, t.Requests,
			fig.Fmt(t.LoginFailRate), causes(r.FailureCauses), fig.Fmt(t.SessionLoss), fig.Fmt(t.DuplicateRatio),
			fig.Fmt(r.Skew.MaxOverMean), fig.Fmt(r.Skew.CoV), fig.Fmt(r.Skew.Jain), strings.Join(perReplica, "/"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rs {
		if len(r.Diagnosis) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s %s\n", r.Balancer.Kind, r.Balancer.Strategy)
		for _, f := range r.Diagnosis {
			fmt.Fprintf(w, "  %s\n", f.Line())
		}
	}
	for _, r := range rs {
		if line := interruption(r); line != "" {
			fmt.Fprintf(w, "\nINTERRUPTED %s %s: %s\n", r.Balancer.Kind, r.Balancer.Strategy, line)
		}
	}
	for _, r := range rs {
		for _, e := range r.Expectations {
			fmt.Fprintf(w, "%s  %s %s: %s %s  (got %s)\n", textMark(r, e), r.Balancer.Kind, r.Balancer.Strategy, e.Key, e.Want, fig.Fmt(e.Got))
		}
	}
	return nil
}

func causes(m map[string]int) string {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(m)) {
		if m[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, m[c]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// jsonList writes several reports (a comparison) as one indented JSON array.
func jsonList(w io.Writer, rs []*reports.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rs)
}

// balancerOf names what balanced the run: the kind and strategy the harness started, or a live target's URL, whose
// balancer is whatever serves it (the harness started none and saw none).
func balancerOf(r *reports.Report) string {
	if r.Target != "" {
		return "target " + r.Target + " (its balancer: whatever serves it)"
	}
	return r.Balancer.Kind + " " + r.Balancer.Strategy
}
