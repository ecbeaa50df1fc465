package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// A run that is killed outright (SIGKILL, a test binary's timeout) cannot stop what it started. The kernel kills
// its direct children (Pdeathsig), but a child's own children — nginx's workers — live on. Every working
// directory therefore records its owner, and a later run or `sessionlab cleanup` finds directories whose owner is
// gone, kills every process still holding a file in them, and removes them.

const (
	workDirPrefix = "sessionlab-"
	ownerFile     = ".owner"
)

// newWorkDir makes a working directory in the system temp dir and records this process as its owner.
func newWorkDir(name string) (string, error) {
	dir, err := os.MkdirTemp("", workDirPrefix+name+"-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(processIdentity(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// processIdentity is a pid with its start time, so that a reused pid is not taken for the owner; "" for a
// process that is gone.
func processIdentity(pid int) string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// Field 22 is the start time; fields are counted after the parenthesised command name, which may hold spaces.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	f := strings.Fields(string(rest))
	if len(f) < 20 || f[0] == "Z" { // a zombie has exited; only its parent has not reaped it
		return ""
	}
	return strconv.Itoa(pid) + " " + f[19]
}

// Swept is what a sweep found and removed.
type Swept struct {
	Dirs      []string
	Processes []int
}

// SweepLocal stops the processes and removes the working directories of local runs whose owner process is gone.
// Directories of live runs are left alone.
func SweepLocal() (Swept, error) {
	var s Swept
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), workDirPrefix+"*"))
	if err != nil {
		return s, err
	}
	var errs []error
	for _, dir := range dirs {
		owner, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or being created
		}
		pidText, _, _ := strings.Cut(string(owner), " ")
		if pid, err := strconv.Atoi(pidText); err == nil && processIdentity(pid) == string(owner) {
			continue // its owner is alive
		}
		for _, pid := range holders(dir) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				s.Processes = append(s.Processes, pid)
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
			continue
		}
		s.Dirs = append(s.Dirs, dir)
	}
	return s, errors.Join(errs...)
}

// holders lists the processes with a file open under dir (their logs, for the processes the harness starts).
func holders(dir string) []int {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil || pid == os.Getpid() {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join(p, "fd"))
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join(p, "fd", fd.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
