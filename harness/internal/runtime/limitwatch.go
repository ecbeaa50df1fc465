package runtime

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness/internal/balancer"
)

// LimitWatch reads the logs of the parts the harness started on the users' way to the app — every balancer
// instance, the front — for the lines that say one of them ran out of what the harness sized it with (nginx's
// "worker_connections are not enough", a "Too many open files", HAProxy's maxconn: each kind's limit_lines). An
// exchange that failed without the app's answer while such a line was new is the harness's own failure, never the
// system's (Broke).
type LimitWatch struct {
	clock func() time.Duration
	parts []watchedPart

	mu   sync.Mutex
	cond *sync.Cond
	// polling: a poll is under way; doneFrom is when the last finished poll began, so that a caller that must see
	// every line written before a moment waits for a poll begun after it.
	polling  bool
	doneFrom time.Duration
	// seenAt holds when limit lines were read (since the run started), once per read that found any, in order.
	seenAt []time.Duration
	hits   []events.LimitHit
	stop   chan struct{}
	done   chan struct{}
}

type watchedPart struct {
	part   LogFollower
	name   string
	kind   *balancer.Kind
	cursor LogCursor // where the last read of its log stopped: each line is read once
}

// limitPollEvery is how often the logs are read between the reads a failed exchange asks for: a line is stamped
// at most this late, which is what Broke's window allows for.
const limitPollEvery = 250 * time.Millisecond

// limitSlack is how long before an exchange began a limit line may have been read and still explain its failure:
// the poll's lateness, and a connection the part dropped just before the request went on it.
const limitSlack = time.Second

// WatchLimits starts reading the logs of the deployment's balancer instances (every set's) and front, clock being
// the run's time since its start, until Stop. A deployment with none (a live target), or whose parts cannot be
// followed (LogFollower: both runtimes' can), gives a watch that sees nothing.
func (d *Deployment) WatchLimits(clock func() time.Duration) *LimitWatch {
	w := &LimitWatch{clock: clock, stop: make(chan struct{}), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	watch := func(p Part, kind *balancer.Kind) {
		if f, ok := p.(LogFollower); ok {
			w.parts = append(w.parts, watchedPart{part: f, name: p.Name(), kind: kind})
		}
	}
	d.mu.Lock()
	for set, parts := range d.sets {
		for _, p := range parts {
			watch(p, d.kinds[set])
		}
	}
	if d.front != nil {
		if haproxy, err := balancer.Lookup("haproxy"); err == nil {
			watch(d.front, haproxy)
		}
	}
	d.mu.Unlock()
	if len(w.parts) == 0 {
		close(w.done)
		return w
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(limitPollEvery)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.pollAfter(context.Background(), w.clock())
			}
		}
	}()
	return w
}

// Broke reports whether an exchange that began at began (since the run started) and failed just now without an
// answer from the app was broken by a part the harness started: a limit line of one of them was read in the
// window from limitSlack before it began. It first reads every log once more, so that a line written before the
// exchange failed is seen.
func (w *LimitWatch) Broke(ctx context.Context, began time.Duration) bool {
	if len(w.parts) == 0 {
		return false
	}
	w.pollAfter(ctx, w.clock())
	w.mu.Lock()
	defer w.mu.Unlock()
	i, _ := slices.BinarySearch(w.seenAt, began-limitSlack)
	return i < len(w.seenAt)
}

// Stop ends the watch after a last read of every log, and returns what it saw: per part and limit, the lines that
// said it ran out.
func (w *LimitWatch) Stop(ctx context.Context) []events.LimitHit {
	if len(w.parts) > 0 {
		close(w.stop)
		<-w.done
		w.pollAfter(ctx, w.clock())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.hits)
}

// pollAfter returns once a read of every log that began at or after t has finished, making one if none is under
// way: many failed exchanges at once share one read.
func (w *LimitWatch) pollAfter(ctx context.Context, t time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.doneFrom < t || w.polling {
		if w.polling {
			w.cond.Wait()
			continue
		}
		w.polling = true
		from := w.clock()
		w.mu.Unlock()
		texts := make([]string, len(w.parts))
		for i := range w.parts {
			p := &w.parts[i] // its cursor is this poll's alone: polls take turns
			texts[i], p.cursor = p.part.LogsAfter(ctx, p.cursor)
		}
		w.mu.Lock()
		w.record(texts, from)
		w.polling, w.doneFrom = false, max(w.doneFrom, from)
		w.cond.Broadcast()
		if w.doneFrom < t { // the clock did not move (a coarse one): what was read is all there is
			break
		}
	}
}

// record counts the limit lines of what each part logged since the last read, stamping them with at.
func (w *LimitWatch) record(texts []string, at time.Duration) {
	for i := range w.parts {
		p := &w.parts[i]
		counts, samples := map[string]int{}, map[string]string{}
		for line := range strings.SplitSeq(texts[i], "\n") {
			if limit := p.kind.LimitIn(line); limit != "" {
				counts[limit]++
				samples[limit] = line
			}
		}
		for _, limit := range slices.Sorted(maps.Keys(counts)) {
			n := counts[limit]
			if len(w.seenAt) == 0 || w.seenAt[len(w.seenAt)-1] != at {
				w.seenAt = append(w.seenAt, at) // one stamp per read is all Broke needs
			}
			w.hit(p.name, limit, n, at, samples[limit])
		}
	}
}

func (w *LimitWatch) hit(part, limit string, n int, at time.Duration, sample string) {
	ms := at.Milliseconds()
	for i := range w.hits {
		if h := &w.hits[i]; h.Part == part && h.Limit == limit {
			h.Lines, h.LastMs, h.Sample = h.Lines+n, ms, sample
			return
		}
	}
	w.hits = append(w.hits, events.LimitHit{Part: part, Limit: limit, Lines: n, FirstMs: ms, LastMs: ms, Sample: sample})
}
