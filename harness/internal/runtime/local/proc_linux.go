package local

import "syscall"

// sysProcAttr puts the child in its own process group and has the kernel kill it if the harness dies without
// cleaning up (SIGKILL, a test binary's timeout panic).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
