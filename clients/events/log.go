package events

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Schema names the version of the event log, written in its header record.
const Schema = "sessionlab.events/v1"

// Header is the log's first record, {"step":"run","run":{…}}: what a report needs besides the events — the run's
// scenario and topology, and the expectations to check — so that the log alone can be rendered again.
type Header struct {
	Schema string `json:"schema"`
	Meta
	Expect map[string]string `json:"expect,omitempty"`
}

// Meta is what a report needs to know about the run besides its events.
type Meta struct {
	Scenario string      `json:"scenario"`
	Seed     uint64      `json:"seed"`
	Runtime  string      `json:"runtime"`
	Balancer Balancer    `json:"balancer"`
	App      App         `json:"app"`      // how the replicas kept sessions; its Replicas count is taken from Replicas
	Replicas []string    `json:"replicas"` // every replica's name, in order, including ones that served nothing
	Users    int         `json:"users"`
	Faults   []FaultPlan `json:"faults"` // the scenario's faults, in order; a fault mark's Index points into it
	// Target is the live URL the users drove (runtime target); Attribution how its answers named their replica:
	// "header NAME", "cookie NAME" or "none". Both are empty for a topology the harness started.
	Target      string `json:"target,omitempty"`
	Attribution string `json:"attribution,omitempty"`
	// Shard is the share of the users this log holds, when the run was one of several (--shard i/N).
	Shard *Shard `json:"shard,omitempty"`
}

// Shard is the i-th (from 0) of Count disjoint shares of a population.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Balancer says what sat in front of the replicas.
type Balancer struct {
	Kind     string `json:"kind"`
	Strategy string `json:"strategy"`
	Config   string `json:"config,omitempty"` // the user's config template (balancer.config), when one was used
	// Instances names the balancer instances of a tier (balancer.instances > 1), in order; empty for one balancer.
	Instances []string `json:"instances,omitempty"`
	// Front is how the tier's L4 front spread connections over them: "connection" or "source"; empty without a tier.
	Front string `json:"front,omitempty"`
	// Peers: the instances shared their stick tables (HAProxy peers). CookieSecret is Caddy's cookie secret:
	// "per-instance" when each instance signed its cookie with its own.
	Peers        bool   `json:"peers,omitempty"`
	CookieSecret string `json:"cookie_secret,omitempty"`
	// StaggerMs is how much later each instance saw a change than the one before it (balancer.stagger).
	StaggerMs int64 `json:"stagger_ms,omitempty"`
}

// App says how the replicas kept their sessions.
type App struct {
	Replicas   int    `json:"replicas"`
	Sessions   string `json:"sessions"`
	Login      string `json:"login,omitempty"`
	Secret     string `json:"secret,omitempty"`      // shared | per-replica
	CookieName string `json:"cookie_name,omitempty"` // shared | per-replica
	// Own: the replicas are the user's own app (app.command, app.image) or a live deployment, whose sessions
	// sessionlab cannot see: a diagnosis then speaks of what the users saw, not of where sessions live.
	Own bool `json:"own,omitempty"`
}

// FaultPlan is one fault as the scenario wrote it.
type FaultPlan struct {
	Action  string `json:"action"`
	Target  string `json:"target,omitempty"`  // "" for actions without one (scale-out, scale-in)
	At      string `json:"at"`                // the trigger, e.g. "2s" or "1500 requests"
	Persist bool   `json:"persist,omitempty"` // restart-store: the store kept its data across the restart
	// To is the balancer a switch-balancer moved the users to (its kind and strategy).
	To *Balancer `json:"to,omitempty"`
}

// headerRecord is how the header is written: as a record whose step is StepRun.
type headerRecord struct {
	Step string  `json:"step"`
	Run  *Header `json:"run"`
}

// Writer writes an event log as JSON lines: the header, one line per record, and at Close the end record. Record
// is safe for concurrent use; the first write error is kept and returned by Close.
type Writer struct {
	mu     sync.Mutex
	w      *bufio.Writer
	enc    *json.Encoder
	line   []byte // a record's line, reused
	n      int64  // records written after the header
	err    error
	closed bool
}

// NewWriter writes the header to w (buffered) and returns the writer of the records after it; call Close to
// write the end record and flush. An empty h.Schema is written as Schema.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	if h.Schema == "" {
		h.Schema = Schema
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	lw := &Writer{w: bw, enc: json.NewEncoder(bw)}
	if err := lw.enc.Encode(headerRecord{Step: StepRun, Run: &h}); err != nil {
		return nil, fmt.Errorf("write the log's header: %w", err)
	}
	return lw, nil
}

// Record writes e as one JSON line; the first error is kept and returned by Close. Safe for concurrent use.
func (w *Writer) Record(e Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	if w.closed {
		w.err = errors.New("write event: the log is closed")
		return
	}
	line, err := e.AppendJSON(w.line[:0])
	if err == nil {
		_, err = w.w.Write(append(line, '\n'))
	}
	w.line = line[:0]
	if err != nil {
		w.err = fmt.Errorf("write event: %w", err)
		return
	}
	w.n++
}

// Written is how many records reached the writer after the header.
func (w *Writer) Written() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Close writes the end record and flushes, once; it returns the first error met.
func (w *Writer) Close() error { return w.CloseWith(End{}) }

