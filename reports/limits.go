package reports

import (
	"fmt"
	"strings"
)

// harnessFigures says whether the harness's own parts broke the run: what their logs said of their limits (the
// balancer record's), and the exchanges marked harness_limit.
func (a *Accumulator) harnessFigures(r *Report) {
	if a.balancer != nil && len(a.balancer.Limits) > 0 {
		r.HarnessLimits = a.balancer.Limits
	}
	if len(r.HarnessLimits) == 0 && r.Totals.HarnessLimit == 0 {
		return
	}
	r.Invalid = fmt.Sprintf("the harness's own parts ran out (%s); %d exchanges broke on it and count as harness_limit: "+
		"these figures are the harness's, not the system's", limitsSaid(r), r.Totals.HarnessLimit)
}

// limitsSaid names each limit a part ran out of: "balancer: worker_connections, 37 lines from 2.1 s to 3.4 s".
func limitsSaid(r *Report) string {
	if len(r.HarnessLimits) == 0 {
		return "no part's log said which limit; its failed connections did"
	}
	var said []string
	for _, h := range r.HarnessLimits {
		said = append(said, fmt.Sprintf("%s: %s, %d lines from %.1f s to %.1f s", h.Part, h.Limit, h.Lines,
			float64(h.FirstMs)/1000, float64(h.LastMs)/1000))
	}
	return strings.Join(said, "; ")
}

// harnessLimits is the first finding of a run whose own parts ran out: nothing after it measures the system.
func (d *diagnosis) harnessLimits() {
	if d.r.Invalid == "" {
		return
	}
	d.add("harness-limit", "These figures are the harness's, not the system's: "+limitsSaid(d.r)+fmt.Sprintf(
		"; %d exchanges broke on it (harness_limit). Nothing below measures the app or the balancer.", d.r.Totals.HarnessLimit),
		fixHarnessLimit)
}
