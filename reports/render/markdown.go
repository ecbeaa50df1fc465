package render

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/fig"
)

// markdownReport writes r as GitHub-flavoured Markdown short enough for a pull-request comment: a heading, the
// headline figures, the diagnosis, the expectations, then the replica, phase and fault details.
func markdownReport(w io.Writer, r *reports.Report) error {
	// Writes go to a buffer so that only the flush can fail; checking every Fprintf would bury the layout.
	bw := bufio.NewWriter(w)
	t := r.Totals

	config := ""
	if r.Balancer.Config != "" {
		config = " (config `" + r.Balancer.Config + "`)"
	}
	fmt.Fprintf(bw, "### sessionlab: %s · %s%s · %d replicas · sessions %s · runtime %s · seed %d\n\n",
		r.Scenario, balancerOf(r), config, r.App.Replicas, r.App.Sessions, r.Runtime, r.Seed)
	if line := interruption(r); line != "" {
		fmt.Fprintf(bw, "> **Interrupted** %s.\n\n", mdLine(line))
	}

	rows := [][2]string{
		{"users / requests / errors", fmt.Sprintf("%d / %d / %d%s", t.Users, t.Requests, t.Errors, interruptedCount(t.Figures))},
		{"login failure rate", fmt.Sprintf("**%s** (%d of %d attempts)", fig.Fmt(t.LoginFailRate), t.LoginFailures, t.LoginAttempts)},
		{"failure causes", causes(r.FailureCauses)},
		{"session loss rate", fmt.Sprintf("**%s** (%d of %d pages)", fig.Fmt(t.SessionLoss), t.SessionLosses, t.PageRequests)},
		{"users in login loop", strconv.Itoa(t.UsersInLoginLoop)},
		{"affected users", fmt.Sprintf("%d of %d", t.AffectedUsers, t.Users)},
		{"duplicate session ratio", fmt.Sprintf("%s (%d silent re-authentications)", fig.Fmt(t.DuplicateRatio), t.SilentReauths)},
		{"skew", fmt.Sprintf("max/mean %s · jain %s", fig.Fmt(r.Skew.MaxOverMean), fig.Fmt(r.Skew.Jain))},
		{"stickiness mean", fmt.Sprintf("%s (%s of users at 1.0)", fig.Fmt(r.Stickiness.Mean), fig.Fmt(r.Stickiness.ShareAtOne))},
	}
	if st := r.Store; st != nil {
		v := fmt.Sprintf("%s: %d held for %d users logged in, %d issued, %d csrf refusals, %d bad cookies",
			st.Kind, st.Sessions, t.UsersLoggedIn, st.SessionsCreated, st.CSRFRefusals, st.BadCookies)
		if len(st.Unread) > 0 {
			v += " (unread: " + strings.Join(st.Unread, ", ") + ")"
		}
		rows = append(rows, [2]string{"store", v})
	}
	if ws := r.WebSocket; ws != nil {
		rows = append(rows, [2]string{"websocket", fmt.Sprintf("%d connections, %d errors, state lost on %d of %d reconnects (%s)",
			ws.Connections, ws.Errors, ws.StateLost, ws.Reconnects, fig.Fmt(ws.StateLossRate))})
	}
	if t.Connections != nil {
		rows = append(rows, [2]string{"connections", connections(t)})
	}
	mdTable(bw, []string{"figure", "value"}, "---", func(row func(cells ...string)) {
		for _, kv := range rows {
			row(kv[0], kv[1])
		}
	})

	if len(r.Diagnosis) > 0 {
		fmt.Fprintf(bw, "\n**Diagnosis.** %s\n", mdFindings(r.Diagnosis))
	}
	mdWitness(bw, r)

	if len(r.Expectations) > 0 {
		if r.Interrupted {
			fmt.Fprintf(bw, "\n**Expectations** (not judged: the run was interrupted)\n\n")
		} else {
			fmt.Fprintf(bw, "\n**Expectations** (%d of %d met)\n\n", metCount(r.Expectations), len(r.Expectations))
		}
		for _, e := range r.Expectations {
			fmt.Fprintf(bw, "- %s\n", mdExpectation(r, e))
		}
	}

	if len(r.Replicas) > 0 {
		fmt.Fprintln(bw)
		mdTable(bw, []string{"replica", "requests", "share", "users"}, "--:", func(row func(cells ...string)) {
			for _, rep := range r.Replicas {
				row(rep.Name, strconv.Itoa(rep.Requests), fig.Fmt(rep.Share), strconv.Itoa(rep.Users))
			}
		})
	}

	if tr := r.Tier; tr != nil {
		fmt.Fprintf(bw, "\n**Balancer tier**: %s; session losses %s\n\n", tierSummary(tr), lossSplit(tr))
		mdTable(bw, []string{"instance", "requests", "share", "users", "errors", "connections"}, "--:", func(row func(cells ...string)) {
			for _, in := range tr.Instances {
				row(in.Name, strconv.Itoa(in.Requests), fig.Fmt(in.Share), strconv.Itoa(in.Users), strconv.Itoa(in.Errors),
					strconv.Itoa(in.Connections))
			}
		})
	}

	if len(r.Phases) > 0 {
		mdPhases(bw, r.Phases, r.Totals.Connections != nil)
	}
	if len(r.Faults) > 0 {
		fmt.Fprintln(bw)
		for _, f := range r.Faults {
			fmt.Fprintf(bw, "- %s\n", faultLine(f, r.Tier))
		}
	}
	return bw.Flush()
}

