package render

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/render/internal/svg"
)

// The single-run renderers show the report's first witness (reports.Witness: the most frequent cause's lowest
// user): text and JUnit as one line per exchange, Markdown as a table, HTML as a sequence diagram.

// witnessMark marks the exchange that went wrong in the text forms.
const witnessMark = ">"

// firstWitness is the witness the renderers show, nil when the report has none.
func firstWitness(r *reports.Report) *reports.Witness {
	if len(r.Witnesses) == 0 {
		return nil
	}
	return &r.Witnesses[0]
}

// witnessTitle is e.g. "user 7's loop: exchange 3 of 4 went wrong".
func witnessTitle(w *reports.Witness) string {
	return fmt.Sprintf("user %d's %s: exchange %d of %d went wrong", w.User, w.Cause, w.Failed+1, len(w.Exchanges))
}

// otherWitnesses is e.g. "other witnesses in the JSON report: loop users 9, 12; error user 3", or "".
func otherWitnesses(r *reports.Report) string {
	var causes []string
	users := map[string][]string{}
	for _, w := range r.Witnesses[1:] {
		if _, ok := users[w.Cause]; !ok {
			causes = append(causes, w.Cause)
		}
		users[w.Cause] = append(users[w.Cause], strconv.Itoa(w.User))
	}
	if len(causes) == 0 {
		return ""
	}
	parts := make([]string, len(causes))
	for i, c := range causes {
		noun := "users"
		if len(users[c]) == 1 {
			noun = "user"
		}
		parts[i] = fmt.Sprintf("%s %s %s", c, noun, strings.Join(users[c], ", "))
	}
	return "other witnesses in the JSON report: " + strings.Join(parts, "; ")
}

// omittedNote is e.g. "… 12 exchanges left out".
func omittedNote(n int) string {
	if n == 1 {
		return "… 1 exchange left out"
	}
	return fmt.Sprintf("… %d exchanges left out", n)
}

// request is e.g. "GET /login", or "GET idp.test/authorize" for another host than the balancer.
func request(e events.Event) string {
	return strings.TrimSpace(e.Method + " " + e.Host + e.Path)
}

// answer is e.g. "302 /login", or "no answer".
func answer(e events.Event) string {
	if e.Status == 0 {
		return "no answer"
	}
	return strings.TrimSpace(strconv.Itoa(e.Status) + " " + e.Location)
}

// answeredBy is e.g. "replica-2 (haproxy-1)", "replica-3 after replica-2", or "-" when no replica answered.
func answeredBy(e events.Event) string {
	s := e.Replica
	if s == "" {
		s = "-"
	}
	if e.Instance != "" {
		s += " (" + e.Instance + ")"
	}
	if e.Failover != "" {
		s += " after " + e.Failover
	}
	return s
}

// cookieNote is e.g. "sent sid:1a2b3c4d  set sid:-", or "".
func cookieNote(e events.Event) string {
	return strings.TrimSpace(cookies("sent", e.Sent) + "  " + cookies("set", e.Set))
}

func cookies(verb string, tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return verb + " " + strings.Join(tags, ",")
}

// outcomeNote is the outcome, the error and why a new connection opened: e.g. "error: connection refused (new
// connection: closed)". A user's first connection goes without saying.
func outcomeNote(e events.Event) string {
	s := e.Outcome
	if e.Error != "" {
		s += ": " + e.Error
	}
	if c := connNote(e); c != "" {
		s += " (" + c + ")"
	}
	return s
}

// connNote is e.g. "new connection: closed" for an exchange that opened a connection for another reason than
// being the user's first; "" otherwise.
func connNote(e events.Event) string {
	if e.Conn == "" || e.Conn == "first" {
		return ""
	}
	return "new connection: " + e.Conn
}

