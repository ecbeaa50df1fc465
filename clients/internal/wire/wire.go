// Package wire is one simulated user's HTTP/1.1 client: one kept-alive connection to one host, each request
// written whole in a single write (the PROXY header in front of the first one), and of each answer only what a
// journey reads — the status, the headers it names, the Set-Cookie lines and, when asked, the body. It exists
// because net/http's Transport costs two goroutines, two buffers and a header map per connection, which tens of
// thousands of users at once, on the cores the system under test also uses, cannot afford. On a plain TCP
// connection the request is written and the answer read with direct calls on the socket (see Client.send), which
// the process's own epoll instance waits on (poller).
package wire

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Client is one user's connection to one host: at most one open at a time, reused while the server keeps it, and
// redialled when the server closed it. It is used by one goroutine at a time.
type Client struct {
	// Addr is the host:port to connect to.
	Addr string
	// TLS, when set, makes the connection https; its ServerName is the host to verify.
	TLS *tls.Config
	// Dial connects to Addr; nil dials plainly.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// From, when set and Dial is not, gives the address each new connection is made from: a user bound to its own
	// (loopback) address.
	From func() netip.Addr
	// Preamble, when set, gives the bytes sent ahead of everything else on a new connection (a PROXY protocol
	// header), from the connection's addresses.
	Preamble func(local, remote net.Addr) ([]byte, error)
	// Timeout bounds one exchange, the connection's set-up included; zero: none.
	Timeout time.Duration
	// Capture names the response headers the caller reads through Response.Header (compared without case).
	Capture []string

	conn net.Conn
	sock *sockConn       // conn, when dialTCP made it and it is plain TCP: see send
	raw  syscall.RawConn // conn's descriptor, when it is a plain net.TCPConn of Dial's: see send
	io   rawIO
	// writeThenWait and readNow bound to this Client, made once: a method value made at each call would be an
	// allocation per exchange.
	writeThenWaitFn, readNowFn func(fd uintptr) bool
	preamble                   []byte // still to send on conn: it has carried no request yet
	unwatch                    func() bool
	watching                   <-chan struct{} // the Done of the context whose end cuts conn
	peekBuf                    [1]byte         // what peekClosed looks into; nothing is kept in it
	// opened is what the last Do did (Opened); lost says why there is no connection now, for the next one to say.
	opened, lost Opened
	// answered is when the last exchange that kept the connection began.
	answered time.Time
}

// peekAfter is how long a connection is idle before a request that is harmless to repeat looks whether the server
// closed it (or sent something unasked, which would be read as the answer). No server's keep-alive timeout is this
// short; a close while the connection is busier than that comes with the answer before (Connection: close) or fails
// the next request before any byte of its answer, which is then sent again.
const peekAfter = 50 * time.Millisecond

// Request is what one exchange sends.
type Request struct {
	Method string
	Host   string // the Host header
	Target string // the request target: path and query
	// Header holds more header lines, each "Name: value\r\n" (Cookie, Content-Type, X-Forwarded-For).
	Header []byte
	Body   []byte
	// Keep says, from the answer's Content-Type, whether its body is kept in Response.Body; nil keeps none.
	Keep func(contentType string) bool
	// MaxBody bounds what is kept of a body; the rest is read and dropped. Zero: 64 KiB.
	MaxBody int
}

// Response is what the journey reads of an answer. Reuse one between exchanges to save its slices.
type Response struct {
	Status      int
	Location    string
	ContentType string
	RetryAfter  string
	SetCookie   []string
	Body        []byte
	captured    []string // values of Client.Capture, in its order
}

// interned holds the Content-Type and captured values answers carried lately, for every user at once: the same few
// (the replicas, their addresses, a page's type) repeat from one answer to the next and across users, and an answer
// that repeats one costs no new string. A slot is taken by the value its hash picks; two that share one only cost
// their strings again, as if they were not kept.
var interned [4096]atomic.Pointer[string]

