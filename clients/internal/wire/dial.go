package wire

import (
	"context"
	"io"
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
// checked and handed to the users' poller (poller): its local address is asked for only when an error or a header
// names it. A valid from is the address the connection is made from (the kernel picks the port).
func dialTCP(ctx context.Context, ap netip.AddrPort, from netip.Addr, deadline time.Time) (*sockConn, error) {
	remote := net.TCPAddrFromAddrPort(ap)
	p, err := getPoller()
	if err != nil {
		return nil, dialError(remote, err)
	}
	sa, salen, family := sockaddr(ap)
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, dialError(remote, os.NewSyscallError("socket", err))
	}
	// Each request is written whole and only after the answer before it, which acknowledged everything sent:
	// Nagle's algorithm would hold nothing back, but set as net.Dialer sets it, for the writes that do not fit.
	if errno := setsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); errno != 0 {
		closeFD(fd)
		return nil, dialError(remote, os.NewSyscallError("setsockopt", errno))
	}
	if from.IsValid() {
		lsa, llen, _ := sockaddr(netip.AddrPortFrom(from, 0))
		if _, _, errno := syscall.RawSyscall(syscall.SYS_BIND, uintptr(fd), uintptr(lsa), uintptr(llen)); errno != 0 {
			closeFD(fd)
			err := dialError(remote, os.NewSyscallError("bind", errno))
			err.Source = &net.TCPAddr{IP: from.AsSlice()}
			return nil, err
		}
	}
	_, _, errno := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(sa), uintptr(salen))
	switch errno {
	case 0, syscall.EISCONN:
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		errno = connected(fd) // on loopback the handshake is over by now
	default:
		closeFD(fd)
		return nil, dialError(remote, os.NewSyscallError("connect", errno))
	}
	if errno != 0 && errno != syscall.EINPROGRESS {
		closeFD(fd)
		return nil, dialError(remote, os.NewSyscallError("connect", errno))
	}
	conn := &sockConn{remote: remote}
	if err := conn.open(p, fd); err != nil {
		closeFD(fd)
		return nil, dialError(remote, err)
	}
	if errno == syscall.EINPROGRESS {
		if err := conn.await(ctx, deadline); err != nil {
			conn.Close()
			return nil, dialError(remote, err)
		}
	}
	return conn, nil
}

// closeFD closes a descriptor with a direct call: a non-blocking socket's close does not wait.
func closeFD(fd int) { _, _, _ = syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0) }

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

// await waits until the connection is made, the deadline passes or ctx ends.
func (c *sockConn) await(ctx context.Context, deadline time.Time) error {
	if err := c.wantWritable(); err != nil {
		return err
	}
	c.p.watch(ctx)
	c.done = ctx.Done()
	c.setDeadline(deadline)
	defer func() { c.done = nil; c.setDeadline(time.Time{}) }()
	for {
		if err := c.wait(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		switch errno := connected(c.fd); errno {
		case 0:
			return nil
		case syscall.EINPROGRESS:
		default:
			return os.NewSyscallError("connect", errno)
		}
	}
}

func dialError(remote *net.TCPAddr, err error) *net.OpError {
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

// sockConn is a connection dialTCP made: a non-blocking socket the users' poller waits on, with the addresses and
// methods of a net.Conn, whose errors it names as a net.Conn names them (the event log's records carry them). One
// goroutine uses it at a time; it has one deadline, for reads and writes alike.
type sockConn struct {
	sock
	remote *net.TCPAddr
	closed bool
}

func (c *sockConn) RemoteAddr() net.Addr { return c.remote }

// LocalAddr asks the kernel, when something names it (an error, a PROXY header).
func (c *sockConn) LocalAddr() net.Addr {
	var local net.TCPAddr
	if c.closed {
		return &local
	}
	var rsa syscall.RawSockaddrAny
	l := uint32(syscall.SizeofSockaddrAny)
	if _, _, errno := syscall.RawSyscall(syscall.SYS_GETSOCKNAME, uintptr(c.fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l))); errno != 0 {
		return &local
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
	return &local
}

func (c *sockConn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, c.opError("read", net.ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, errno := sysRead(uintptr(c.fd), p)
		switch errno {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		case syscall.EINTR:
		case syscall.EAGAIN:
			if err := c.wait(); err != nil {
				return 0, c.opError("read", err)
			}
		default:
			return 0, c.opError("read", os.NewSyscallError("read", errno))
		}
	}
}

func (c *sockConn) Write(p []byte) (int, error) {
	if c.closed {
		return 0, c.opError("write", net.ErrClosed)
	}
	written := 0
	for written < len(p) {
		n, errno := sysWrite(uintptr(c.fd), p[written:])
		switch errno {
		case 0:
			written += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			// The send buffer is full: wait for room.
			if err := c.wantWritable(); err != nil {
				return written, c.opError("write", err)
			}
			if err := c.wait(); err != nil {
				return written, c.opError("write", err)
			}
		default:
			return written, c.opError("write", os.NewSyscallError("write", errno))
		}
	}
	return written, nil
}

// writeThenWait writes a request whole and waits until the poller saw the socket readable (the answer, most often:
// the reads that follow wait again when it was not); sent reports whether the request left whole.
func (c *sockConn) writeThenWait(buf []byte) (sent bool, err error) {
	if n, err := c.Write(buf); err != nil || n < len(buf) {
		return false, err
	}
	if err := c.wait(); err != nil {
		return true, c.opError("read", err)
	}
	return true, nil
}

// pending reports whether anything waits to be read: a byte, the end of the stream or an error. It never waits.
func (c *sockConn) pending() bool {
	var b [1]byte
	for {
		switch errno := sysPeek(uintptr(c.fd), b[:]); errno {
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			return true
		}
	}
}

func (c *sockConn) Close() error {
	if c.closed {
		return net.ErrClosed
	}
	c.closed = true
	c.close()
	return nil
}

// reset makes the close a reset (SO_LINGER 0).
func (c *sockConn) reset() {
	if !c.closed {
		resetOnClose(uintptr(c.fd))
	}
}

func (c *sockConn) SetDeadline(t time.Time) error {
	if c.closed {
		return c.opError("set deadline", net.ErrClosed)
	}
	c.setDeadline(t)
	return nil
}

func (c *sockConn) SetReadDeadline(t time.Time) error  { return c.SetDeadline(t) }
func (c *sockConn) SetWriteDeadline(t time.Time) error { return c.SetDeadline(t) }

func (c *sockConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.remote, Err: err}
}
