// Package clients simulates the users: who they are and where they connect from (the population), what they do
// (journeys), how each exchange is made (a browser with its own cookie jar whose every connection opens with a PROXY
// protocol header carrying the user's address), and the event log every exchange is written to. It runs what it is
// given in its own terms — a Crowd to draw, a Journey to walk, RunOptions — and knows nothing of the scenario file
// those come from, nor of how the replicas and the balancer are started.
package clients

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/internal/pause"
)

// Stats is what the executor counted itself, to check the event log against.
type Stats struct {
	Sent     int64 // requests sent
	Recorded int64 // events recorded
	Users    int   // users whose journey ran
	// Done counts the users whose journey ran to its end: all of Users, unless ctx ended and the grace ran out
	// while some were still in flight.
	Done int
}

// RunOptions tune the executor; the zero value is usable.
type RunOptions struct {
	Concurrency int           // users active at once; default 1
	Timeout     time.Duration // per request; default 30s
	Start       time.Time     // the run's time zero for events; default: when Run is called
	// Grace is how long the users in flight may go on once ctx ends (an interrupted run): no further user starts,
	// and when the grace runs out the requests still in flight are cancelled and recorded as interrupted
	// (events.OutcomeInterrupted). Zero cancels them at once.
	Grace time.Duration
	// How each user's address reaches the target. By default every connection opens with a PROXY protocol v1 header
	// announcing it. With Bind a connection comes from the address itself (a loopback address: users drawn with
	// Crowd.Loopback); with ForwardedFor it travels in an X-Forwarded-For header, for a balancer told to trust it;
	// with Anonymous it does not travel, and the target sees this machine's address for every user.
	Bind, ForwardedFor, Anonymous bool
	// Attribution, when set, names the replica that answered by a header or a cookie instead of ReplicaOf and
	// X-Replica.
	Attribution Attribution
	// UserDone, when set, is called (from the user's goroutine) after each user finished the journey: a progress
	// display counts users with it.
	UserDone func()
	// ReplicaOf names the replica at an upstream address, as the balancer reported it in the X-Sessionlab-Upstream
	// header; "" for an address it does not know. Without it, or without the header, answers are attributed by their
	// X-Replica header.
	ReplicaOf func(upstream string) string
}

// upstreamHeader is the response header the balancer sets to the address of the replica that answered (nginx's
// $upstream_addr: "a:1, b:2" when it tried more than one, the last answered): the harness's balancer.UpstreamHeader.
const upstreamHeader = "X-Sessionlab-Upstream"

// instanceHeader is the response header a balancer instance names itself in, in a tier of several behind an L4
// front (Event.Instance): the harness's balancer.InstanceHeader.
const instanceHeader = "X-Sessionlab-Instance"

// Run walks every user through the journey against the balancer at target (host:port, or an http(s) URL), at most
// opts.Concurrency users at once, in the order given. Every exchange is recorded with record (called from many goroutines at once) exactly once; Run returns
// an error when the count of events differs from the count of requests sent. When ctx ends, no further user starts,
// the users in flight have opts.Grace to finish, and then their requests in flight are cancelled (and recorded with
// outcome interrupted, not as errors); Run then returns ctx's error with the stats. A journey not compiled is
// compiled first; one that does not compile is an error before any user starts.
func Run(ctx context.Context, target string, users []User, j Journey, record func(events.Event), opts RunOptions) (Stats, error) {
	if j.flow == nil {
		if errs := j.Compile(""); len(errs) > 0 {
			return Stats{}, fmt.Errorf("journey: %w", errors.Join(errs...))
		}
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Start.IsZero() {
		opts.Start = time.Now()
	}
	clock := func() time.Duration { return time.Since(opts.Start) }

	var sent, recorded atomic.Int64
	counted := func(e events.Event) { recorded.Add(1); record(e) }
	next := make(chan User)
	var started, done atomic.Int64
	// The users' own context outlives ctx by the grace: an interruption stops the feed at once, and cuts the users
	// in flight only when the grace runs out.
	live, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	fed := make(chan struct{})
	defer close(fed)
	go func() {
		select {
		case <-ctx.Done():
		case <-fed:
			return
		}
		grace := time.NewTimer(opts.Grace)
		defer grace.Stop()
		select {
		case <-grace.C:
			cut()
		case <-fed:
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, opts.Concurrency)
	for range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range next {
				if ctx.Err() != nil {
					continue // handed over as ctx ended: it does not start
				}
				b, err := newBrowser(u, target, clock, &sent, counted, &opts)
				if err != nil {
					errs <- err
					return
				}
				b.upstreams = opts.ReplicaOf
				b.setAttribution(opts.Attribution)
				started.Add(1)
				j.run(live, b)
				b.close()
				if live.Err() != nil {
					continue // cut short by the interruption: not done
				}
				done.Add(1)
				if opts.UserDone != nil {
					opts.UserDone()
				}
			}
		}()
	}
feed:
	for _, u := range users {
		// A user who arrives later than now is waited for; all-at-once users have Start 0.
		if !pause.Sleep(ctx, time.Until(opts.Start.Add(u.Start))) || ctx.Err() != nil {
			break feed
		}
		select {
		case next <- u:
		case <-ctx.Done():
			break feed
		case err := <-errs:
			close(next)
			wg.Wait()
			return Stats{Sent: sent.Load(), Recorded: recorded.Load(), Users: int(started.Load()), Done: int(done.Load())}, err
		}
	}
	close(next)
	wg.Wait()
	st := Stats{Sent: sent.Load(), Recorded: recorded.Load(), Users: int(started.Load()), Done: int(done.Load())}
	select {
	case err := <-errs:
		return st, err
	default:
	}
	if st.Sent != st.Recorded {
		return st, fmt.Errorf("event log incomplete: %d requests sent, %d events recorded", st.Sent, st.Recorded)
	}
	return st, ctx.Err()
}
