package reports

import (
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/sessionlab/sessionlab/clients/events"
)

// ReadLog computes the report of a saved event log (events.Reader): its header, then every exchange, fault mark
// and store record in the order they were written, and its end record (which says whether the run was
// interrupted), with the header's expectations checked. Errors name the line.
func ReadLog(r io.Reader) (*Report, error) {
	lr, err := events.NewReader(r)
	if err != nil {
		return nil, err
	}
	acc := NewAccumulator(lr.Header().Meta)
	for {
		e, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		acc.Record(e)
	}
	acc.Record(endRecord(lr))
	rep := acc.Report()
	rep.Check(lr.Header().Expect)
	return rep, nil
}

// endRecord is the end record lr read, as the record the accumulator takes: whether the run was interrupted.
func endRecord(lr *events.Reader) events.Event {
	end := lr.End()
	return events.Event{Step: events.StepEnd, User: -1, End: &end}
}

// Log is a saved event log and the name it goes by in messages (its file).
type Log struct {
	Name string
	R    io.Reader
}

// MergeLogs computes one report from the logs of the shards of one run (run --shard i/N), given in any order: the
// report the unsharded run would have given. The logs must be of the same scenario, seed, users and shard count,
// each shard exactly once; anything else is an error naming the log.
func MergeLogs(logs ...Log) (*Report, error) {
	if len(logs) == 0 {
		return nil, errors.New("merge: no logs given")
	}
	readers := make([]*events.Reader, len(logs))
	var first events.Header
	var seen []string // seen[i] names the log of shard i
	for i, l := range logs {
		lr, err := events.NewReader(l.R)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.Name, err)
		}
		h := lr.Header()
		if h.Shard == nil {
			return nil, fmt.Errorf("%s: not the log of a shard (its header names none): only the logs of run --shard i/N merge", l.Name)
		}
		if i == 0 {
			first, seen = h, make([]string, h.Shard.Count)
		} else if err := sameRun(first, h); err != nil {
			return nil, fmt.Errorf("%s and %s are not shards of one run: %w", logs[0].Name, l.Name, err)
		}
		if s := h.Shard; s.Index < 0 || s.Index >= len(seen) {
			return nil, fmt.Errorf("%s: shard %d/%d is out of range", l.Name, s.Index, s.Count)
		} else if seen[s.Index] != "" {
			return nil, fmt.Errorf("shard %d/%d is given twice: %s and %s", s.Index, s.Count, seen[s.Index], l.Name)
		}
		seen[h.Shard.Index] = l.Name
		readers[i] = lr
	}
	for i, name := range seen {
		if name == "" {
			return nil, fmt.Errorf("shard %d/%d is missing: merge needs the logs of all %d shards", i, len(seen), len(seen))
		}
	}
	meta := first.Meta
	meta.Shard = nil
	acc := NewAccumulator(meta)
	for i, lr := range readers {
		for {
			e, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", logs[i].Name, err)
			}
			acc.Record(e)
		}
		acc.Record(endRecord(lr)) // a shard interrupted makes the merged run interrupted
	}
	rep := acc.Report()
	rep.Check(first.Expect)
	return rep, nil
}

// sameRun says how two shards' headers differ, where they must not.
func sameRun(a, b events.Header) error {
	switch {
	case a.Scenario != b.Scenario:
		return fmt.Errorf("scenario %q and %q", a.Scenario, b.Scenario)
	case a.Seed != b.Seed:
		return fmt.Errorf("seed %d and %d", a.Seed, b.Seed)
	case a.Shard.Count != b.Shard.Count:
		return fmt.Errorf("%d and %d shards", a.Shard.Count, b.Shard.Count)
	case a.Users != b.Users:
		return fmt.Errorf("%d and %d users", a.Users, b.Users)
	case !reflect.DeepEqual(a.Balancer, b.Balancer) || a.App != b.App || a.Target != b.Target || a.Attribution != b.Attribution || a.Runtime != b.Runtime:
		return errors.New("their balancer, app, runtime or target differ")
	}
	return nil
}
