package wire

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// poller waits on the users' sockets with an epoll instance of the process's own, which Go's poller watches as one
// descriptor; one goroutine (run) takes what it reports and wakes the users whose sockets are ready.
//
// Go's own way, an *os.File or a net.Conn per socket, makes two of a connection's calls through the scheduler
// (fcntl when the file is made, close), and each such call wakes the runtime's monitor thread if it was asleep,
// which then polls every 20 µs for a millisecond; a user's exchange also sets a deadline timer, and the file takes
// a lock for each call. Here every call on a user's socket is a direct one that cannot block (the socket is
// non-blocking, its close a reset or a plain close): the monitor thread sleeps while the users wait
// (docs/performance.md says what it saves).
type poller struct {
	epfd int
	file *os.File        // epfd as Go's poller watches it, open for the process's life
	raw  syscall.RawConn // file's

	mu      sync.Mutex
	socks   []*sock // by descriptor; a socket is here from before it is added to epfd until it is closed
	gen     uint32  // tells a descriptor's sockets apart: an event for a closed one is dropped
	watched map[<-chan struct{}]struct{}
	// wakeAt is when run next looks for deadlines that passed (Unix nanoseconds); 0: none is set.
	wakeAt atomic.Int64
	events [128]syscall.EpollEvent // run's alone
}

// maxDeadlineWait bounds how long run goes without looking at the deadlines, whatever it was told.
const maxDeadlineWait = time.Second

var (
	thePoller   *poller
	pollerErr   error
	pollerStart sync.Once
)

// getPoller is the process's poller, started on first use.
func getPoller() (*poller, error) {
	pollerStart.Do(func() {
		thePoller, pollerErr = newPoller()
		if pollerErr == nil {
			go thePoller.run()
		}
	})
	return thePoller, pollerErr
}

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, so that os.NewFile hands the instance to Go's poller: it is readable while it has events.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &poller{epfd: epfd, file: f, raw: raw, watched: map[<-chan struct{}]struct{}{}}, nil
}

// run takes the events epfd reports and wakes their sockets' users, for the process's life.
func (p *poller) run() {
	for {
		err := p.raw.Read(p.drain)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			p.expire()
			continue
		}
		// Only a closed epfd ends the wait, and it is never closed.
		panic(fmt.Sprintf("wire: the users' poller stopped: %v", err))
	}
}

// drain takes every event waiting, without blocking, and reports false to be called again when epfd is readable.
func (p *poller) drain(uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(unsafe.Pointer(&p.events[0])),
			uintptr(len(p.events)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			panic(fmt.Sprintf("wire: epoll_pwait: %v", errno))
		}
		if n > 0 {
			p.mu.Lock()
			for _, ev := range p.events[:n] {
				fd, gen := int(ev.Fd), uint32(ev.Pad)
				if fd < len(p.socks) {
					if s := p.socks[fd]; s != nil && s.gen == gen {
						s.notify()
					}
				}
			}
			p.mu.Unlock()
		}
		if int(n) < len(p.events) {
			return false
		}
	}
}

// expire wakes the sockets whose deadline passed and says when to look again.
func (p *poller) expire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now().UnixNano()
	next := int64(0)
	for _, s := range p.socks {
		if s == nil {
			continue
		}
		switch d := s.deadline.Load(); {
		case d == 0:
		case d <= now:
			s.expired.Store(d)
			s.notify()
		case next == 0 || d < next:
			next = d
		}
	}
	p.setWakeLocked(next, now)
}

// setWakeLocked makes run look at the deadlines at next (0: none set), at most maxDeadlineWait from now.
func (p *poller) setWakeLocked(next, now int64) {
	if next != 0 {
		next = min(next, now+int64(maxDeadlineWait))
	}
	p.wakeAt.Store(next)
	t := time.Time{}
	if next != 0 {
		t = time.Unix(0, next)
	}
	_ = p.file.SetReadDeadline(t)
}

// deadlineSet is told of a socket's new deadline d: run is made to look at it in time.
func (p *poller) deadlineSet(d int64) {
	w := p.wakeAt.Load()
	if w != 0 && d >= w && w > time.Now().UnixNano() {
		return // run looks before d, and has not looked yet
	}
	p.mu.Lock()
	if w := p.wakeAt.Load(); w == 0 || d < w {
		p.setWakeLocked(d, time.Now().UnixNano())
	}
	p.mu.Unlock()
}