// intern returns value as a string: one kept in interned when it is the same.
func intern(value []byte) string {
	h := uint32(2166136261) // FNV-1a: the slot does not depend on the process
	for _, c := range value {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &interned[h%uint32(len(interned))]
	if p := slot.Load(); p != nil && *p == string(value) { // compares without making a string
		return *p
	}
	s := string(value)
	slot.Store(&s)
	return s
}

// Header is the value of the idx-th name of Client.Capture ("" when the answer had none); repeated headers are
// joined with ", ", as net/http's Header.Values would list them.
func (r *Response) Header(idx int) string {
	if idx < len(r.captured) {
		return r.captured[idx]
	}
	return ""
}

func (r *Response) reset(capture int) {
	r.Status, r.Location, r.ContentType, r.RetryAfter = 0, "", "", ""
	r.SetCookie, r.Body = r.SetCookie[:0], nil
	r.captured = r.captured[:0]
	for range capture {
		r.captured = append(r.captured, "")
	}
}

// bufferSize is the read buffer an exchange borrows: big enough for the usual header line, while longer lines
// (a large Set-Cookie) are put together from several reads.
const bufferSize = 2 << 10

// Buffers are borrowed for an exchange and given back when it ends, so that a user thinking between pages holds
// none: with tens of thousands of users at once the buffers are what the memory would go to.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufferSize) }}
	writes  = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
)

// errNotWritten marks a request that did not leave: sending it again cannot repeat it.
var errNotWritten = errors.New("not sent")

func replayable(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return false
}

// ErrTimeout is returned when an exchange takes longer than Client.Timeout.
var ErrTimeout = errors.New("timeout")

// Opened says whether an exchange opened a new connection, and why: what the client knows of how the last one
// ended.
type Opened uint8

const (
	// Reused: the exchange went on the connection the one before left open (or ended before connecting).
	Reused Opened = iota
	// OpenedFirst: the client had held no connection yet.
	OpenedFirst
	// OpenedAfterClose: the caller had let the last one go (Close, Drop).
	OpenedAfterClose
	// OpenedServerClosed: the server had ended the last one. It was found closed while idle, before this request
	// went on it (a keep-alive timeout); or it failed before any byte of the answer and the request went again
	// on a new one; or the answer before did not keep it (Connection: close, an HTTP/1.0 answer, a body up to
	// the close, bytes after the answer).
	OpenedServerClosed
	// OpenedAfterError: the exchange before failed, which closes its connection.
	OpenedAfterError
)

func (o Opened) String() string {
	switch o {
	case Reused:
		return "reused"
	case OpenedFirst:
		return "first"
	case OpenedAfterClose:
		return "after close"
	case OpenedServerClosed:
		return "server closed"
	case OpenedAfterError:
		return "after error"
	}
	return "Opened(" + strconv.Itoa(int(o)) + ")"
}

// Opened says whether the last Do opened a new connection (or tried to: a dial that failed counts), and why.
func (c *Client) Opened() Opened { return c.opened }

