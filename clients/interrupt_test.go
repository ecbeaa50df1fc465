package clients_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
)

// When ctx ends, no further user starts; the users in flight have the grace to finish, and whatever is still in
// flight when it runs out is cut and recorded as interrupted, never as an error; every request sent is recorded once.
func TestRunInterruptedHonoursTheGrace(t *testing.T) {
	const users, concurrency = 12, 4
	tests := []struct {
		name       string
		grace      time.Duration
		release    time.Duration // how long after the cancel the blocked pages are answered
		cut, done  int
		wantErrors int
	}{
		{"no grace: the pages in flight are cut", 0, time.Hour, concurrency, 0, 0},
		{"a grace longer than the pages take: every user in flight finishes", 5 * time.Second, 50 * time.Millisecond, 0, concurrency, 0},
		{"a grace shorter than the pages take: they are cut when it runs out", 100 * time.Millisecond, time.Hour, concurrency, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := fakeapp.New(fakeapp.Config{Name: "replica-1"})
			var blocked atomic.Int64
			released := make(chan struct{})
			var releaseOnce sync.Once
			t.Cleanup(func() { releaseOnce.Do(func() { close(released) }) })
			srv := startProxyServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/page/2" {
					blocked.Add(1)
					select { // held until released, or the client gave up
					case <-released:
					case <-r.Context().Done():
						return
					}
				}
				app.ServeHTTP(w, r)
			}))
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				for blocked.Load() < concurrency {
					time.Sleep(time.Millisecond)
				}
				cancel()
				time.Sleep(tt.release)
				releaseOnce.Do(func() { close(released) })
			}()
			var mu sync.Mutex
			var evs []events.Event
			var doneCalls atomic.Int64
			start := time.Now()
			st, err := clients.Run(ctx, srv.addr, population(t, 1, config(users, "203.0.113.0/24")), fakeAppJourney(3, 0),
				func(e events.Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() },
				clients.RunOptions{Concurrency: concurrency, Timeout: 10 * time.Second, Grace: tt.grace,
					UserDone: func() { doneCalls.Add(1) }})
			require.ErrorIs(t, err, context.Canceled, "Run says the context ended")
			assert.Less(t, time.Since(start), 4*time.Second, "the grace bounds how long an interrupted run goes on")

			assert.Equal(t, st.Sent, st.Recorded, "every request sent is recorded once")
			assert.Len(t, evs, int(st.Sent))
			assert.Equal(t, concurrency, st.Users, "no user starts after the cancel")
			assert.Equal(t, tt.done, st.Done, "users done")
			assert.Equal(t, int64(tt.done), doneCalls.Load(), "UserDone is called for the users done only")
			cut, errs := 0, 0
			for _, e := range evs {
				assert.LessOrEqual(t, e.User, concurrency, "user %d did not start", e.User)
				switch e.Outcome {
				case events.OutcomeInterrupted:
					cut++
					assert.Equal(t, "/page/2", e.Path, "only the page in flight is cut")
					assert.Zero(t, e.Status)
					assert.NotEmpty(t, e.Error)
				case events.OutcomeError:
					errs++
				}
			}
			assert.Equal(t, tt.cut, cut, "exchanges cut")
			assert.Equal(t, tt.wantErrors, errs, "errors")
		})
	}
}