// witnessText writes the first witness as a heading and one indented line per exchange, the one that went wrong
// marked; nothing without a witness.
func witnessText(w io.Writer, r *reports.Report) error {
	wi := firstWitness(r)
	if wi == nil {
		return nil
	}
	const indent = "  "
	fmt.Fprintf(w, "witness: %s (marked %s)\n", witnessTitle(wi), witnessMark)
	if other := otherWitnesses(r); other != "" {
		fmt.Fprintf(w, "%s%s\n", indent, other)
	}
	var lines bytes.Buffer
	tw := tabwriter.NewWriter(&lines, 0, 0, 2, ' ', 0)
	for i, e := range wi.Exchanges {
		if wi.Omitted > 0 && i == wi.OmittedAt {
			// Every column, so that the lines before and after stay aligned.
			fmt.Fprintf(tw, "%s \t…\t%s\t\t\t\n", indent, strings.TrimPrefix(omittedNote(wi.Omitted), "… "))
		}
		mark := " "
		if i == wi.Failed {
			mark = witnessMark
		}
		fmt.Fprintf(tw, "%s%s\t%d ms\t%s → %s\t%s\t%s\t%s\n", indent, mark, e.TMs, request(e), answer(e), answeredBy(e),
			cookieNote(e), outcomeNote(e))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for line := range strings.Lines(lines.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil { // empty cells pad nothing
			return err
		}
	}
	return nil
}

// witnessString is witnessText into a string, for JUnit's failure bodies.
func witnessString(r *reports.Report) string {
	var b strings.Builder
	_ = witnessText(&b, r) // a strings.Builder does not fail
	return b.String()
}

// mdWitness writes the first witness as a table, the row that went wrong marked ❌; nothing without a witness.
func mdWitness(w io.Writer, r *reports.Report) {
	wi := firstWitness(r)
	if wi == nil {
		return
	}
	fmt.Fprintf(w, "\n**Witness**: %s (❌)", witnessTitle(wi))
	if other := otherWitnesses(r); other != "" {
		fmt.Fprintf(w, "; %s", other)
	}
	fmt.Fprint(w, "\n\n")
	mdTable(w, []string{"", "t (ms)", "request", "answer", "replica", "sent", "set", "outcome"}, "---", func(row func(cells ...string)) {
		for i, e := range wi.Exchanges {
			if wi.Omitted > 0 && i == wi.OmittedAt {
				row("", "", omittedNote(wi.Omitted), "", "", "", "", "")
			}
			mark := ""
			if i == wi.Failed {
				mark = "❌"
			}
			row(mark, strconv.FormatInt(e.TMs, 10), request(e), answer(e), answeredBy(e), strings.Join(e.Sent, ", "),
				strings.Join(e.Set, ", "), outcomeNote(e))
		}
	})
}

// witnessTemplate is the run page's witness section.
var witnessTemplate = template.Must(template.New("witness").Parse(`<h2>Witness</h2>
<p class="witness">The first users a failure hit, with their exchanges as the event log recorded them: here {{.Title}}, in red.{{with .Other}} {{.}}.{{end}}</p>
{{.Diagram}}`))

// witnessHTML is the run page's section of the first witness: a caption and the sequence diagram; "" without a
// witness.
func witnessHTML(r *reports.Report) (template.HTML, error) {
	wi := firstWitness(r)
	if wi == nil {
		return "", nil
	}
	var buf bytes.Buffer
	err := witnessTemplate.Execute(&buf, struct {
		Title, Other string
		Diagram      template.HTML
	}{witnessTitle(wi), strings.Replace(otherWitnesses(r), "other", "Other", 1), // a sentence of its own here
		template.HTML(witnessSVG(wi, r.Replicas))}) // numbers and esc'd strings only
	return template.HTML(buf.String()), err
}

// witnessSVG draws a witness as a sequence diagram: a lane for the browser, the balancer, each replica that
// answered (in the report's replica order) and any other host the browser went to (an identity provider); per
// exchange an arrow from the browser to whoever answered, through the balancer, and one back, the request's
// cookies over the first and the answer's over the second. The exchange that went wrong is drawn red on a red
// band, in a group of class "failed"; left-out exchanges are a dotted gap.
func witnessSVG(w *reports.Witness, reps []reports.Replica) string {
	d := svg.Sequence{ID: "witness", Title: "Witness: " + witnessTitle(w),
		Desc: fmt.Sprintf("A sequence diagram of user %d's exchanges: the browser, the balancer and each replica; the exchange that went wrong is red.", w.User)}
	// Lanes past the balancer: replicas in the report's order, then other names and hosts as they come.
	seen := map[string]bool{}
	add := func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
			d.Lanes = append(d.Lanes, name)
		}
	}
	inWitness := map[string]bool{}
	for _, e := range w.Exchanges {
		inWitness[e.Replica] = true
	}
	for _, rep := range reps {
		if inWitness[rep.Name] {
			add(rep.Name)
		}
	}
	for _, e := range w.Exchanges {
		if e.Host != "" {
			add(e.Host)
		} else {
			add(e.Replica)
		}
	}
	if w.Omitted > 0 {
		d.Gap, d.GapAt = omittedNote(w.Omitted), w.OmittedAt
	}
	for i, e := range w.Exchanges {
		row := svg.Row{TMs: e.TMs, Outcome: e.Outcome, To: cmp.Or(e.Host, e.Replica), ThroughBalancer: e.Host == "" && e.Replica != "",
			Instance: e.Instance, Request: label(request(e), cookies("sent", e.Sent), connNote(e)),
			Answer: label(answer(e), cookies("set", e.Set)), Note: e.Error, Failed: i == w.Failed}
		if row.Failed {
			row.Outcome = "✘ " + row.Outcome
		}
		if e.Failover != "" {
			row.Note = strings.TrimSpace("after " + e.Failover + " " + e.Error)
		}
		d.Rows = append(d.Rows, row)
	}
	return d.Draw()
}

// label joins the parts that are not empty with " · ".
func label(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " · ")
}