// Do sends req and reads its answer into resp. When a connection the server may have closed while it was idle
// fails before any byte of the answer arrived, the request is sent once more on a new connection, as net/http
// does — a POST only if it was not written; that is still one request.
//
// Before a request goes on a connection it has held idle, a plain TCP connection is looked at (peekClosed): one the
// server has closed meanwhile is replaced before the request is written, so that no request, a POST neither, is
// lost to a keep-alive timeout on the server's side.
func (c *Client) Do(ctx context.Context, req *Request, resp *Response) error {
	c.opened = Reused
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.conn != nil && c.unwatch != nil && c.watching != ctx.Done() {
		// Watched for another context: watch this one instead, unless that one ended and its cut may come yet.
		if c.unwatch() {
			c.unwatch = nil
		} else {
			c.closeFor(OpenedAfterError) // cut, or about to be: as good as failed
		}
	}
	started, err := c.exchange(ctx, req, resp)
	reused := c.opened == Reused // it went on a connection held idle: one the server may have closed meanwhile
	// As net/http: a request that may have reached the server is sent again only when repeating it is harmless.
	replay := !started && (errors.Is(err, errNotWritten) || replayable(req.Method))
	if err != nil && reused && replay && ctx.Err() == nil && !errors.Is(err, ErrTimeout) {
		c.closeFor(OpenedServerClosed)
		_, err = c.exchange(ctx, req, resp)
	}
	if err != nil {
		c.closeFor(OpenedAfterError)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if c.sock != nil {
		// Idle until the next exchange: no deadline for the poller to look at, no context to wake it for.
		c.sock.deadline.Store(0)
		c.sock.done = nil
	}
	return err
}

// exchange makes one try; started reports whether any byte of the answer came.
func (c *Client) exchange(ctx context.Context, req *Request, resp *Response) (started bool, err error) {
	now := time.Now()
	var deadline time.Time
	if c.Timeout > 0 {
		deadline = now.Add(c.Timeout)
	}
	held := c.conn != nil
	if err := c.ready(ctx, deadline); err != nil {
		return false, err
	}
	// Looked at once the deadline is set: the peek, a read, fails on one that passed while the connection was idle.
	// A request that is harmless to repeat on a connection the answer before left moments ago is not looked at: a
	// close that comes meanwhile fails it before any byte of an answer, and it goes again on a new connection (Do).
	if held && (!replayable(req.Method) || now.Sub(c.answered) >= peekAfter) && c.peekClosed() {
		c.closeFor(OpenedServerClosed)
		if err := c.ready(ctx, deadline); err != nil {
			return false, err
		}
	}
	bp := writes.Get().(*[]byte)
	buf := appendRequest(append((*bp)[:0], c.preamble...), req)
	sent, err := c.send(buf)
	*bp = buf[:0]
	writes.Put(bp)
	if err != nil && !sent {
		return false, fmt.Errorf("write request: %w: %w", errNotWritten, c.timedOut(err))
	}
	if err != nil {
		return false, fmt.Errorf("read answer: %w", c.timedOut(err))
	}
	c.preamble = nil
	br := readers.Get().(*bufio.Reader)
	switch {
	case c.sock != nil:
		br.Reset(c.sock)
	case c.raw != nil:
		br.Reset((*rawReader)(c))
	default:
		br.Reset(c.conn)
	}
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	keep, started, err := readResponse(br, req, resp, c.Capture)
	if err != nil {
		return started, fmt.Errorf("read answer: %w", c.timedOut(err))
	}
	if !keep || br.Buffered() > 0 {
		c.closeFor(OpenedServerClosed)
	}
	c.answered = now
	return true, nil
}

// ready connects when there is no connection, and sets the connection up for an exchange ending at deadline.
func (c *Client) ready(ctx context.Context, deadline time.Time) error {
	if c.conn == nil {
		if err := c.connect(ctx, deadline); err != nil {
			return err
		}
	}
	if s := c.sock; s != nil {
		// The poller wakes the users of a context that ended, and each finds its own ended: no watch per
		// connection, nor a timer per exchange.
		if done := ctx.Done(); c.watching != done {
			s.p.watch(ctx)
			c.watching = done
		}
		s.done = c.watching
		s.setDeadline(deadline)
		return ctx.Err()
	}
	if c.unwatch == nil {
		// A run that ends cuts the exchanges in flight: the connection's deadline passes at once.
		conn := c.conn
		c.unwatch, c.watching = context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) }), ctx.Done()
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return err
	}
	return ctx.Err() // ended while the deadline was being set: the watch's cut may be undone
}

func (c *Client) timedOut(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w after %s", ErrTimeout, c.Timeout)
	}
	return err
}

func (c *Client) connect(ctx context.Context, deadline time.Time) error {
	c.opened = c.lost
	if c.opened == Reused {
		c.opened = OpenedFirst
	}
	var conn net.Conn
	var err error
	ap, perr := netip.ParseAddrPort(c.Addr)
	if c.Dial == nil && perr == nil {
		// An address needs no resolving, and is dialled with direct calls (dialTCP), which take the deadline as
		// it is: no context of its own per connection.
		var from netip.Addr
		if c.From != nil {
			from = c.From()
		}
		conn, err = dialTCP(ctx, ap, from, deadline)
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("dial %s: %w after %s", c.Addr, ErrTimeout, c.Timeout)
		}
	} else {
		dctx := ctx
		if !deadline.IsZero() {
			var cancel context.CancelFunc
			dctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
		if c.Dial != nil {
			conn, err = c.Dial(dctx, c.Addr)
		} else {
			// No TCP keep-alive probes: a user's connection lives for a journey, and the four socket options
			// they take are a measurable share of opening it.
			d := net.Dialer{KeepAlive: -1}
			if c.From != nil {
				d.LocalAddr = &net.TCPAddr{IP: c.From().AsSlice()}
			}
			conn, err = d.DialContext(dctx, "tcp", c.Addr)
		}
		if err != nil && dctx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("dial %s: %w after %s", c.Addr, ErrTimeout, c.Timeout)
		}
	}
	if err != nil {
		return fmt.Errorf("dial %s: %w", c.Addr, err)
	}
	var preamble []byte
	if c.Preamble != nil {
		if preamble, err = c.Preamble(conn.LocalAddr(), conn.RemoteAddr()); err != nil {
			conn.Close()
			return fmt.Errorf("PROXY header: %w", err)
		}
	}
	if c.TLS != nil {
		// TLS starts after the PROXY header, which the balancer reads in the clear.
		if len(preamble) > 0 {
			if _, err := conn.Write(preamble); err != nil {
				conn.Close()
				return fmt.Errorf("write PROXY header: %w", err)
			}
			preamble = nil
		}
		conn = tls.Client(conn, c.TLS)
	}
	c.conn, c.preamble = conn, preamble
	if sc, ok := conn.(*sockConn); ok {
		c.sock = sc
	} else if sc, ok := plainTCP(conn); ok {
		if c.raw, err = sc.SyscallConn(); err != nil {
			conn.Close()
			return fmt.Errorf("dial %s: %w", c.Addr, err)
		}
		if c.readNowFn == nil {
			c.writeThenWaitFn, c.readNowFn = c.writeThenWait, c.readNow
		}
	}
	return nil
}

