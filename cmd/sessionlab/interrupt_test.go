package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A signal to the built binary mid-run interrupts the run: it exits 130 for SIGINT and 143 for SIGTERM, having
// written every report asked for (--out), each saying it was interrupted, with the users done, and the event log
// closed by its end record marked interrupted; `sessionlab report` of that log says so and exits the same; nothing
// the run started is left running.
func TestSignalMidRunWritesTheReports(t *testing.T) {
	skipShort(t)
	for _, tt := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{
		{syscall.SIGINT, "SIGINT", exitInterrupted},
		{syscall.SIGTERM, "SIGTERM", exitTerminated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out, evs := filepath.Join(dir, "out"), filepath.Join(dir, "events.jsonl")
			const planned = 100000
			cmd := exec.Command(filepath.Join(binDir, "sessionlab"), "run", "--quiet", "--format", "text,json,markdown,html,junit",
				"--out", out, "--events", evs, "--set", "balancer.strategy=ip-hash", "--set", "clients.users=100000",
				"--set", "clients.concurrency=8", "--set", "expect.login_failure_rate=< 0.01", rrMemory)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			// The log is written in 64 KiB blocks: the first block is some hundred exchanges in.
			require.Eventually(t, func() bool {
				st, err := os.Stat(evs)
				return err == nil && st.Size() > 0
			}, time.Minute, 20*time.Millisecond, "the users run")
			started := sessionlabtest.Processes(cmd.Process.Pid)
			require.NotEmpty(t, started)
			require.NoError(t, cmd.Process.Signal(tt.sig))
			err := cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "%s", &stderr)
			assert.Equal(t, tt.code, exit.ExitCode(), "%s", &stderr)
			assert.Contains(t, stderr.String(), "was interrupted by "+tt.name)
			for _, pid := range started {
				assert.False(t, alive(pid), "pid %d stopped", pid)
			}

			var rep reports.Report
			raw, err := os.ReadFile(filepath.Join(out, "report.json"))
			require.NoError(t, err, "the JSON report was written")
			require.NoError(t, json.Unmarshal(raw, &rep))
			assert.True(t, rep.Interrupted)
			assert.Equal(t, tt.name, rep.InterruptedBy)
			assert.Equal(t, planned, rep.Totals.Users)
			require.NotNil(t, rep.Totals.UsersDone)
			assert.Positive(t, *rep.Totals.UsersDone)
			assert.Less(t, *rep.Totals.UsersDone, planned)
			assert.Zero(t, rep.Totals.Errors, "no exchange the interruption cut is an error")
			for _, e := range rep.Expectations {
				assert.False(t, e.OK, "not judged met")
			}
			for file, want := range map[string]string{
				"report.txt":  "INTERRUPTED: by " + tt.name + " after",
				"report.md":   "> **Interrupted** by " + tt.name,
				"report.html": `<p class="interrupted"><strong>Interrupted</strong> by ` + tt.name,
				"junit.xml":   `type="interrupted"`,
			} {
				text, err := os.ReadFile(filepath.Join(out, file))
				require.NoError(t, err, "%s was written", file)
				assert.Contains(t, string(text), want, file)
			}
			var junit struct {
				Errors int `xml:"errors,attr"`
			}
			raw, err = os.ReadFile(filepath.Join(out, "junit.xml"))
			require.NoError(t, err)
			require.NoError(t, xml.Unmarshal(raw, &junit))
			assert.Equal(t, 1, junit.Errors, "the run is an error in CI")

			f, err := os.Open(evs)
			require.NoError(t, err)
			defer f.Close()
			r, err := events.NewReader(f)
			require.NoError(t, err)
			exchanges := 0
			for {
				e, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err, "the log is whole: it ends with its end record")
				if e.IsExchange() {
					exchanges++
				}
			}
			assert.Equal(t, rep.Totals.Requests, exchanges, "every request is in the log once")
			end := r.End()
			assert.True(t, end.Interrupted)
			assert.Equal(t, tt.name, end.Cause)

			code, stderrAgain := exitCode(t, "report", evs)
			assert.Equal(t, tt.code, code, "report of the log exits as the run did: %s", stderrAgain)
			assert.Contains(t, stderrAgain, "was interrupted by "+tt.name)
		})
	}
}

// The exit code follows the signal, then what the command returned.
func TestExitStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		sig  os.Signal
		want int
	}{
		{"ok", nil, nil, 0},
		{"unmet", unmetError{n: 2}, nil, exitUnmet},
		{"failed", errors.New("boom"), nil, exitFailed},
		{"a log of a run interrupted by SIGINT", interruptedError{cause: "SIGINT"}, nil, exitInterrupted},
		{"a log of a run interrupted by SIGTERM", interruptedError{cause: "SIGTERM"}, nil, exitTerminated},
		{"a log of a run whose context was cancelled", interruptedError{cause: "context canceled"}, nil, exitInterrupted},
		{"SIGINT during the run", interruptedError{cause: "SIGINT"}, os.Interrupt, exitInterrupted},
		{"SIGINT before the users started", errors.New("start local runtime: context canceled"), os.Interrupt, exitInterrupted},
		{"SIGTERM", nil, syscall.SIGTERM, exitTerminated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			assert.Equal(t, tt.want, exitStatus(&stderr, tt.err, tt.sig))
			if tt.err != nil {
				assert.Equal(t, "sessionlab: "+tt.err.Error()+"\n", stderr.String(), "the error is printed")
			}
		})
	}
}

// A second Ctrl-C aborts at once, without the users' grace, and still stops every process the run started.
func TestSecondInterruptAborts(t *testing.T) {
	skipShort(t)
	cmd := exec.Command(filepath.Join(binDir, "sessionlab"), "run", "--quiet", "--set", "clients.users=1000",
		"--set", "clients.concurrency=8", "--set", "clients.think={kind: constant, mean: 2s}", rrMemory)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var started []int
	require.Eventually(t, func() bool {
		started = sessionlabtest.Processes(cmd.Process.Pid)
		return len(started) == 5 // three replicas, nginx and its worker
	}, 20*time.Second, 50*time.Millisecond, "replicas and nginx start")
	time.Sleep(time.Second) // the users are thinking: the grace would last its 5 s
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	aborted := time.Now()
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, exitInterrupted, exit.ExitCode(), "%s", &stderr)
	assert.Less(t, time.Since(aborted), 3*time.Second, "the second Ctrl-C does not wait for the grace")
	assert.Contains(t, stderr.String(), "aborting")
	for _, pid := range started {
		assert.False(t, alive(pid), "pid %d stopped", pid)
	}
}
