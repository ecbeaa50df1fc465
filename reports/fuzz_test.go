package reports_test

import (
	"bytes"
	"testing"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// FuzzReadLog feeds the report logs, whole, cut and corrupted. It never panics, and a report it computes holds
// together: no more failures than attempts, losses than pages, replica requests than requests, shares and rates
// between 0 and 1, and witnesses of their own users' failures, at most three per cause, each bounded.
func FuzzReadLog(f *testing.F) {
	for _, seed := range []struct {
		meta events.Meta
		evs  []events.Event
	}{{meta("replica-1", "replica-2", "replica-3"), runEvents()}, {faultMeta(killR2, scaleOut), withMarks()},
		// The records FuzzReadLog did not start from at first, which hid a reauth loss counted with no page.
		{faultMeta(killR2), []events.Event{
			{TMs: 1, User: 1, Step: events.StepPage, Outcome: events.OutcomeReauth, Replica: "replica-1"},
			{TMs: 2, User: 1, Step: events.StepReauth, Outcome: events.OutcomeLoss, Replica: "replica-2"},
			{TMs: 3, User: 1, Step: events.StepWS, Attempt: 2, Outcome: events.OutcomeOK, Replica: "replica-1"},
			{TMs: 4, User: -1, Step: events.StepStore, Store: &events.StoreStats{Kind: "memory", Sessions: 1}},
		}}} {
		var buf bytes.Buffer
		w, err := events.NewWriter(&buf, events.Header{Meta: seed.meta, Expect: map[string]string{"login_failure_rate": "< 0.5"}})
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range seed.evs {
			w.Record(e)
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
		f.Add(buf.Bytes()[:buf.Len()*2/3])
	}
	f.Fuzz(func(t *testing.T, log []byte) {
		rep, err := reports.ReadLog(bytes.NewReader(log))
		if err != nil {
			return
		}
		checkConsistent(t, rep)
	})
}

func checkConsistent(t *testing.T, rep *reports.Report) {
	t.Helper()
	tot := rep.Totals
	unit := func(name string, v *float64) {
		if v != nil && (*v < 0 || *v > 1) {
			t.Fatalf("%s %g is not between 0 and 1", name, *v)
		}
	}
	if tot.LoginFailures > tot.LoginAttempts {
		t.Fatalf("%d login failures of %d attempts", tot.LoginFailures, tot.LoginAttempts)
	}
	if tot.SessionLosses > tot.PageRequests {
		t.Fatalf("%d session losses of %d protected pages", tot.SessionLosses, tot.PageRequests)
	}
	if tot.Errors > tot.Requests {
		t.Fatalf("%d errors of %d requests", tot.Errors, tot.Requests)
	}
	unit("login_failure_rate", tot.LoginFailRate)
	unit("session_loss_rate", tot.SessionLoss)
	served := 0
	for _, r := range rep.Replicas {
		if r.Requests < 0 {
			t.Fatalf("replica %s served %d requests", r.Name, r.Requests)
		}
		served += r.Requests
		unit("share of "+r.Name, r.Share)
	}
	if served > tot.Requests {
		t.Fatalf("replicas served %d requests of %d", served, tot.Requests)
	}
	phased := 0
	for _, p := range rep.Phases {
		phased += p.Requests
		if p.LoginFailures > p.LoginAttempts || p.SessionLosses > p.PageRequests {
			t.Fatalf("phase %q: %d of %d logins failed, %d of %d pages lost", p.Name, p.LoginFailures, p.LoginAttempts, p.SessionLosses, p.PageRequests)
		}
	}
	if len(rep.Phases) > 0 && phased != tot.Requests {
		t.Fatalf("the phases hold %d requests, the run %d", phased, tot.Requests)
	}
	perCause := map[string]int{}
	for _, w := range rep.Witnesses {
		perCause[w.Cause]++
		if perCause[w.Cause] > 3 {
			t.Fatalf("%d witnesses of %s", perCause[w.Cause], w.Cause)
		}
		if len(w.Exchanges) > 20 || w.Failed < 0 || w.Failed >= len(w.Exchanges) {
			t.Fatalf("user %d's %s witness: %d exchanges, failed at %d", w.User, w.Cause, len(w.Exchanges), w.Failed)
		}
		if got := w.Exchanges[w.Failed].Outcome; got != w.Cause {
			t.Fatalf("user %d's %s witness fails with %s", w.User, w.Cause, got)
		}
		for _, e := range w.Exchanges {
			if e.User != w.User {
				t.Fatalf("user %d's %s witness holds an exchange of user %d", w.User, w.Cause, e.User)
			}
		}
	}
	unit("stickiness mean", rep.Stickiness.Mean)
	if j := rep.Skew.Jain; j != nil && (*j <= 0 || *j > 1.0000001) {
		t.Fatalf("jain %g", *j)
	}
}