// mdPhases writes the phase table, with the connections closed when the log records why connections opened.
func mdPhases(w io.Writer, phases []reports.Phase, conns bool) {
	header := []string{"phase", "ms", "requests", "login fail", "session loss", "users lost", "errors"}
	if conns {
		header = append(header, "conns closed")
	}
	fmt.Fprintln(w, "\n**Phases**")
	fmt.Fprintln(w)
	mdTable(w, append(header, "requests per replica"), "--:", func(row func(cells ...string)) {
		for _, p := range phases {
			cells := []string{p.Name, fmt.Sprintf("%d–%d", p.FromMs, p.ToMs), strconv.Itoa(p.Requests),
				fmt.Sprintf("%d (%s)", p.LoginFailures, fig.Fmt(p.LoginFailRate)),
				fmt.Sprintf("%d (%s)", p.SessionLosses, fig.Fmt(p.SessionLoss)),
				strconv.Itoa(p.UsersWithLoss), strconv.Itoa(p.Errors)}
			if conns {
				cells = append(cells, strconv.Itoa(p.ConnectionsClosed))
			}
			row(append(cells, phaseReplicas(p.Replicas))...)
		}
	})
}

// markdownCompare writes the reports of one scenario run under several balancer and strategy variants: the matrix
// of login failure rates by strategy and balancer (mdMatrix), one table with a row per variant (a skipped variant
// says why), then each variant's diagnosis and expectations.
func markdownCompare(w io.Writer, rs []*reports.Report) error {
	if len(rs) == 0 {
		return nil
	}
	bw := bufio.NewWriter(w)
	if first := firstRun(rs); first != nil {
		fmt.Fprintf(bw, "### sessionlab: %s · %d variants · %d replicas · sessions %s · %d users · runtime %s · seed %d\n\n",
			first.Scenario, len(rs), first.App.Replicas, first.App.Sessions, first.Totals.Users, first.Runtime, first.Seed)
	} else {
		fmt.Fprintf(bw, "### sessionlab: %d variants, none run\n\n", len(rs))
	}
	mdMatrix(bw, rs)

	header := []string{"balancer", "strategy", "requests", "login failure rate", "causes", "session loss", "dup ratio",
		"max/mean", "jain", "requests per replica"}
	mdTable(bw, header, "---", func(row func(cells ...string)) {
		for _, r := range rs {
			if r.Skipped != "" {
				row(r.Balancer.Kind, r.Balancer.Strategy, "skipped: "+r.Skipped, "-", "-", "-", "-", "-", "-", "-")
				continue
			}
			t := r.Totals
			perReplica := make([]string, len(r.Replicas))
			for i, rep := range r.Replicas {
				perReplica[i] = strconv.Itoa(rep.Requests)
			}
			row(r.Balancer.Kind, r.Balancer.Strategy, strconv.Itoa(t.Requests),
				fmt.Sprintf("%s (%d/%d)", fig.Fmt(t.LoginFailRate), t.LoginFailures, t.LoginAttempts), causes(r.FailureCauses),
				fmt.Sprintf("%s (%d/%d)", fig.Fmt(t.SessionLoss), t.SessionLosses, t.PageRequests), fig.Fmt(t.DuplicateRatio),
				fig.Fmt(r.Skew.MaxOverMean), fig.Fmt(r.Skew.Jain), strings.Join(perReplica, "/"))
		}
	})

	for _, r := range rs {
		if line := interruption(r); line != "" {
			fmt.Fprintf(bw, "\n> **%s %s interrupted** %s.\n", r.Balancer.Kind, r.Balancer.Strategy, mdLine(line))
		}
	}
	wroteHead := false
	for _, r := range rs {
		if r.Skipped != "" || len(r.Diagnosis) == 0 {
			continue
		}
		if !wroteHead {
			fmt.Fprintln(bw, "\n**Diagnosis**")
			fmt.Fprintln(bw)
			wroteHead = true
		}
		fmt.Fprintf(bw, "- **%s %s**: %s\n", r.Balancer.Kind, r.Balancer.Strategy, mdFindings(r.Diagnosis))
	}

	met, all := 0, 0
	for _, r := range rs {
		if r.Skipped != "" || len(r.Expectations) == 0 {
			continue
		}
		if all == 0 {
			fmt.Fprintln(bw, "\n**Expectations**")
			fmt.Fprintln(bw)
		}
		parts := make([]string, len(r.Expectations))
		for i, e := range r.Expectations {
			parts[i] = mdExpectation(r, e)
		}
		fmt.Fprintf(bw, "- **%s %s**: %s\n", r.Balancer.Kind, r.Balancer.Strategy, strings.Join(parts, " · "))
		met += metCount(r.Expectations)
		all += len(r.Expectations)
	}
	if all > 0 {
		fmt.Fprintf(bw, "\n%d of %d expectations met\n", met, all)
	}
	return bw.Flush()
}

