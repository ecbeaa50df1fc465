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
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunWritesEveryFormatAndReportRendersTheLogAgain(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	runDir, log := filepath.Join(dir, "run"), filepath.Join(dir, "events.jsonl")
	out, err := execute(t, "run", "--format", "text,json,markdown,html,junit", "--out", runDir, "--events", log, rrMemory, "--set", "clients.users=50")
	require.NoError(t, err)
	assert.Contains(t, out, "replica-1", "the text report still goes to stdout")
	for _, f := range render.Formats {
		info, err := os.Stat(filepath.Join(runDir, render.FileName(f)))
		require.NoError(t, err, "--out holds the %s report", f)
		assert.Positive(t, info.Size())
	}

	// Rendered from the log alone, twice: the same bytes each time, and the same figures the run reported.
	again := func(name string) string {
		d := filepath.Join(dir, name)
		_, err := execute(t, "report", "--quiet", "--format", "json,markdown,html,junit,text", "--out", d, log)
		require.NoError(t, err)
		return d
	}
	first, second := again("first"), again("second")
	for _, f := range render.Formats {
		a, err := os.ReadFile(filepath.Join(first, render.FileName(f)))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(second, render.FileName(f)))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "%s rendered twice from one log differs", f)
		orig, err := os.ReadFile(filepath.Join(runDir, render.FileName(f)))
		require.NoError(t, err)
		assert.Equal(t, string(orig), string(a), "%s from the log is the run's own %s", f, f)
	}

	// One format without --out goes to stdout.
	out, err = execute(t, "report", "--format", "json", log)
	require.NoError(t, err)
	var rep reports.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, 50, rep.Totals.Users)
	assert.NotEmpty(t, rep.Diagnosis)

	// Two logs are a comparison.
	out, err = execute(t, "report", log, log)
	require.NoError(t, err)
	assert.Len(t, regexp.MustCompile(`(?m)^nginx\s+round-robin\s+\d+\s`).FindAllString(out, -1), 2, "one row per log:\n%s", out)
}

func TestReportOfABadLogIsAClearError(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, content, want string }{
		{"empty", "", "no run header"},
		{"no header", `{"t_ms":1,"step":"page","outcome":"ok"}` + "\n", `"page" record, not the run header`},
		{"broken line", `{"step":"run","run":{"schema":"sessionlab.events/v1","scenario":"x"}}` + "\n{oops\n", "line 2"},
		{"other schema", `{"step":"run","run":{"schema":"sessionlab.events/v9"}}` + "\n", "allowed: sessionlab.events/v1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".jsonl")
			require.NoError(t, os.WriteFile(path, []byte(c.content), 0o644))
			_, err := execute(t, "report", path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestFormatFlagsAreCheckedBeforeAnythingRuns(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--format", "json,html", rrMemory}, "several formats need --out DIR"},
		{[]string{"run", "--format", "pdf", rrMemory}, `--format "pdf" is not known (allowed: text, json, markdown, html, junit)`},
		{[]string{"compare", "--format", "text,junit", rrMemory}, "several formats need --out DIR"},
		{[]string{"report", "--format", "xml", "x.jsonl"}, `--format "xml" is not known`},
	} {
		start := time.Now()
		_, err := execute(t, c.args...)
		require.Error(t, err, c.args)
		assert.Contains(t, err.Error(), c.want)
		assert.Less(t, time.Since(start), 2*time.Second, "refused before starting anything")
	}
}

// junitSuites is the part of a JUnit file CI systems read.
type junitSuites struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// exitCode runs the built sessionlab binary and returns its exit code and stderr.
func exitCode(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "sessionlab"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), stderr.String()
	}
	require.NoError(t, err)
	return 0, stderr.String()
}

func TestExpectationsGateTheExitCodeAndTheJUnitFile(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	unmetDir, metDir := filepath.Join(dir, "unmet"), filepath.Join(dir, "met")

	code, stderr := exitCode(t, "run", "--quiet", "--format", "junit,json", "--out", unmetDir, rrMemory,
		"--set", "clients.users=30", "--set", "expect.login_failure_rate=< 0.01", "--set", `expect.requests=">= 1"`)
	require.Equal(t, exitUnmet, code, "an unmet expectation exits 1: %s", stderr)
	suites := readJUnit(t, filepath.Join(unmetDir, "junit.xml"))
	assert.Equal(t, 1, suites.Failures)
	var failed []string
	for _, s := range suites.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				failed = append(failed, c.Name+": "+c.Failure.Message)
			}
		}
	}
	require.Len(t, failed, 1)
	assert.Contains(t, failed[0], "login_failure_rate", "the failed case names the figure")

	code, stderr = exitCode(t, "run", "--quiet", "--format", "junit", "--out", metDir, rrMemory, "--set", "clients.users=30",
		"--set", "balancer.strategy=cookie-insert", "--set", "expect.login_failure_rate=== 0")
	require.Equal(t, 0, code, "met expectations exit 0: %s", stderr)
	suites = readJUnit(t, filepath.Join(metDir, "junit.xml"))
	assert.Equal(t, 0, suites.Failures)
	assert.GreaterOrEqual(t, suites.Tests, 2, "the run and its expectation")

	code, stderr = exitCode(t, "run", rrMemory, "--set", "expect.no_such_figure=< 1")
	assert.Equal(t, exitFailed, code, "a bad rrMemory exits 2")
	assert.Contains(t, stderr, "expect.no_such_figure")
}

func readJUnit(t *testing.T, path string) junitSuites {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var s junitSuites
	require.NoError(t, xml.Unmarshal(raw, &s), "%s is JUnit XML", path)
	return s
}

// A run that takes a few seconds draws its progress line on a terminal, and nothing on a pipe or with --quiet.
func TestProgressLineOnlyOnATerminal(t *testing.T) {
	skipShort(t)
	// 80 users arriving 20 a second: about four seconds, past the delay before the line shows.
	args := []string{"run", rrMemory, "--set", "clients.users=80", "--set", "clients.arrival.kind=fixed", "--set", "clients.arrival.rate=20"}

	code, stderr := exitCode(t, args...)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "users done", "stderr is a pipe: no progress line")

	onTerminal := func(extra ...string) string {
		cmd := exec.Command(filepath.Join(binDir, "sessionlab"), append(args, extra...)...)
		tty, err := pty.Start(cmd) // stdin, stdout and stderr on the terminal
		require.NoError(t, err)
		defer tty.Close()
		var screen bytes.Buffer
		_, _ = io.Copy(&screen, tty) // until the process exits and the terminal reads EIO
		require.NoError(t, cmd.Wait())
		return screen.String()
	}
	screen := onTerminal()
	assert.Contains(t, screen, "users done")
	assert.Regexp(t, `\d+ requests · \d+ failures`, screen)
	assert.Regexp(t, `/80\)`, screen, "users done out of all")
	assert.NotContains(t, onTerminal("--quiet"), "users done", "--quiet draws no progress line")
}