// send writes a request and, on a plain TCP connection, waits until the answer can be read; sent reports whether
// the request left whole. A connection dialTCP made is written and waited on through the users' poller (sockConn,
// poller); one a Dial of the caller's or a host name made, as follows.
//
// Two costs of Go's own socket calls are worth avoiding for a client that spends most of its time waiting on the
// system under test, on the same cores. Its read tries the socket before it waits, which right after a request is
// nearly always a read that finds nothing. And each of its calls tells the scheduler it may block, which wakes the
// runtime's monitor thread whenever that went to sleep in a quiet moment (docs/performance.md says what the two
// cost). Calls on a non-blocking socket never block, so here they are made
// directly, from inside the connection's raw read: the request goes out after the descriptor's readiness was reset,
// so the wait cannot miss an answer that came quickly.
func (c *Client) send(buf []byte) (sent bool, err error) {
	if c.sock != nil {
		return c.sock.writeThenWait(buf)
	}
	if c.raw == nil {
		_, err := c.conn.Write(buf)
		return err == nil, err
	}
	c.io = rawIO{buf: buf}
	err = c.raw.Read(c.writeThenWaitFn)
	written, werr := c.io.n, c.io.err
	c.io = rawIO{}
	switch {
	case written == len(buf):
		return true, err // err: the wait for the answer failed (a deadline, a closed connection)
	case werr == syscall.EAGAIN:
		// The send buffer is full: the rest goes the ordinary way, which waits for room.
		_, err := c.conn.Write(buf[written:])
		return err == nil, err
	case werr != 0:
		return false, c.opError("write", werr)
	}
	return false, err // the wait ended before the write was tried
}

// rawIO is the state of one raw call, kept in the Client so that its callbacks are made once per connection.
type rawIO struct {
	buf   []byte
	n     int
	err   syscall.Errno
	tried bool
	// peek: readNow only looks whether anything waits (peekClosed); a callback of its own would be one more
	// allocation per user.
	peek bool
}

func (c *Client) writeThenWait(fd uintptr) bool {
	if c.io.tried {
		return true // readable, or woken for nothing: the read that follows then waits again
	}
	c.io.tried = true
	for c.io.n < len(c.io.buf) {
		p := c.io.buf[c.io.n:]
		n, errno := sysWrite(fd, p)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			c.io.err = errno
			return true
		}
		c.io.n += int(n)
	}
	return false
}

func (c *Client) readNow(fd uintptr) bool {
	if c.io.peek {
		return c.peek(fd)
	}
	for {
		n, errno := sysRead(fd, c.io.buf)
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // nothing yet: wait until the socket is readable
		}
		c.io.n, c.io.err = int(n), errno
		return true
	}
}

// peekClosed reports whether a plain TCP connection held idle cannot carry the next request: the server closed it
// (its FIN or reset is waiting) or sent something nobody asked for (an error answer before closing). It looks
// with one non-blocking peek, made directly from inside the raw read as send's calls are (see send), which never
// waits: only a peek that finds nothing waiting, EAGAIN, leaves the connection in use. A TLS connection is not
// looked at (its records would have to be read): a GET that fails on it is sent again, a POST is not.
func (c *Client) peekClosed() bool {
	if c.sock != nil {
		return c.sock.pending()
	}
	if c.raw == nil {
		return false
	}
	c.io = rawIO{peek: true}
	err := c.raw.Read(c.readNowFn)
	errno := c.io.err
	c.io = rawIO{}
	return err != nil || errno != syscall.EAGAIN
}