// firstRun is the first report that was run, the one a comparison's heading describes; nil when all were skipped.
func firstRun(rs []*reports.Report) *reports.Report {
	for _, r := range rs {
		if r.Skipped == "" {
			return r
		}
	}
	return nil
}

func metCount(exps []reports.Expectation) int {
	n := 0
	for _, e := range exps {
		if e.OK {
			n++
		}
	}
	return n
}

// mdExpectation is e.g. "❌ `login_failure_rate < 0.01` got 0.670" (⏸️ on an interrupted run: not judged). The
// bound sits in a code span so that a want such as "> 0.5" cannot turn into Markdown.
func mdExpectation(r *reports.Report, e reports.Expectation) string {
	mark := "✅"
	switch {
	case r.Interrupted:
		mark = "⏸️"
	case !e.OK:
		mark = "❌"
	}
	return fmt.Sprintf("%s `%s %s` got %s", mark, e.Key, e.Want, fig.Fmt(e.Got))
}

// mdFindings joins the findings into one paragraph, each followed by the fixes that fit it.
func mdFindings(fs []reports.Finding) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		s := mdLine(f.Text)
		if len(f.Fixes) > 0 {
			s += " (Fixes: " + mdLine(strings.Join(f.Fixes, "; ")) + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// mdTable writes a table; every cell is escaped, so callers pass plain text. align is the delimiter of every
// column after the first ("---" or "--:"); the first column is always a label.
func mdTable(w io.Writer, header []string, align string, body func(row func(cells ...string))) {
	row := func(cells ...string) {
		escaped := make([]string, len(cells))
		for i, c := range cells {
			escaped[i] = mdCell(c)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(escaped, " | "))
	}
	row(header...)
	delims := make([]string, len(header))
	for i := range delims {
		delims[i] = align
	}
	delims[0] = "---"
	fmt.Fprintf(w, "|%s|\n", strings.Join(delims, "|"))
	body(row)
}

// mdCell keeps a value inside its table cell: a bare pipe would end the cell, a line break the row.
func mdCell(s string) string {
	return strings.ReplaceAll(mdLine(s), "|", `\|`)
}

// mdLine folds line breaks, which would end a list item or split a paragraph, into spaces.
func mdLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
