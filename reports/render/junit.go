package render

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/fig"
)

// The JUnit XML that Jenkins, GitLab and GitHub's test reporters all read. Bodies go out as CDATA so that the
// multi-line texts stay readable in the file instead of turning into character references.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitReport writes r as a JUnit report: one suite for the run with a "run" case, which passes because the run
// finished (an error when it was interrupted), and a case per expectation that fails when the expectation is unmet,
// its body carrying the diagnosis and the first witness (skipped, not judged, on an interrupted run).
func junitReport(w io.Writer, r *reports.Report) error {
	class := "sessionlab." + r.Scenario
	run := junitCase{Classname: class, Name: "run", Time: "0", SystemOut: &junitText{junitHeadline(r)}, Error: junitInterrupted(r)}
	cases := append([]junitCase{run}, junitExpectations(class, r)...)
	// A failure carries the first witness too: what one user's exchanges looked like when it went wrong.
	if witness := witnessString(r); witness != "" {
		for i := range cases {
			if f := cases[i].Failure; f != nil {
				f.Text += "\n" + witness
			}
		}
	}
	suite := junitSuiteOf(runName(r.Scenario, r), cases)
	return writeJUnit(w, junitSuitesOf("sessionlab "+r.Scenario, []junitSuite{suite}))
}

// junitCompare writes a comparison as a JUnit report with one suite per variant. Each suite has a case for
// the variant, failing when any of its expectations is unmet, and a case per expectation; a skipped variant is a
// suite with one skipped case saying why.
func junitCompare(w io.Writer, rs []*reports.Report) error {
	// A skipped variant carries no scenario name; the ones that ran say which scenario it was.
	scenario := ""
	if first := firstRun(rs); first != nil {
		scenario = first.Scenario
	}
	suites := make([]junitSuite, 0, len(rs))
	for _, r := range rs {
		name := runName(scenario, r)
		// The variant in the class name keeps the same expectation of different variants apart in the reporters,
		// which key cases on class and name.
		class := "sessionlab." + scenario + "." + r.Balancer.Kind + "-" + r.Balancer.Strategy
		variant := junitCase{Classname: class, Name: name, Time: "0"}
		if r.Skipped != "" {
			variant.Skipped = &junitSkipped{Message: r.Skipped}
			suites = append(suites, junitSuiteOf(name, []junitCase{variant}))
			continue
		}
		variant.SystemOut = &junitText{junitHeadline(r)}
		if variant.Error = junitInterrupted(r); variant.Error != nil {
			suites = append(suites, junitSuiteOf(name, append([]junitCase{variant}, junitExpectations(class, r)...)))
			continue
		}
		var unmet []string
		for _, e := range r.Expectations {
			if !e.OK {
				unmet = append(unmet, fmt.Sprintf("%s = %s (want %s)", e.Key, fig.Fmt(e.Got), e.Want))
			}
		}
		if len(unmet) > 0 {
			msg := fmt.Sprintf("%d of %d expectations unmet: %s", len(unmet), len(r.Expectations), strings.Join(unmet, "; "))
			variant.Failure = &junitFailure{Message: msg, Type: "expectation", Text: msg + "\n" + junitDiagnosis(r)}
		}
		suites = append(suites, junitSuiteOf(name, append([]junitCase{variant}, junitExpectations(class, r)...)))
	}
	return writeJUnit(w, junitSuitesOf("sessionlab "+scenario, suites))
}

// runName is "scenario kind strategy", the name both a suite and a comparison's variant case go by.
func runName(scenario string, r *reports.Report) string {
	return strings.TrimSpace(scenario + " " + r.Balancer.Kind + " " + r.Balancer.Strategy)
}

// junitExpectations is a case per expectation, named by the figure and its bound so that a CI history of the case
// follows the same bound across runs.
func junitExpectations(class string, r *reports.Report) []junitCase {
	cases := make([]junitCase, 0, len(r.Expectations))
	for _, e := range r.Expectations {
		c := junitCase{Classname: class, Name: e.Key + " " + e.Want, Time: "0"}
		if r.Interrupted {
			c.Skipped = &junitSkipped{Message: fmt.Sprintf("not judged: the run was interrupted (%s = %s so far)", e.Key, fig.Fmt(e.Got))}
			cases = append(cases, c)
			continue
		}
		if !e.OK {
			msg := fmt.Sprintf("%s = %s, want %s", e.Key, fig.Fmt(e.Got), e.Want)
			text := msg + "\n"
			if e.Got == nil {
				text += "The figure could not be computed: its denominator is zero, so the run had nothing to measure it on.\n"
			}
			c.Failure = &junitFailure{Message: msg, Type: "expectation", Text: text + junitDiagnosis(r)}
		}
		cases = append(cases, c)
	}
	return cases
}

// junitInterrupted is the run case's error on an interrupted run: the run did not finish, which is neither a pass
// nor an expectation unmet. nil for a run that finished.
func junitInterrupted(r *reports.Report) *junitFailure {
	line := interruption(r)
	if line == "" {
		return nil
	}
	msg := "the run was interrupted " + line
	return &junitFailure{Message: msg, Type: "interrupted", Text: msg + "\n" + junitDiagnosis(r)}
}

// junitDiagnosis is the diagnosis as lines, for a failure's body: the reader of a red CI case wants the why next
// to the what.
func junitDiagnosis(r *reports.Report) string {
	var b strings.Builder
	for _, f := range r.Diagnosis {
		b.WriteString(f.Line() + "\n")
	}
	return b.String()
}

// junitHeadline is the run's headline figures, for the passing case's output.
func junitHeadline(r *reports.Report) string {
	t := r.Totals
	var b strings.Builder
	fmt.Fprintf(&b, "%s seed %d runtime %s %s, %d replicas, sessions %s\n", r.Scenario, r.Seed, r.Runtime,
		balancerOf(r), r.App.Replicas, r.App.Sessions)
	fmt.Fprintf(&b, "users %d requests %d errors %d%s\n", t.Users, t.Requests, t.Errors, interruptedCount(t.Figures))
	fmt.Fprintf(&b, "login_failure_rate %s (%d of %d), causes: %s\n", fig.Fmt(t.LoginFailRate), t.LoginFailures, t.LoginAttempts, causes(r.FailureCauses))
	fmt.Fprintf(&b, "session_loss_rate %s (%d of %d)\n", fig.Fmt(t.SessionLoss), t.SessionLosses, t.PageRequests)
	fmt.Fprintf(&b, "users_in_login_loop %d affected_users %d duplicate_session_ratio %s\n", t.UsersInLoginLoop, t.AffectedUsers, fig.Fmt(t.DuplicateRatio))
	fmt.Fprintf(&b, "skew max_over_mean %s jain %s, stickiness mean %s\n", fig.Fmt(r.Skew.MaxOverMean), fig.Fmt(r.Skew.Jain), fig.Fmt(r.Stickiness.Mean))
	b.WriteString(junitDiagnosis(r))
	return b.String()
}

func junitSuiteOf(name string, cases []junitCase) junitSuite {
	s := junitSuite{Name: name, Tests: len(cases), Cases: cases}
	for _, c := range cases {
		if c.Failure != nil {
			s.Failures++
		}
		if c.Error != nil {
			s.Errors++
		}
		if c.Skipped != nil {
			s.Skipped++
		}
	}
	return s
}

func junitSuitesOf(name string, suites []junitSuite) junitSuites {
	all := junitSuites{Name: strings.TrimSpace(name), Suites: suites}
	for _, s := range suites {
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Skipped += s.Skipped
	}
	return all
}

func writeJUnit(w io.Writer, s junitSuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
