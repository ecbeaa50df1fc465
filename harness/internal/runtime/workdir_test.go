package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSweepStopsLeftoversOfADeadRun(t *testing.T) {
	dir, err := os.MkdirTemp("", workDirPrefix+"sweep-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The owner is a process that has exited: a run killed outright.
	owner := startSleeper(t, filepath.Join(t.TempDir(), "sleep.log"))
	id := ProcessIdentity(owner.Process.Pid)
	require.NotEmpty(t, id)
	require.NoError(t, owner.Process.Kill())
	_ = owner.Wait()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ownerFile), []byte(id), 0o644))
	// A process that outlived it, holding its log in the directory (as an orphaned nginx worker does).
	orphan := startSleeper(t, filepath.Join(dir, "worker.log"))

	// A live run's directory is left alone.
	live, err := NewWorkDir("sweep-live")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(live) })

	swept, err := SweepLocal()
	require.NoError(t, err)
	assert.Contains(t, swept.Dirs, dir)
	assert.Contains(t, swept.Processes, orphan.Process.Pid)
	_ = orphan.Wait()
	assert.False(t, Alive(orphan.Process.Pid))
	assert.NoDirExists(t, dir)
	assert.DirExists(t, live)
}

// startSleeper starts a process that writes to logPath (and so holds it open) for a minute.
func startSleeper(t *testing.T, logPath string) *exec.Cmd {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a process; skipped with -short")
	}
	f, err := os.Create(logPath)
	require.NoError(t, err)
	defer f.Close()
	cmd := exec.Command("/bin/sleep", "60")
	cmd.Stdout = f
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd
}

// Many addresses asked for in a row are all different, though the kernel may give a port just closed again.
func TestFreeLoopbackAddrHandsOutEachPortOnce(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		addr, err := FreeLoopbackAddr()
		require.NoError(t, err)
		assert.False(t, seen[addr], "%s handed out twice", addr)
		seen[addr] = true
	}
}