func (c *Client) peek(fd uintptr) bool {
	for {
		errno := sysPeek(fd, c.peekBuf[:])
		if errno != syscall.EINTR {
			c.io.err = errno // 0: a byte or the end of the stream is waiting
			return true      // never wait
		}
	}
}

// rawReader reads a plain TCP connection the way send writes it.
type rawReader Client

func (r *rawReader) Read(p []byte) (int, error) {
	c := (*Client)(r)
	if len(p) == 0 {
		return 0, nil
	}
	c.io = rawIO{buf: p}
	err := c.raw.Read(c.readNowFn)
	n, errno := c.io.n, c.io.err
	c.io = rawIO{}
	switch {
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.conn.LocalAddr(), Addr: c.conn.RemoteAddr(), Err: err}
	case errno != 0:
		return 0, c.opError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *Client) opError(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.conn.LocalAddr(), Addr: c.conn.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}

// Drop lets an idle connection go as a keep-alive timeout would, but with a reset instead of the usual closing
// handshake: a closing handshake leaves the port in TIME_WAIT on this machine for a minute, and tens of thousands
// of simulated users who drop a connection before every pause would use up the machine's ports, which real users
// on their own machines never share.
func (c *Client) Drop() {
	if c.conn == nil {
		return
	}
	raw, conn := c.raw, c.conn
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
		if sc, ok := plainTCP(conn); ok {
			raw, _ = sc.SyscallConn()
		}
	}
	if sc, ok := conn.(*sockConn); ok {
		sc.reset()
	}
	if raw != nil {
		_ = raw.Control(resetOnClose)
	}
	c.Close()
}

// plainTCP is conn's descriptor when conn is a TCP connection as dialled (not TLS, nor a caller's own kind).
func plainTCP(conn net.Conn) (syscall.Conn, bool) {
	if tc, ok := conn.(*net.TCPConn); ok {
		return tc, true
	}
	return nil, false
}

// Close closes the connection, if one is open; the next exchange opens another.
func (c *Client) Close() {
	if c.conn != nil {
		c.closeFor(OpenedAfterClose)
	}
}

// closeFor closes the connection, if one is open, and keeps why there is none for the next one to report.
func (c *Client) closeFor(why Opened) {
	c.lost = why
	if c.conn == nil {
		return
	}
	if c.unwatch != nil {
		c.unwatch()
	}
	_ = c.conn.Close()
	c.conn, c.sock, c.raw, c.preamble, c.unwatch, c.watching = nil, nil, nil, nil, nil, nil
}

func appendRequest(b []byte, req *Request) []byte {
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, req.Target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, req.Host...)
	b = append(b, "\r\nUser-Agent: sessionlab\r\n"...)
	b = append(b, req.Header...)
	if len(req.Body) > 0 || req.Method == "POST" || req.Method == "PUT" || req.Method == "PATCH" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.Body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, req.Body...)
}

var errMalformed = errors.New("malformed HTTP answer")

// readResponse reads one answer (after any 1xx interim answers). keep reports whether the connection can carry
// another request.
func readResponse(br *bufio.Reader, req *Request, resp *Response, capture []string) (keep, started bool, err error) {
	for {
		resp.reset(len(capture))
		line, err := readLine(br)
		if err != nil {
			return false, started || len(line) > 0, err
		}
		started = true
		proto, rest, ok := bytes.Cut(line, []byte(" "))
		if !ok || len(rest) < 3 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
			return false, true, fmt.Errorf("%w: status line %q", errMalformed, trim(line))
		}
		code, err := strconv.Atoi(string(rest[:3]))
		if err != nil || code < 100 {
			return false, true, fmt.Errorf("%w: status line %q", errMalformed, trim(line))
		}
		resp.Status = code
		keep = string(proto) == "HTTP/1.1"
		length, chunked := int64(-1), false
		for {
			line, err := readLine(br)
			if err != nil {
				return false, true, err
			}
			if len(line) == 0 {
				break
			}
			name, value, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				return false, true, fmt.Errorf("%w: header line %q", errMalformed, trim(line))
			}
			value = bytes.TrimSpace(value)
			if !readHeader(resp, &length, &chunked, &keep, name, value, capture) {
				return false, true, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
		}
		if code >= 100 && code < 200 && code != 101 {
			continue // an interim answer: the real one follows
		}
		if req.Method == "HEAD" || code == 204 || code == 304 || (code >= 100 && code < 200) {
			return keep && code != 101, true, nil
		}
		maxBody := req.MaxBody
		if maxBody <= 0 {
			maxBody = 64 << 10
		}
		var body *bodyBuf
		if req.Keep != nil && req.Keep(resp.ContentType) {
			body = &bodyBuf{max: maxBody}
			if length > 0 {
				body.b = make([]byte, 0, min(length, int64(maxBody)))
			}
		}
		switch {
		case chunked:
			err = readChunked(br, body)
		case length >= 0:
			err = readN(br, length, body)
		default:
			// Neither a length nor chunks: the body ends when the server closes.
			keep = false
			err = readN(br, -1, body)
		}
		if body != nil {
			resp.Body = body.b
		}
		return keep, true, err
	}
}

