package events

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hand-written encoder must write what encoding/json writes, byte for byte, so that the log's readers (and
// anyone's jq) see no difference.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	cases := []Event{
		{},
		{TMs: 12, User: 3, Addr: "198.18.0.7", Step: StepLogin, Attempt: 2, Method: "POST", Path: "/login", Status: 302,
			Location: "/", Replica: "replica-2", Outcome: OutcomeOK, LatencyUS: 812},
		{Step: StepPage, Replica: "replica-1", Instance: "nginx-2", Conn: "keep-alive", Sent: []string{"sid:0a1b2c3d", "lb:<&>"},
			Set: []string{"sid:-"}, Outcome: OutcomeLoss},
		{User: -1, Step: StepPage, Method: "GET", Path: "/page/<1>&\"x\"\\", Host: "idp:9000", Failover: "replica-1",
			Outcome: OutcomeError, Error: "GET http://x/: read answer: EOF\n\t\r\b\f\x01\x1f"},
		{Addr: "2001:db8::1", Path: "/é/日本\u2028\u2029", Error: "bad \xff utf-8 \xe2\x82"},
		{Step: StepFault, Fault: &FaultMark{Index: 1, Action: "kill", Target: "replica-2", Phase: FaultStart}},
		{Step: StepStore, Store: &StoreStats{Kind: "redis", Sessions: 4}},
		{Step: StepEnd, User: -1, End: &End{Records: 9}},
	}
	for _, e := range cases {
		want, err := json.Marshal(e)
		require.NoError(t, err)
		got, err := e.AppendJSON(nil)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got))
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("addr", "/p<a>", "err\n", "r1", int64(5), 3)
	f.Fuzz(func(t *testing.T, addr, path, errText, replica string, tms int64, user int) {
		e := Event{TMs: tms, User: user, Addr: addr, Step: StepPage, Method: "GET", Path: path, Replica: replica,
			Outcome: OutcomeOK, Error: errText, Location: path, Host: replica}
		want, err := json.Marshal(e)
		require.NoError(t, err)
		got, err := e.AppendJSON(nil)
		require.NoError(t, err)
		if !bytes.Equal(want, got) {
			t.Fatalf("AppendJSON wrote\n%s\nencoding/json\n%s", got, want)
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	e := Event{TMs: 12, User: 3, Addr: "198.18.0.7", Step: StepPage, Method: "GET", Path: "/page/3", Status: 200,
		Replica: "replica-2", Outcome: OutcomeOK, LatencyUS: 812}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf, _ = e.AppendJSON(buf[:0])
	}
}
