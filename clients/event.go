package clients

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Steps of a journey an exchange belongs to.
const (
	StepLogin  = "login"
	StepPage   = "page"
	StepLogout = "logout"
	// StepSetup is an exchange of the journey's setup request (a sign-up, say), sent once per user before the first
	// login attempt, and of the redirects it leads to.
	StepSetup = "setup"
	// StepReauth is an exchange on the way back from a page the app sent to its identity provider: the provider,
	// the app's callback, the page again.
	StepReauth = "reauth"
	// StepWS is a WebSocket connection: its upgrade request, and whether the replica still had the state.
	StepWS = "ws"
	// StepFault marks a record that is not an exchange: the nemesis began or finished a fault (Event.Fault).
	StepFault = "fault"
	// StepStore marks the record, written after the users finished, of what the app's side counted (Event.Store).
	StepStore = "store"
	// StepRun marks the log's first record, written by the harness: the scenario and topology the report needs to
	// render the log again (reports.Header). Its payload is not an Event field.
	StepRun = "run"
)

// Outcomes of one exchange. A login attempt fails with the cause of its first non-ok exchange.
const (
	OutcomeOK       = "ok"
	OutcomeLoss     = "loss"     // an authenticated user's protected page answered with the login page
	OutcomeLoop     = "loop"     // a login was accepted, then the next page bounced back to login
	OutcomeCSRF     = "csrf"     // the replica did not know the login form's state
	OutcomeRejected = "rejected" // the credentials were refused
	OutcomeError    = "error"    // 5xx, a connection error, a timeout or an answer the journey cannot use
	// OutcomeReauth is an authenticated user's page sent to the identity provider for a new session: a silent
	// re-authentication unless the provider then prompts (a loss, on the StepReauth exchange that shows the form).
	OutcomeReauth = "reauth"
)

// Event is one HTTP exchange, as written to the event log (one JSON line each).
type Event struct {
	TMs       int64  `json:"t_ms"` // since the run started
	User      int    `json:"user"`
	Addr      string `json:"addr"`
	Step      string `json:"step"`
	Attempt   int    `json:"attempt,omitempty"` // login and reauth: the user's login attempt (1-based); ws: the connection (1-based)
	Method    string `json:"method"`
	Path      string `json:"path"`
	Host      string `json:"host,omitempty"` // set when the request went to another host than the balancer (the identity provider)
	Status    int    `json:"status"`         // 0 when no answer came
	Location  string `json:"location,omitempty"`
	Replica   string `json:"replica"` // "" when no replica answered
	Outcome   string `json:"outcome"`
	LatencyUS int64  `json:"latency_us"`
	Error     string `json:"error,omitempty"`
	// Fault is set on StepFault records only; they are not requests and count in no request figure.
	Fault *FaultMark `json:"fault,omitempty"`
	// Store is set on the StepStore record only.
	Store *StoreStats `json:"store,omitempty"`
}

// StoreStats is what the app's side held and counted at the end of a run: read from the real Redis and from
// every replica's /metrics. It is not a request and counts in no request figure.
type StoreStats struct {
	// Kind is where sessions lived: memory, redis or cookie.
	Kind string `json:"kind"`
	// Sessions held at the end: the session keys in Redis, the replicas' own records (memory), or for sealed
	// cookies, which nothing holds, every session the replicas issued.
	Sessions        int `json:"sessions"`
	SessionsCreated int `json:"sessions_created"` // logged-in sessions the replicas issued
	Logins          int `json:"logins"`           // of which after a password prompt
	SilentReauths   int `json:"silent_reauths"`   // of which after the identity provider vouched without a prompt
	CSRFRefusals    int `json:"csrf_refusals"`
	BadCookies      int `json:"bad_cookies"` // session cookies a replica could not open
	// Unread names the replicas whose metrics could not be read (down at the end): their counts are missing.
	Unread []string `json:"unread,omitempty"`
}

// Fault phases a FaultMark records.
const (
	FaultStart = "start" // the action began
	FaultEnd   = "end"   // the action (and its undo, for a fault with a duration) finished
)

// FaultMark records that the nemesis began or finished one of the scenario's faults, at the record's TMs.
type FaultMark struct {
	Index  int    `json:"index"` // the fault's position in the scenario's faults list, from 0
	Action string `json:"action"`
	Target string `json:"target,omitempty"` // a part name ("replica-2", "nginx"), or "" for scale-out and scale-in
	Phase  string `json:"phase"`            // FaultStart or FaultEnd
	Error  string `json:"error,omitempty"`  // why the action failed, on its FaultEnd mark
}

// IsFault reports whether e is a fault mark rather than an exchange.
func (e Event) IsFault() bool { return e.Step == StepFault }

// IsExchange reports whether e records an HTTP exchange (a request sent), rather than a fault mark, the store
// record or the log's header.
func (e Event) IsExchange() bool {
	return e.Step != StepFault && e.Step != StepStore && e.Step != StepRun
}

// Sink receives every event of a run. Record is called from many goroutines at once.
type Sink interface {
	Record(Event)
}

// SinkFunc adapts a function to a Sink; the function must be safe for concurrent use.
type SinkFunc func(Event)

func (f SinkFunc) Record(e Event) { f(e) }

// Tee sends every event to each sink in turn.
func Tee(sinks ...Sink) Sink {
	return SinkFunc(func(e Event) {
		for _, s := range sinks {
			s.Record(e)
		}
	})
}

// JSONLines writes events as JSON lines. The first write error is kept and reported by Close.
type JSONLines struct {
	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
	n   int64
	err error
}

var _ Sink = (*JSONLines)(nil)

// NewJSONLines writes to w, buffered; call Close to flush.
func NewJSONLines(w io.Writer) *JSONLines {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &JSONLines{w: bw, enc: json.NewEncoder(bw)}
}

func (j *JSONLines) Record(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return
	}
	if err := j.enc.Encode(e); err != nil {
		j.err = fmt.Errorf("write event: %w", err)
		return
	}
	j.n++
}

// Written is how many events reached the writer.
func (j *JSONLines) Written() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

// Close flushes the buffer and returns the first error met.
func (j *JSONLines) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		if err := j.w.Flush(); err != nil {
			j.err = fmt.Errorf("flush events: %w", err)
		}
	}
	return j.err
}

// ReadJSONLines calls fn for each event of a log written by JSONLines.
func ReadJSONLines(r io.Reader, fn func(Event) error) error {
	dec := json.NewDecoder(r)
	for n := 1; ; n++ {
		var e Event
		if err := dec.Decode(&e); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("event %d: %w", n, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}
