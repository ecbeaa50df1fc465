package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sessionlab/sessionlab/clients/events"
	"golang.org/x/term"
)

// progressDelay is how long a run goes before the progress line appears: a short run should print nothing extra.
const progressDelay = 2 * time.Second

// progress draws one line on a terminal while the users run: users done of all, requests, failures so far and the
// time elapsed. It is a harness.Watcher.
type progress struct {
	w        io.Writer
	delay    time.Duration
	total    atomic.Int64
	done     atomic.Int64
	requests atomic.Int64
	failures atomic.Int64

	mu    sync.Mutex
	stop  chan struct{}
	ended chan struct{}
}

// newProgress returns a progress line on w, or nil when w is not a terminal (or quiet): a log file or a CI console
// gets no carriage-return noise.
func newProgress(w *os.File, quiet bool) *progress {
	if quiet || !term.IsTerminal(int(w.Fd())) {
		return nil
	}
	return &progress{w: w, delay: progressDelay}
}

// Start begins a line for a run of users; the line shows up after the delay.
func (p *progress) Start(users int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked()
	p.total.Store(int64(users))
	p.done.Store(0)
	p.requests.Store(0)
	p.failures.Store(0)
	p.stop, p.ended = make(chan struct{}), make(chan struct{})
	go p.draw(p.stop, p.ended)
}

// Record counts an exchange; failures are the outcomes a user notices (anything but ok and a silent re-login).
func (p *progress) Record(e events.Event) {
	if !e.IsExchange() {
		return
	}
	p.requests.Add(1)
	if e.Outcome != events.OutcomeOK && e.Outcome != events.OutcomeReauth {
		p.failures.Add(1)
	}
}

// UserDone counts a user who finished.
func (p *progress) UserDone() { p.done.Add(1) }

// Finish removes the line; the report follows on a clean terminal.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked()
}

func (p *progress) finishLocked() {
	if p.stop != nil {
		close(p.stop)
		<-p.ended
		p.stop = nil
	}
}

func (p *progress) draw(stop <-chan struct{}, ended chan<- struct{}) {
	defer close(ended)
	select {
	case <-stop:
		return
	case <-time.After(p.delay):
	}
	bar := progressbar.NewOptions64(p.total.Load(),
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("users done"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		bar.Describe(fmt.Sprintf("users done · %d requests · %d failures", p.requests.Load(), p.failures.Load()))
		_ = bar.Set64(p.done.Load()) // a display that cannot be drawn is no reason to stop the run
		select {
		case <-stop:
			_ = bar.Clear()
			return
		case <-tick.C:
		}
	}
}
