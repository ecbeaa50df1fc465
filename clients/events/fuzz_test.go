package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/clients/events"
)

// seedLogs are logs the writer makes, and the same cut short and damaged, as fuzzing starts from.
func seedLogs(f *testing.F) [][]byte {
	var buf bytes.Buffer
	w, err := events.NewWriter(&buf, sampleHeader())
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range sampleEvents() {
		w.Record(e)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	return [][]byte{good, good[:len(good)/2], good[:bytes.IndexByte(good, '\n')+1],
		bytes.Replace(good, []byte(`"step":"page"`), []byte(`"step":7`), 1),
		bytes.Replace(good, []byte(`"index":0`), []byte(`"index":-1`), 1), nil, []byte("\n\n")}
}

var namesALine = regexp.MustCompile(`^line \d+: |^the log is empty`)

// FuzzRead feeds the reader logs, whole, cut and corrupted. It never panics; what it refuses it refuses naming the
// line; and what it accepts, written again, reads back the same.
func FuzzRead(f *testing.F) {
	for _, log := range seedLogs(f) {
		f.Add(log)
	}
	f.Fuzz(func(t *testing.T, log []byte) {
		var got []events.Event
		h, err := events.Read(bytes.NewReader(log), func(e events.Event) error { got = append(got, e); return nil })
		if err != nil {
			if !namesALine.MatchString(err.Error()) {
				t.Fatalf("an error that names no line: %q", err)
			}
			return
		}
		var again bytes.Buffer
		w, err := events.NewWriter(&again, h)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			w.Record(e)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := events.NewReader(&again)
		if err != nil {
			t.Fatalf("a log written from an accepted one is refused: %v", err)
		}
		if !equalJSON(t, r.Header(), h) {
			t.Fatalf("header %+v read back as %+v", h, r.Header())
		}
		for i := 0; ; i++ {
			e, err := r.Next()
			if errors.Is(err, io.EOF) {
				if i != len(got) {
					t.Fatalf("%d records read back, %d written", i, len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("record %d of a log written from an accepted one: %v", i+1, err)
			}
			if i >= len(got) || !equalJSON(t, e, got[i]) {
				t.Fatalf("record %d read back differs", i+1)
			}
		}
	})
}

// equalJSON compares two values by their JSON, which is what the log keeps of them.
func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	var x, y strings.Builder
	if err := jsonEncode(&x, a); err != nil {
		t.Fatal(err)
	}
	if err := jsonEncode(&y, b); err != nil {
		t.Fatal(err)
	}
	return x.String() == y.String()
}

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