// watch wakes every socket when ctx ends, so that a user waiting with ctx finds it ended.
func (p *poller) watch(ctx context.Context) {
	done := ctx.Done()
	if done == nil {
		return
	}
	p.mu.Lock()
	_, seen := p.watched[done]
	if !seen {
		p.watched[done] = struct{}{}
	}
	p.mu.Unlock()
	if seen {
		return
	}
	context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.watched, done)
		for _, s := range p.socks {
			if s != nil {
				s.notify()
			}
		}
	})
}

// add registers s for its descriptor and adds the descriptor to epfd.
func (p *poller) add(s *sock) error {
	p.mu.Lock()
	if s.fd >= len(p.socks) {
		p.socks = append(p.socks, make([]*sock, s.fd+1-len(p.socks)+len(p.socks)/4)...)
	}
	p.gen++
	s.gen = p.gen
	p.socks[s.fd] = s
	p.mu.Unlock()
	// Edge-triggered, and for reading alone: each arrival leaves one token in s.wake, and what is already waiting
	// is found by the call a user makes before it waits. Writability is asked for only when a write must wait
	// (wantWritable): a token for each connect that ends would wake its user for nothing.
	ev := syscall.EpollEvent{Events: readEvents, Fd: int32(s.fd), Pad: int32(s.gen)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		p.remove(s)
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

const readEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | -syscall.EPOLLET

// wantWritable has the poller wake s when it can be written too (a connect in progress, a full send buffer).
func (s *sock) wantWritable() error {
	if s.writable {
		return nil
	}
	ev := syscall.EpollEvent{Events: readEvents | syscall.EPOLLOUT, Fd: int32(s.fd), Pad: int32(s.gen)}
	if err := syscall.EpollCtl(s.p.epfd, syscall.EPOLL_CTL_MOD, s.fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	s.writable = true
	return nil
}

// remove forgets s: no event wakes it any more. Closing its descriptor takes it out of epfd.
func (p *poller) remove(s *sock) {
	p.mu.Lock()
	if s.fd < len(p.socks) && p.socks[s.fd] == s {
		p.socks[s.fd] = nil
	}
	p.mu.Unlock()
}

// sock is one user's socket as the poller knows it. It is used by one goroutine at a time; the poller only leaves
// tokens in wake.
type sock struct {
	p   *poller
	fd  int
	gen uint32
	// wake holds a token when the poller saw the socket ready (or a deadline passed, or a watched context ended)
	// since the user last took one: the user then tries its call again.
	wake chan struct{}
	// deadline is when the user's calls fail with os.ErrDeadlineExceeded (Unix nanoseconds); 0: none. expired is the
	// deadline the poller last found passed: the user's wait fails while it is the one set, and a wait never asks
	// the clock.
	deadline, expired atomic.Int64
	// done, when it is closed, fails the user's waits as a passed deadline does (the context of the exchange).
	done <-chan struct{}
	// writable: the poller wakes s when it can be written, too (wantWritable).
	writable bool
}

func (s *sock) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// open makes s the poller's for descriptor fd (a socket made non-blocking), reusing its token channel.
func (s *sock) open(p *poller, fd int) error {
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
	select {
	case <-s.wake: // left from the last descriptor
	default:
	}
	s.p, s.fd, s.done, s.writable = p, fd, nil, false
	s.deadline.Store(0)
	return p.add(s)
}

// wait blocks until the poller leaves a token, after which the caller tries its call again; it fails when the
// poller found the deadline passed, or done ended. A deadline that passed before the poller looked is waited past:
// the poller looks at it in time (deadlineSet) and wakes the user.
func (s *sock) wait() error {
	if d := s.deadline.Load(); d != 0 && s.expired.Load() == d {
		return os.ErrDeadlineExceeded
	}
	if s.done != nil {
		select {
		case <-s.done:
			return os.ErrDeadlineExceeded
		default:
		}
	}
	<-s.wake
	return nil
}

// setDeadline sets when the user's calls fail (the zero time: never).
func (s *sock) setDeadline(t time.Time) {
	if t.IsZero() {
		s.deadline.Store(0)
		return
	}
	d := t.UnixNano()
	s.deadline.Store(d)
	s.p.deadlineSet(d)
}

// close forgets the socket and closes its descriptor with a direct call: a non-blocking socket's close does not
// wait.
func (s *sock) close() {
	s.p.remove(s)
	closeFD(s.fd)
	s.fd = -1
}
