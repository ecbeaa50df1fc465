package local

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/harness/internal/runtime"
)

// A process's logs are read on from where the last read stopped, whole lines only, each line once.
func TestLogsAfterReadsEachLineOnce(t *testing.T) {
	dir := t.TempDir()
	out, errLog := filepath.Join(dir, "nginx.out"), filepath.Join(dir, "error.log")
	p := &localPart{logPath: out, logs: []string{errLog}}
	require.NoError(t, os.WriteFile(errLog, []byte("one\ntwo\nthr"), 0o644))
	text, at := p.LogsAfter(context.Background(), runtime.LogCursor{})
	assert.Equal(t, "one\ntwo\n", text, "the line still being written waits")
	appendTo(t, errLog, "ee\nfour\n")
	require.NoError(t, os.WriteFile(out, []byte("started\n"), 0o644))
	text, at = p.LogsAfter(context.Background(), at)
	assert.Equal(t, "started\nthree\nfour\n", text)
	text, _ = p.LogsAfter(context.Background(), at)
	assert.Empty(t, text, "nothing new")
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
