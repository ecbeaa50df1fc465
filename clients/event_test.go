package clients_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
)

func sampleEvents() []clients.Event {
	return []clients.Event{
		{TMs: 1, User: 17, Addr: "203.0.113.9", Step: clients.StepLogin, Attempt: 1, Method: "GET", Path: "/login",
			Status: 200, Replica: "replica-1", Outcome: clients.OutcomeOK, LatencyUS: 250},
		{TMs: 2, User: 17, Addr: "203.0.113.9", Step: clients.StepLogin, Attempt: 1, Method: "POST", Path: "/login",
			Status: 302, Location: "/", Replica: "replica-2", Outcome: clients.OutcomeOK, LatencyUS: 900},
		{TMs: 3, User: 17, Addr: "203.0.113.9", Step: clients.StepPage, Method: "GET", Path: "/page/1",
			Status: 302, Location: "/login", Replica: "replica-3", Outcome: clients.OutcomeLoss, LatencyUS: 120},
		{TMs: 4, User: 4, Addr: "2001:db8::4", Step: clients.StepLogin, Attempt: 2, Method: "GET", Path: "/login",
			Outcome: clients.OutcomeError, LatencyUS: 30_000_000, Error: "dial tcp: connection refused"},
	}
}

func TestJSONLinesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	log := clients.NewJSONLines(&buf)
	events := sampleEvents()
	for _, e := range events {
		log.Record(e)
	}
	assert.Equal(t, int64(len(events)), log.Written())
	assert.Zero(t, buf.Len(), "events stay buffered until Close")

	require.NoError(t, log.Close())
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, len(events), "one line per event")
	for _, l := range lines {
		assert.True(t, json.Valid([]byte(l)), "line %q", l)
	}

	var got []clients.Event
	require.NoError(t, clients.ReadJSONLines(bytes.NewReader(buf.Bytes()), func(e clients.Event) error {
		got = append(got, e)
		return nil
	}))
	assert.Equal(t, events, got)
}

// The log's field names are the contract of design.md ("Event log"); omitted fields are the optional ones.
func TestJSONLinesFieldNames(t *testing.T) {
	var buf bytes.Buffer
	log := clients.NewJSONLines(&buf)
	log.Record(sampleEvents()[1])
	log.Record(sampleEvents()[2])
	require.NoError(t, log.Close())

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	var login map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &login))
	for _, k := range []string{"t_ms", "user", "addr", "step", "attempt", "method", "path", "status", "location", "replica", "outcome", "latency_us"} {
		assert.Contains(t, login, k)
	}
	assert.NotContains(t, login, "error")
	assert.Equal(t, "203.0.113.9", login["addr"])

	var page map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &page))
	assert.NotContains(t, page, "attempt", "page events carry no attempt")
	assert.Equal(t, "loss", page["outcome"])
}

func TestJSONLinesConcurrent(t *testing.T) {
	var buf bytes.Buffer
	log := clients.NewJSONLines(&buf)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				log.Record(clients.Event{User: w*1000 + i, Step: clients.StepPage, Outcome: clients.OutcomeOK})
			}
		})
	}
	wg.Wait()
	require.NoError(t, log.Close())
	assert.Equal(t, int64(4000), log.Written())

	n := 0
	require.NoError(t, clients.ReadJSONLines(&buf, func(clients.Event) error { n++; return nil }))
	assert.Equal(t, 4000, n)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestJSONLinesCloseReportsWriteError(t *testing.T) {
	log := clients.NewJSONLines(failingWriter{})
	log.Record(sampleEvents()[0])
	err := log.Close()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
}

func TestReadJSONLinesErrors(t *testing.T) {
	t.Run("malformed line", func(t *testing.T) {
		in := `{"user":1,"step":"page"}` + "\n" + `{"user":` + "\n"
		n := 0
		err := clients.ReadJSONLines(strings.NewReader(in), func(clients.Event) error { n++; return nil })
		require.Error(t, err)
		assert.Contains(t, err.Error(), "event 2")
		assert.Equal(t, 1, n)
	})
	t.Run("callback error stops", func(t *testing.T) {
		stop := errors.New("stop")
		var buf bytes.Buffer
		log := clients.NewJSONLines(&buf)
		for _, e := range sampleEvents() {
			log.Record(e)
		}
		require.NoError(t, log.Close())
		n := 0
		err := clients.ReadJSONLines(&buf, func(clients.Event) error { n++; return stop })
		require.ErrorIs(t, err, stop)
		assert.Equal(t, 1, n)
	})
	t.Run("empty log", func(t *testing.T) {
		require.NoError(t, clients.ReadJSONLines(strings.NewReader(""), func(clients.Event) error {
			return errors.New("no event expected")
		}))
	})
}

func TestTee(t *testing.T) {
	var a, b []clients.Event
	sink := clients.Tee(clients.SinkFunc(func(e clients.Event) { a = append(a, e) }),
		clients.SinkFunc(func(e clients.Event) { b = append(b, e) }))
	for _, e := range sampleEvents() {
		sink.Record(e)
	}
	assert.Equal(t, sampleEvents(), a)
	assert.Equal(t, sampleEvents(), b)
}