// CloseWith is Close with what the end record says besides its count of records (End.Records is the writer's):
// whether the run was interrupted, and the users done.
func (w *Writer) CloseWith(end End) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err == nil {
		end.Records = w.n + 1
		if err := w.enc.Encode(Event{Step: StepEnd, User: -1, End: &end}); err != nil {
			w.err = fmt.Errorf("write the log's end: %w", err)
		}
	}
	if w.err == nil {
		if err := w.w.Flush(); err != nil {
			w.err = fmt.Errorf("flush events: %w", err)
		}
	}
	return w.err
}

// Reader reads a log written by Writer: the header first (NewReader), then each record between it and the end
// record (Next). A log that does not open with a header, has a line that is not a record, a second header,
// anything after its end record, or no end record at all (it was cut short) is an error naming the line.
type Reader struct {
	br      *bufio.Reader
	header  Header
	line    int   // lines read so far
	records int64 // records read so far, the header included
	ended   bool
	end     End
}

// NewReader reads the log's header from r.
func NewReader(r io.Reader) (*Reader, error) {
	lr := &Reader{br: bufio.NewReaderSize(r, 64<<10)}
	text, err := lr.nextLine()
	switch {
	case errors.Is(err, io.EOF):
		return nil, errors.New("the log is empty: it has no run header record")
	case err != nil:
		return nil, err
	}
	if lr.header, err = readHeader(text); err != nil {
		return nil, fmt.Errorf("line %d: %w", lr.line, err)
	}
	lr.records = 1
	return lr, nil
}

// Header is the log's header record.
func (r *Reader) Header() Header { return r.header }

// End is the log's end record, once Next has returned io.EOF (before that, the zero End).
func (r *Reader) End() End { return r.end }

// Next returns the next record, or io.EOF once the end record has been read and nothing follows it.
func (r *Reader) Next() (Event, error) {
	for {
		text, err := r.nextLine()
		switch {
		case errors.Is(err, io.EOF) && !r.ended:
			return Event{}, fmt.Errorf("line %d: the log ends without its end record: it was cut short after %d records", r.line, r.records)
		case err != nil:
			return Event{}, err
		case r.ended:
			return Event{}, fmt.Errorf("line %d: a record after the log's end record", r.line)
		}
		e, err := readRecord(text, r.records, len(r.header.Faults))
		if err != nil {
			return Event{}, fmt.Errorf("line %d: %w", r.line, err)
		}
		if e.Step == StepEnd {
			r.ended, r.end = true, *e.End
			continue
		}
		r.records++
		return e, nil
	}
}

// nextLine returns the next line that is not blank, or io.EOF.
func (r *Reader) nextLine() ([]byte, error) {
	for {
		line, err := r.br.ReadBytes('\n')
		if len(line) > 0 {
			r.line++
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("line %d: %w", r.line, err)
		}
		if text := bytes.TrimSpace(line); len(text) > 0 {
			return text, nil
		}
		if err != nil {
			return nil, io.EOF
		}
	}
}

// Read reads a whole log: it returns the header and calls fn for every record, in order. An error fn returns
// stops the reading and is returned as it is.
func Read(r io.Reader, fn func(Event) error) (Header, error) {
	lr, err := NewReader(r)
	if err != nil {
		return Header{}, err
	}
	for {
		e, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return lr.header, nil
		}
		if err != nil {
			return lr.header, err
		}
		if err := fn(e); err != nil {
			return lr.header, err
		}
	}
}

func readHeader(line []byte) (Header, error) {
	var rec struct {
		Step string  `json:"step"`
		Run  *Header `json:"run"`
	}
	if err := json.Unmarshal(line, &rec); err != nil {
		return Header{}, fmt.Errorf("not a run header record: %w", err)
	}
	switch {
	case rec.Step != StepRun:
		return Header{}, fmt.Errorf(`the first record is a %q record, not the run header ({"step":"run",…}); logs written before sessionlab wrote headers cannot be rendered again`, rec.Step)
	case rec.Run == nil:
		return Header{}, errors.New(`the run header has no "run" object`)
	case rec.Run.Schema != Schema:
		return Header{}, fmt.Errorf("run header schema %q is not known (allowed: %s)", rec.Run.Schema, Schema)
	}
	return *rec.Run, nil
}

// readRecord decodes one record after the header; before is how many records came before it, and faults how many
// faults the header plans.
func readRecord(line []byte, before int64, faults int) (Event, error) {
	var e Event
	if err := json.Unmarshal(line, &e); err != nil {
		return e, fmt.Errorf("not an event record: %w", err)
	}
	switch {
	case e.Step == StepRun:
		return e, errors.New("a second run header: one log holds one run")
	case e.Step == StepEnd && e.End == nil:
		return e, errors.New(`the end record has no "end" object`)
	case e.Step == StepEnd && e.End.Records != before:
		return e, fmt.Errorf("the end record counts %d records before it, the log has %d: records are missing", e.End.Records, before)
	case e.Step == StepFault && e.Fault == nil:
		return e, errors.New(`a fault record without its "fault" object`)
	case e.Step == StepFault && (e.Fault.Index < 0 || e.Fault.Index >= faults):
		return e, fmt.Errorf("a mark of fault %d, but the header plans %d faults", e.Fault.Index, faults)
	case e.Step == StepStore && e.Store == nil:
		return e, errors.New(`a store record without its "store" object`)
	case e.Step == StepBalancer && e.Balancer == nil:
		return e, errors.New(`a balancer record without its "balancer" object`)
	}
	return e, nil
}
