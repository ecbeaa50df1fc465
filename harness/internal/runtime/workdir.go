package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// NewWorkDir makes a working directory in the system temp dir and records this process as its owner; SweepLocal
// removes it (and stops what holds a file in it) once this process is gone.
func NewWorkDir(name string) (string, error) {
	dir, err := os.MkdirTemp("", workDirPrefix+name+"-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(ProcessIdentity(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// ProcessIdentity is a pid with its start time, so that a reused pid is not taken for the owner; "" for a
// process that is gone.
func ProcessIdentity(pid int) string {
	st, ok := readStat(pid)
	if !ok || st.state == "Z" { // a zombie has exited; only its parent has not reaped it
		return ""
	}
	return strconv.Itoa(pid) + " " + st.start
}

type procStat struct {
	state string
	ppid  int
	start string
}

// readStat reads /proc/PID/stat: the state, the parent and the start time (fields 3, 4 and 22).
func readStat(pid int) (procStat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// Fields are counted after the parenthesised command name, which may hold spaces.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 20 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return procStat{state: f[0], ppid: ppid, start: f[19]}, true
}

// Alive reports whether pid is a running process; a zombie is not.
func Alive(pid int) bool {
	st, ok := readStat(pid)
	return ok && st.state != "Z"
}

// RunOwner is the value of the org.sessionlab.owner label on the containers and networks of runs made by process
// pid on this host: it tells a live run's resources from a dead run's.
func RunOwner(pid int) string {
	host, _ := os.Hostname()
	return host + " " + ProcessIdentity(pid)
}

// Descendants lists the running processes pid started, and theirs, depth first.
func Descendants(pid int) []int {
	var all []int
	for _, kid := range ChildPIDs(pid) {
		all = append(append(all, kid), Descendants(kid)...)
	}
	return all
}

// ChildPIDs lists the running processes whose parent is pid.
func ChildPIDs(pid int) []int {
	var kids []int
	for _, p := range allPIDs() {
		if st, ok := readStat(p); ok && st.ppid == pid && st.state != "Z" {
			kids = append(kids, p)
		}
	}
	return kids
}

func allPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Swept is what a sweep found and removed.
type Swept struct {
	Dirs      []string
	Processes []int
}

// SweepLocal stops the processes and removes the working directories of runs whose owner process is gone (a
// docker run's directories too). Directories of live runs are left alone.
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
		if pid, err := strconv.Atoi(pidText); err == nil && ProcessIdentity(pid) == string(owner) {
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
	var pids []int
	for _, pid := range allPIDs() {
		if pid == os.Getpid() {
			continue
		}
		fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
		fds, _ := os.ReadDir(fdDir)
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// TailFile is the last n lines of the file at path, or "" when it cannot be read.
func TailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return LastLines(data, n)
}

// LastLines returns the last n lines of output.
func LastLines(data []byte, n int) string {
	lines := strings.Split(string(bytes.TrimRight(data, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreeLoopbackAddr returns 127.0.0.1:PORT for a port nothing listened on a moment ago, and that this process has not
// handed out lately: the kernel may well give the same free port to two calls in a row (two replicas of one run,
// seen as a balancer config with two upstreams on one address).
func FreeLoopbackAddr() (string, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for try := 0; ; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("find a free port: %w", err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !slices.Contains(handedOut.recent[:], addr) || try == 16 {
			handedOut.recent[handedOut.next] = addr
			handedOut.next = (handedOut.next + 1) % len(handedOut.recent)
			return addr, nil
		}
	}
}

// handedOut remembers the addresses FreeLoopbackAddr gave lately.
var handedOut struct {
	sync.Mutex
	recent [256]string
	next   int
}
