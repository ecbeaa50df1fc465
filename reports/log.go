package reports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sessionlab/sessionlab/clients"
)

// EventsSchema names the version of the event log's header record.
const EventsSchema = "sessionlab.events/v1"

// Header is what a report needs besides the events: the run's scenario and topology, and the expectations to check.
// It is the first record of an event log, {"step":"run","run":{…}}, so that the log alone can be rendered again.
type Header struct {
	Schema string `json:"schema"`
	Meta
	Expect map[string]string `json:"expect,omitempty"`
}

type headerRecord struct {
	Step string `json:"step"`
	Run  Header `json:"run"`
}

// WriteHeader writes the header record that opens an event log.
func WriteHeader(w io.Writer, meta Meta, expect map[string]string) error {
	line, err := json.Marshal(headerRecord{Step: clients.StepRun, Run: Header{Schema: EventsSchema, Meta: meta, Expect: expect}})
	if err != nil {
		return err
	}
	_, err = w.Write(append(line, '\n'))
	return err
}

// ReadLog computes the report of a saved event log: its header record, then every exchange, fault mark and store
// record in the order they were written, with the header's expectations checked. Errors name the line.
func ReadLog(r io.Reader) (*Report, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var acc *Accumulator
	var expect map[string]string
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if acc == nil {
				h, herr := readHeader(line)
				if herr != nil {
					return nil, fmt.Errorf("line %d: %w", n, herr)
				}
				acc, expect = NewAccumulator(h.Meta), h.Expect
			} else {
				var e clients.Event
				if jerr := json.Unmarshal(line, &e); jerr != nil {
					return nil, fmt.Errorf("line %d: not an event record: %w", n, jerr)
				}
				if e.Step == clients.StepRun {
					return nil, fmt.Errorf("line %d: a second run header: one log holds one run", n)
				}
				acc.Record(e)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if acc == nil {
		return nil, errors.New("the log is empty: it has no run header record")
	}
	rep := acc.Report()
	rep.Check(expect)
	return rep, nil
}

func readHeader(line []byte) (Header, error) {
	var rec headerRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return Header{}, fmt.Errorf("not a run header record: %w", err)
	}
	if rec.Step != clients.StepRun {
		return Header{}, fmt.Errorf(`the first record is a %q record, not the run header ({"step":"run",…}); logs written before sessionlab wrote headers cannot be rendered again`, rec.Step)
	}
	if rec.Run.Schema != EventsSchema {
		return Header{}, fmt.Errorf("run header schema %q is not known (allowed: %s)", rec.Run.Schema, EventsSchema)
	}
	return rec.Run, nil
}