// readHeader takes in one header line of an answer; false: a Content-Length that is not a length. The names are
// told apart by their length first: an answer's lines are mostly ones no case reads.
func readHeader(resp *Response, length *int64, chunked, keep *bool, name, value []byte, capture []string) bool {
	switch len(name) {
	case len("Content-Length"):
		if equalFold(name, "Content-Length") {
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return false
			}
			*length = n
			return true
		}
	case len("Transfer-Encoding"):
		if equalFold(name, "Transfer-Encoding") {
			*chunked = bytes.EqualFold(value, []byte("chunked"))
			return true
		}
	case len("Connection"): // and "Set-Cookie"
		switch {
		case equalFold(name, "Connection"):
			if bytes.EqualFold(value, []byte("close")) {
				*keep = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				*keep = true
			}
			return true
		case equalFold(name, "Set-Cookie"):
			resp.SetCookie = append(resp.SetCookie, string(value))
			return true
		}
	case len("Location"):
		if equalFold(name, "Location") {
			resp.Location = string(value)
			return true
		}
	case len("Content-Type"):
		if equalFold(name, "Content-Type") {
			resp.ContentType = intern(value)
			return true
		}
	case len("Retry-After"):
		if equalFold(name, "Retry-After") {
			resp.RetryAfter = string(value)
			return true
		}
	}
	for i, c := range capture {
		if equalFold(name, c) {
			if resp.captured[i] != "" {
				resp.captured[i] += ", " + string(value)
			} else {
				resp.captured[i] = intern(value)
			}
		}
	}
	return true
}

// bodyBuf keeps up to max bytes of a body.
type bodyBuf struct {
	b   []byte
	max int
}

func (k *bodyBuf) add(p []byte) {
	if k == nil {
		return
	}
	if room := k.max - len(k.b); room < len(p) {
		p = p[:max(room, 0)]
	}
	k.b = append(k.b, p...)
}

// readN reads n bytes of body (n < 0: until the end of the stream).
func readN(br *bufio.Reader, n int64, body *bodyBuf) error {
	for n != 0 {
		if _, err := br.Peek(1); err != nil {
			if n < 0 && err == io.EOF {
				return nil
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		avail := int64(br.Buffered())
		if n >= 0 {
			avail = min(avail, n)
		}
		p, _ := br.Peek(int(avail))
		body.add(p)
		_, _ = br.Discard(int(avail))
		if n > 0 {
			n -= avail
		}
	}
	return nil
}

func readChunked(br *bufio.Reader, body *bodyBuf) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return noEOF(err)
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, trim(line))
		}
		if size == 0 {
			for { // trailers, up to the empty line
				line, err := readLine(br)
				if err != nil {
					return noEOF(err)
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if err := readN(br, size, body); err != nil {
			return err
		}
		if line, err := readLine(br); err != nil || len(line) != 0 {
			return fmt.Errorf("%w: no CRLF after a chunk", errMalformed)
		}
	}
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// maxLine bounds one status or header line; net/http's default for all headers is 1 MiB.
const maxLine = 1 << 20

// readLine reads one line without its CRLF. The slice is valid until the next read; a line longer than the
// buffer is put together in a new slice.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull && len(long) < maxLine {
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		if err == bufio.ErrBufferFull {
			return nil, fmt.Errorf("%w: a header line longer than %d bytes", errMalformed, maxLine)
		}
		line = long
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return line, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func trim(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// equalFold compares a header name with an ASCII name without case and without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
