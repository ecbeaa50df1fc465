package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
)

func sampleEvents() []events.Event {
	return []events.Event{
		{TMs: 1, User: 17, Addr: "203.0.113.9", Step: events.StepLogin, Attempt: 1, Method: "GET", Path: "/login",
			Status: 200, Replica: "replica-1", Outcome: events.OutcomeOK, LatencyUS: 250},
		{TMs: 2, User: 17, Addr: "203.0.113.9", Step: events.StepLogin, Attempt: 1, Method: "POST", Path: "/login",
			Status: 302, Location: "/", Replica: "replica-2", Outcome: events.OutcomeOK, LatencyUS: 900},
		{TMs: 3, User: 17, Addr: "203.0.113.9", Step: events.StepPage, Method: "GET", Path: "/page/1",
			Status: 302, Location: "/login", Replica: "replica-3", Outcome: events.OutcomeLoss, LatencyUS: 120},
		{TMs: 4, User: 4, Addr: "2001:db8::4", Step: events.StepLogin, Attempt: 2, Method: "GET", Path: "/login",
			Outcome: events.OutcomeError, LatencyUS: 30_000_000, Error: "dial tcp: connection refused"},
		{TMs: 5, User: -1, Step: events.StepFault, Fault: &events.FaultMark{Index: 0, Action: "kill", Target: "replica-2", Phase: events.FaultStart}},
		{TMs: 9, User: -1, Step: events.StepStore, Store: &events.StoreStats{Kind: "memory", Sessions: 3}},
	}
}

func sampleHeader() events.Header {
	return events.Header{
		Meta: events.Meta{Scenario: "rr-memory", Seed: 7, Runtime: "local", Replicas: []string{"replica-1", "replica-2", "replica-3"},
			Users: 20, Faults: []events.FaultPlan{{Action: "kill", Target: "replica-2", At: "2s"}}},
		Expect: map[string]string{"login_failure_rate": "< 0.01"},
	}
}

// writeLog writes the sample header and records to a log and returns its bytes.
func writeLog(t *testing.T, recs []events.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := events.NewWriter(&buf, sampleHeader())
	require.NoError(t, err)
	for _, e := range recs {
		w.Record(e)
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func readAll(data []byte) (events.Header, []events.Event, error) {
	var got []events.Event
	h, err := events.Read(bytes.NewReader(data), func(e events.Event) error { got = append(got, e); return nil })
	return h, got, err
}

func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := events.NewWriter(&buf, sampleHeader())
	require.NoError(t, err)
	for _, e := range sampleEvents() {
		w.Record(e)
	}
	assert.Equal(t, int64(len(sampleEvents())), w.Written())
	assert.Zero(t, buf.Len(), "records stay buffered until Close")
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "a second Close is harmless")

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, len(sampleEvents())+2, "the header, one line per record, the end record")
	for _, l := range lines {
		assert.True(t, json.Valid([]byte(l)), "line %q", l)
	}
	assert.JSONEq(t, fmt.Sprintf(`{"t_ms":0,"user":-1,"addr":"","step":"end","method":"","path":"","status":0,"replica":"","outcome":"","latency_us":0,"end":{"records":%d}}`, len(sampleEvents())+1), lines[len(lines)-1])

	h, got, err := readAll(buf.Bytes())
	require.NoError(t, err)
	want := sampleHeader()
	want.Schema = events.Schema
	assert.Equal(t, want, h)
	assert.Equal(t, sampleEvents(), got)
}

// The log's field names are the contract of docs/event-log.md ("The contract"); omitted fields are the optional ones.
func TestWriterFieldNames(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(string(writeLog(t, sampleEvents()[1:3]))), "\n")
	require.Len(t, lines, 4)
	var header map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &header))
	assert.Equal(t, "run", header["step"])
	assert.Equal(t, events.Schema, header["run"].(map[string]any)["schema"])

	var login map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &login))
	for _, k := range []string{"t_ms", "user", "addr", "step", "attempt", "method", "path", "status", "location", "replica", "outcome", "latency_us"} {
		assert.Contains(t, login, k)
	}
	assert.NotContains(t, login, "error")
	assert.Equal(t, "203.0.113.9", login["addr"])

	var page map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[2]), &page))
	assert.NotContains(t, page, "attempt", "page records carry no attempt")
	assert.Equal(t, "loss", page["outcome"])
}

func TestWriterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	w, err := events.NewWriter(&buf, sampleHeader())
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				w.Record(events.Event{User: g*1000 + i, Step: events.StepPage, Outcome: events.OutcomeOK})
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close())
	assert.Equal(t, int64(4000), w.Written())

	_, got, err := readAll(buf.Bytes())
	require.NoError(t, err)
	assert.Len(t, got, 4000)
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriterCloseReportsWriteError(t *testing.T) {
	w, err := events.NewWriter(&failingWriter{}, sampleHeader())
	require.NoError(t, err, "the header is buffered")
	w.Record(sampleEvents()[0])
	err = w.Close()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
}

func TestWriterRefusesRecordsAfterClose(t *testing.T) {
	w, err := events.NewWriter(&bytes.Buffer{}, sampleHeader())
	require.NoError(t, err)
	require.NoError(t, w.Close())
	w.Record(sampleEvents()[0])
	assert.Equal(t, int64(0), w.Written(), "a record after Close is not counted as written")
}

// Each way a log can be damaged is refused, naming the line where it shows.
func TestReadRefusesDamagedLogs(t *testing.T) {
	good := writeLog(t, sampleEvents())
	lines := strings.SplitAfter(string(good), "\n")
	lines = lines[:len(lines)-1] // the split leaves an empty last element
	join := func(ls ...string) []byte { return []byte(strings.Join(ls, "")) }
	n := len(lines)
	cases := []struct {
		name string
		log  []byte
		want string
	}{
		{"empty", nil, "the log is empty"},
		{"only blank lines", []byte("\n \n"), "the log is empty"},
		{"no header", join(lines[1:]...), "line 1: the first record is a \"login\" record, not the run header"},
		{"header not JSON", join(append([]string{"{\"step\":\n"}, lines[1:]...)...), "line 1: not a run header record"},
		{"unknown schema", join(append([]string{strings.Replace(lines[0], events.Schema, "sessionlab.events/v0", 1)}, lines[1:]...)...), "line 1: run header schema \"sessionlab.events/v0\" is not known"},
		{"cut at a line", join(lines[:3]...), "line 3: the log ends without its end record: it was cut short after 3 records"},
		{"cut mid-line", join(append(lines[:3:3], lines[3][:10])...), "line 4: not an event record"},
		{"corrupt record", join(append(append(lines[:2:2], "{\"user\": 17, oops}\n"), lines[3:]...)...), "line 3: not an event record"},
		{"a record lost", join(append(lines[:2:2], lines[3:]...)...), fmt.Sprintf("line %d: the end record counts %d records before it, the log has %d", n-1, n-1, n-2)},
		{"second header", join(append(append(lines[:2:2], lines[0]), lines[2:]...)...), "line 3: a second run header"},
		{"record after the end", join(append(lines[:n:n], lines[1])...), fmt.Sprintf("line %d: a record after the log's end record", n+1)},
		{"fault beyond the plan", join(append(append(lines[:1:1], `{"step":"fault","user":-1,"fault":{"index":3,"action":"kill","phase":"start"}}`+"\n"), lines[1:]...)...), "line 2: a mark of fault 3, but the header plans 1 faults"},
		{"fault without its mark", join(append(append(lines[:1:1], `{"step":"fault","user":-1}`+"\n"), lines[1:]...)...), "line 2: a fault record without its \"fault\" object"},
		{"store without its figures", join(append(append(lines[:1:1], `{"step":"store","user":-1}`+"\n"), lines[1:]...)...), "line 2: a store record without its \"store\" object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAll(c.log)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	t.Run("blank lines are passed over", func(t *testing.T) {
		_, got, err := readAll(join(append([]string{lines[0], "\n", lines[1], "  \n"}, lines[2:]...)...))
		require.NoError(t, err)
		assert.Equal(t, sampleEvents(), got)
	})
}

func TestReadStopsAtTheCallbacksError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	_, err := events.Read(bytes.NewReader(writeLog(t, sampleEvents())), func(events.Event) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 1, n)
}
