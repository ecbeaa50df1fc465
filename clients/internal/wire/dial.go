package wire

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// dialTCP connects to ap with direct system calls, for a Client without a Dial of its own: one connection per user
// makes the set-up a share of each request's cost that net.Dialer would double. The Dialer binds the socket, asks the
// kernel for both addresses and makes each of its calls through the scheduler (waking its monitor thread), and it
// waits on the poller for a handshake that on loopback is over when connect returns. Here the socket is connected,
// checked and then handed to the poller as an *os.File: its local address is asked for only when an error or a
// header names it.
func dialTCP(ctx context.Context, ap netip.AddrPort, deadline time.Time) (net.Conn, error) {
	remote := net.TCPAddrFromAddrPort(ap)
	sa, salen, family := sockaddr(ap)
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, dialError(remote, os.NewSyscallError("socket", err))
	}
	// Each request is written whole and only after the answer before it, which acknowledged everything sent:
	// Nagle's algorithm would hold nothing back, but set as net.Dialer sets it, for the writes that do not fit.
	if errno := setsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); errno != 0 {
		syscall.Close(fd)
		return nil, dialError(remote, os.NewSyscallError("setsockopt", errno))
	}
	_, _, errno := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(sa), uintptr(salen))
	switch errno {
	case 0, syscall.EISCONN:
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		errno = connected(fd) // on loopback the handshake is over by now
	default:
		syscall.Close(fd)
		return nil, dialError(remote, os.NewSyscallError("connect", errno))
	}
	if errno != 0 && errno != syscall.EINPROGRESS {
		syscall.Close(fd)
		return nil, dialError(remote, os.NewSyscallError("connect", errno))
	}
	conn := &fileConn{File: os.NewFile(uintptr(fd), "tcp"), remote: remote}
	if errno == syscall.EINPROGRESS {
		if err := conn.await(ctx, deadline); err != nil {
			conn.Close()
			return nil, dialError(remote, err)
		}
	}
	return conn, nil
}

// connected reports how a connect in progress stands: 0 done, EINPROGRESS still going, else why it failed.
func connected(fd int) syscall.Errno {
	var soerr int32
	n := uint32(unsafe.Sizeof(soerr))
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, syscall.SO_ERROR,
		uintptr(unsafe.Pointer(&soerr)), uintptr(unsafe.Pointer(&n)), 0); errno != 0 {
		return errno
	}
	switch e := syscall.Errno(soerr); e {
	case 0, syscall.EISCONN:
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		return syscall.EINPROGRESS
	default:
		return e
	}
	// No error pending is not yet a connection: the peer's address says whether there is one.
	var rsa syscall.RawSockaddrAny
	l := uint32(syscall.SizeofSockaddrAny)
	_, _, errno := syscall.RawSyscall(syscall.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if errno == syscall.ENOTCONN {
		return syscall.EINPROGRESS
	}
	return errno
}

// await waits on the poller until the connection is made, the deadline passes or ctx ends.
func (c *fileConn) await(ctx context.Context, deadline time.Time) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	if err := c.SetWriteDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var errno syscall.Errno
	err = raw.Write(func(fd uintptr) bool {
		errno = connected(int(fd))
		return errno != syscall.EINPROGRESS
	})
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return err
	case errno != 0:
		return os.NewSyscallError("connect", errno)
	}
	return c.SetWriteDeadline(time.Time{})
}

func dialError(remote *net.TCPAddr, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: remote, Err: err}
}

func setsockoptInt(fd, level, opt, value int) syscall.Errno {
	v := int32(value)
	_, _, errno := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), unsafe.Sizeof(v), 0)
	return errno
}

// resetOnClose makes the close of the socket a reset (SO_LINGER 0), with a direct call as the exchanges' are.
func resetOnClose(fd uintptr) {
	l := syscall.Linger{Onoff: 1, Linger: 0}
	_, _, _ = syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.SOL_SOCKET, syscall.SO_LINGER,
		uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
}

// sockaddr is ap in the kernel's form; the pointer stays valid while the result is referenced.
func sockaddr(ap netip.AddrPort) (unsafe.Pointer, uintptr, int) {
	port := ap.Port()
	if a := ap.Addr().Unmap(); a.Is4() {
		sa := &syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: a.As4()}
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		return unsafe.Pointer(sa), unsafe.Sizeof(*sa), syscall.AF_INET
	}
	sa := &syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: ap.Addr().As16()}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	return unsafe.Pointer(sa), unsafe.Sizeof(*sa), syscall.AF_INET6
}

// fileConn is a connection dialTCP made: the socket as an *os.File (the poller waits on it as on any socket), with
// the addresses a net.Conn has.
type fileConn struct {
	*os.File
	remote *net.TCPAddr
}

func (c *fileConn) RemoteAddr() net.Addr { return c.remote }

// LocalAddr asks the kernel, when something names it (an error, a PROXY header).
func (c *fileConn) LocalAddr() net.Addr {
	raw, err := c.SyscallConn()
	if err != nil {
		return &net.TCPAddr{}
	}
	var local net.TCPAddr
	_ = raw.Control(func(fd uintptr) {
		var rsa syscall.RawSockaddrAny
		l := uint32(syscall.SizeofSockaddrAny)
		if _, _, errno := syscall.RawSyscall(syscall.SYS_GETSOCKNAME, fd, uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l))); errno != 0 {
			return
		}
		switch rsa.Addr.Family {
		case syscall.AF_INET:
			sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&rsa))
			p := (*[2]byte)(unsafe.Pointer(&sa.Port))
			local = net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: int(p[0])<<8 | int(p[1])}
		case syscall.AF_INET6:
			sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&rsa))
			p := (*[2]byte)(unsafe.Pointer(&sa.Port))
			local = net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: int(p[0])<<8 | int(p[1])}
		}
	})
	return &local
}

// Read and Write name their errors as a net.Conn's do: the event log's records carry them.
func (c *fileConn) Read(p []byte) (int, error) {
	n, err := c.File.Read(p)
	return n, c.opError("read", err)
}

func (c *fileConn) Write(p []byte) (int, error) {
	n, err := c.File.Write(p)
	return n, c.opError("write", err)
}

func (c *fileConn) opError(op string, err error) error {
	var pe *os.PathError
	if !errors.As(err, &pe) {
		return err // nil, or io.EOF
	}
	err = pe.Err
	switch {
	case errors.Is(err, os.ErrClosed):
		err = net.ErrClosed
	case !errors.Is(err, os.ErrDeadlineExceeded):
		err = os.NewSyscallError(op, err)
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.remote, Err: err}
}
