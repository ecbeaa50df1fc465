package events_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
)

// The end record says whether the run was interrupted, by what and after how many users: written by CloseWith,
// left out when not set (Close), read back by the Reader once the log is read; an end record without the fields
// (an older log) reads as a run that was not interrupted, its users done unknown.
func TestEndRecordSaysTheRunWasInterrupted(t *testing.T) {
	tests := []struct {
		name  string
		close func(*events.Writer) error
		line  string // the end record's end object
		want  events.End
	}{
		{"Close", (*events.Writer).Close, `"end":{"records":7}}`, events.End{Records: 7}},
		{"a run that finished", func(w *events.Writer) error { return w.CloseWith(events.End{UsersDone: new(20)}) },
			`"end":{"records":7,"users_done":20}}`, events.End{Records: 7, UsersDone: new(20)}},
		{"an interrupted run", func(w *events.Writer) error {
			return w.CloseWith(events.End{Records: 99, Interrupted: true, Cause: "SIGINT", UsersDone: new(3)})
		}, `"end":{"records":7,"interrupted":true,"cause":"SIGINT","users_done":3}}`,
			events.End{Records: 7, Interrupted: true, Cause: "SIGINT", UsersDone: new(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := events.NewWriter(&buf, sampleHeader())
			require.NoError(t, err)
			for _, e := range sampleEvents() {
				w.Record(e)
			}
			require.NoError(t, tt.close(w))
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			assert.True(t, strings.HasSuffix(lines[len(lines)-1], tt.line), "the writer counts the records itself: %s", lines[len(lines)-1])

			r, err := events.NewReader(&buf)
			require.NoError(t, err)
			assert.Equal(t, events.End{}, r.End(), "nothing before the end record is read")
			n := 0
			for {
				_, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				n++
			}
			assert.Equal(t, len(sampleEvents()), n, "the end record is not a record Next returns")
			assert.Equal(t, tt.want, r.End())
		})
	}
}
