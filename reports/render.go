package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Formats a report can be rendered in.
var Formats = []string{"text", "json"}

// Render writes r in format (one of Formats).
func Render(w io.Writer, format string, r *Report) error {
	switch format {
	case "text":
		return RenderText(w, r)
	case "json":
		return RenderJSON(w, r)
	}
	return fmt.Errorf("format %q is not known (allowed: %s)", format, strings.Join(Formats, ", "))
}

// RenderJSON writes the v1 report JSON, indented.
func RenderJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// RenderText writes the report as a short summary and a table per replica.
func RenderText(w io.Writer, r *Report) error {
	t := r.Totals
	fmt.Fprintf(w, "%s  seed %d  runtime %s  %s %s  %d replicas  sessions %s\n\n",
		r.Scenario, r.Seed, r.Runtime, r.Balancer.Kind, r.Balancer.Strategy, r.App.Replicas, r.App.Sessions)
	fmt.Fprintf(w, "users %d  requests %d  errors %d\n", t.Users, t.Requests, t.Errors)
	fmt.Fprintf(w, "logins    %d attempts, %d failed (rate %s)  causes: %s\n", t.LoginAttempts, t.LoginFailures, fig(t.LoginFailRate), causes(r.FailureCauses))
	fmt.Fprintf(w, "sessions  %d of %d protected pages lost (rate %s)\n", t.SessionLosses, t.PageRequests, fig(t.SessionLoss))
	fmt.Fprintf(w, "          %d created for %d users logged in (duplicate ratio %s), %d silent re-authentications\n\n",
		t.SessionsCreated, t.UsersLoggedIn, fig(t.DuplicateRatio), t.SilentReauths)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "replica\trequests\tshare\tusers\t")
	for _, rep := range r.Replicas {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t\n", rep.Name, rep.Requests, fig(rep.Share), rep.Users)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "skew: max/mean %s  cov %s  jain %s\n", fig(r.Skew.MaxOverMean), fig(r.Skew.CoV), fig(r.Skew.Jain))
	return renderExpectations(w, r.Expectations)
}

func renderExpectations(w io.Writer, exps []Expectation) error {
	if len(exps) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nexpectations")
	for _, e := range exps {
		mark := "ok  "
		if !e.OK {
			mark = "FAIL"
		}
		if _, err := fmt.Fprintf(w, "  %s  %s %s  (got %s)\n", mark, e.Key, e.Want, fig(e.Got)); err != nil {
			return err
		}
	}
	return nil
}

// RenderCompare writes one row per report, side by side, for runs of one scenario under different strategies.
func RenderCompare(w io.Writer, rs []*Report) error {
	if len(rs) == 0 {
		return nil
	}
	first := rs[0]
	fmt.Fprintf(w, "%s  seed %d  runtime %s  %d replicas  sessions %s  users %d\n\n",
		first.Scenario, first.Seed, first.Runtime, first.App.Replicas, first.App.Sessions, first.Totals.Users)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "balancer\tstrategy\trequests\tlogin fail\tcauses\tsession loss\tdup ratio\tmax/mean\tcov\tjain\trequests per replica")
	for _, r := range rs {
		t := r.Totals
		perReplica := make([]string, len(r.Replicas))
		for i, rep := range r.Replicas {
			perReplica[i] = strconv.Itoa(rep.Requests)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Balancer.Kind, r.Balancer.Strategy, t.Requests,
			fig(t.LoginFailRate), causes(r.FailureCauses), fig(t.SessionLoss), fig(t.DuplicateRatio),
			fig(r.Skew.MaxOverMean), fig(r.Skew.CoV), fig(r.Skew.Jain), strings.Join(perReplica, "/"))
	}
	return tw.Flush()
}

// fig prints a figure with three decimals, or "n/a" when it could not be computed.
func fig(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}

func causes(m map[string]int) string {
	var parts []string
	for _, c := range sortedKeys(m) {
		if m[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, m[c]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// RenderJSONList writes several reports (a comparison) as one indented JSON array.
func RenderJSONList(w io.Writer, rs []*Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rs)
}
