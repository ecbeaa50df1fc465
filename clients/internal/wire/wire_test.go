package wire

// The tests are in the package itself (not wire_test) for three things only: FuzzReadResponse calls readResponse
// on bytes, the malformed answers are told apart by errMalformed, and a few tests look whether the client still
// holds its connection (c.conn) after an answer that ends it.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/pires/go-proxyproto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --- helpers ---

// newServer starts an httptest server for h and counts the TCP connections it accepts.
func newServer(t testing.TB, h http.HandlerFunc) (addr string, conns *atomic.Int32) {
	t.Helper()
	conns = new(atomic.Int32)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), conns
}

// newClient is a client for addr, closed when the test ends (before the servers it started earlier are).
func newClient(t testing.TB, addr string) *Client {
	t.Helper()
	c := &Client{Addr: addr, Timeout: 5 * time.Second}
	t.Cleanup(c.Close)
	return c
}

func keepAll(string) bool { return true }

func get(target string) *Request {
	return &Request{Method: "GET", Host: "example.test", Target: target, Keep: keepAll}
}

// do makes one exchange that must succeed.
func do(t testing.TB, c *Client, req *Request) *Response {
	t.Helper()
	var resp Response
	require.NoError(t, c.Do(context.Background(), req, &resp))
	return &resp
}

// rawServer is a TCP server on 127.0.0.1 whose connections serve handles; it counts the connections and the
// requests that answering (below) read.
type rawServer struct {
	addr     string
	conns    atomic.Int32
	requests atomic.Int32
}

func newRawServer(t testing.TB, serve func(s *rawServer, n int, conn net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &rawServer{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			mu.Lock()
			open = append(open, conn)
			mu.Unlock()
			n := int(s.conns.Add(1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				serve(s, n, conn)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

// answering serves each request read on a connection with what answer gives, written as is; close ends the
// connection after it (an empty answer with close: closed without answering).
func answering(answer func(conn, req int, r *http.Request) (text string, close bool)) func(s *rawServer, n int, conn net.Conn) {
	return func(s *rawServer, n int, conn net.Conn) {
		br := bufio.NewReader(conn)
		for i := 1; ; i++ {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, r.Body)
			s.requests.Add(1)
			text, closeAfter := answer(n, i, r)
			if text != "" {
				if _, err := io.WriteString(conn, text); err != nil {
					return
				}
			}
			if closeAfter {
				return
			}
		}
	}
}

// seen is what a test compares of a Response.
type seen struct {
	Status      int
	Location    string
	ContentType string
	RetryAfter  string
	SetCookie   []string
	Body        string
	Header      []string
}

func view(r *Response, capture int) seen {
	s := seen{Status: r.Status, Location: r.Location, ContentType: r.ContentType, RetryAfter: r.RetryAfter, Body: string(r.Body)}
	if len(r.SetCookie) > 0 {
		s.SetCookie = append([]string(nil), r.SetCookie...)
	}
	for i := range capture {
		s.Header = append(s.Header, r.Header(i))
	}
	return s
}

// pattern is n bytes of a text whose every prefix differs.
func pattern(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('.')
	}
	return b.String()[:n]
}

// --- answers from net/http ---

func TestAnswers(t *testing.T) {
	capture := []string{"x-replica", "X-MULTI", "X-Absent"}
	html := func(ct string) bool { return strings.HasPrefix(ct, "text/html") }
	tests := []struct {
		name    string
		method  string
		keep    func(string) bool
		handler http.HandlerFunc
		want    seen
	}{
		{
			name: "redirect with Location",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "/next?a=1")
				w.WriteHeader(http.StatusFound)
			},
			want: seen{Status: 302, Location: "/next?a=1"},
		},
		{
			name: "Content-Type and a kept body",
			keep: html,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				io.WriteString(w, "<p>hi</p>")
			},
			want: seen{Status: 200, ContentType: "text/html; charset=utf-8", Body: "<p>hi</p>"},
		},
		{
			name: "body dropped when Keep says no",
			keep: html,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				io.WriteString(w, "not kept")
			},
			want: seen{Status: 200, ContentType: "application/octet-stream"},
		},
		{
			name: "body dropped when Keep is nil",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "not kept")
			},
			want: seen{Status: 200, ContentType: "text/html"},
		},
		{
			name: "Set-Cookie lines in order",
			keep: keepAll,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Set-Cookie", "a=1")
				w.Header().Add("Set-Cookie", "b=2; Path=/; HttpOnly")
				w.Header().Add("Set-Cookie", "c=3; Expires=Wed, 21 Oct 2015 07:28:00 GMT")
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "ok")
			},
			want: seen{Status: 200, ContentType: "text/plain", Body: "ok",
				SetCookie: []string{"a=1", "b=2; Path=/; HttpOnly", "c=3; Expires=Wed, 21 Oct 2015 07:28:00 GMT"}},
		},
		{
			name: "captured headers: any case, repeated ones joined",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(contract.ReplicaHeader, "r1")
				w.Header().Add("X-Multi", "a")
				w.Header().Add("X-Multi", "b, c")
				w.Header().Set("X-Other", "no")
				w.WriteHeader(http.StatusNoContent)
			},
			want: seen{Status: 204, Header: []string{"r1", "a, b, c", ""}},
		},
		{
			name: "Retry-After",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "busy")
			},
			want: seen{Status: 503, ContentType: "text/plain", RetryAfter: "7"},
		},
		{
			name: "Content-Length body",
			keep: keepAll,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Content-Length", "10000")
				io.WriteString(w, pattern(10000))
			},
			want: seen{Status: 200, ContentType: "text/plain", Body: pattern(10000)},
		},
		{
			name: "chunked body with trailers",
			keep: keepAll,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Trailer", "X-Sum")
				p := pattern(9000)
				io.WriteString(w, p[:10])
				w.(http.Flusher).Flush()
				io.WriteString(w, p[10:5000])
				w.(http.Flusher).Flush()
				io.WriteString(w, p[5000:])
				w.Header().Set("X-Sum", "42")
			},
			want: seen{Status: 200, ContentType: "text/plain", Body: pattern(9000)},
		},
		{
			name:   "HEAD has no body whatever its Content-Length",
			method: "HEAD",
			keep:   keepAll,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("Content-Length", "5000")
				w.Header().Set("Set-Cookie", "h=1")
			},
			want: seen{Status: 200, ContentType: "text/html", SetCookie: []string{"h=1"}},
		},
		{
			name: "204 has no body",
			keep: keepAll,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			},
			want: seen{Status: 204},
		},
		{
			name: "304 has no body",
			keep: keepAll,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"v1"`)
				w.Header().Set("Set-Cookie", "v=1")
				w.WriteHeader(http.StatusNotModified) // net/http drops a Content-Type on a 304
			},
			want: seen{Status: 304, SetCookie: []string{"v=1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, conns := newServer(t, tt.handler)
			c := newClient(t, addr)
			c.Capture = capture
			want := tt.want
			if want.Header == nil {
				want.Header = []string{"", "", ""}
			}
			method := tt.method
			if method == "" {
				method = "GET"
			}
			var keptFor []string
			keep := tt.keep
			if keep != nil {
				keep = func(ct string) bool { keptFor = append(keptFor, ct); return tt.keep(ct) }
			}
			var resp Response // reused: nothing of the first answer may stay in the second
			for i := range 3 {
				req := &Request{Method: method, Host: "example.test", Target: "/" + strconv.Itoa(i), Keep: keep}
				require.NoError(t, c.Do(context.Background(), req, &resp), "exchange %d", i)
				assert.Equal(t, want, view(&resp, len(capture)), "exchange %d", i)
			}
			assert.EqualValues(t, 1, conns.Load(), "the three exchanges share one connection")
			for _, ct := range keptFor {
				assert.Equal(t, want.ContentType, ct, "Keep is asked with the answer's Content-Type")
			}
		})
	}
}

// Header names are matched without case even where a server (unlike net/http) does not canonicalise them.
func TestHeaderNamesWithoutCase(t *testing.T) {
	s := newRawServer(t, answering(func(_, _ int, _ *http.Request) (string, bool) {
		return "HTTP/1.1 302 Found\r\nlocation: /a\r\nCONTENT-TYPE: text/html\r\nset-cookie: x=1\r\nSet-Cookie:y=2\r\n" +
			"retry-after:  3  \r\nx-rEPLICA: r9\r\ncontent-length: 4\r\n\r\nbody", false
	}))
	c := newClient(t, s.addr)
	c.Capture = []string{contract.ReplicaHeader}
	for range 2 {
		resp := do(t, c, get("/"))
		assert.Equal(t, seen{Status: 302, Location: "/a", ContentType: "text/html", RetryAfter: "3",
			SetCookie: []string{"x=1", "y=2"}, Body: "body", Header: []string{"r9"}}, view(resp, 1))
	}
	assert.EqualValues(t, 1, s.conns.Load())
}

func TestMaxBody(t *testing.T) {
	const big = 100 << 10
	addr, conns := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") != "" {
			p := pattern(n)
			for len(p) > 0 {
				k := min(len(p), 777)
				io.WriteString(w, p[:k])
				w.(http.Flusher).Flush()
				p = p[k:]
			}
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		io.WriteString(w, pattern(n))
	})
	tests := []struct {
		name    string
		target  string
		maxBody int
		want    int
	}{
		{"Content-Length body cut", "/?n=10000", 100, 100},
		{"chunked body cut", "/?n=10000&chunked=1", 100, 100},
		{"chunked body cut mid-chunk", "/?n=10000&chunked=1", 1000, 1000},
		{"default bound 64 KiB", "/?n=" + strconv.Itoa(big), 0, 64 << 10},
		{"chunked, default bound", "/?n=" + strconv.Itoa(big) + "&chunked=1", 0, 64 << 10},
		{"bound above the body", "/?n=300", 1000, 300},
		{"bound equal to the body", "/?n=300&chunked=1", 300, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := conns.Load()
			c := newClient(t, addr)
			req := get(tt.target)
			req.MaxBody = tt.maxBody
			resp := do(t, c, req)
			assert.Equal(t, 200, resp.Status)
			assert.Equal(t, pattern(tt.want), string(resp.Body))
			// The rest of the body was read: the connection carries the next exchange.
			resp = do(t, c, get("/?n=2"))
			assert.Equal(t, pattern(2), string(resp.Body))
			assert.Equal(t, before+1, conns.Load(), "one connection for both exchanges")
		})
	}
}

// --- connections ---

func TestConnectionReuse(t *testing.T) {
	addr, conns := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	})
	c := newClient(t, addr)
	for i := range 10 {
		resp := do(t, c, get("/"+strconv.Itoa(i)))
		assert.Equal(t, "/"+strconv.Itoa(i), string(resp.Body))
	}
	assert.EqualValues(t, 1, conns.Load())

	// POST with a body, then GET, on the same connection.
	post := &Request{Method: "POST", Host: "example.test", Target: "/p", Header: []byte("Content-Type: text/plain\r\n"), Body: []byte("hello"), Keep: keepAll}
	resp := do(t, c, post)
	assert.Equal(t, "/p", string(resp.Body))
	resp = do(t, c, get("/after"))
	assert.Equal(t, "/after", string(resp.Body))
	assert.EqualValues(t, 1, conns.Load())
}

func TestRequestAsSent(t *testing.T) {
	type got struct {
		method, host, target, ua, cookie, body string
		length                                 int64
	}
	ch := make(chan got, 1)
	addr, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- got{r.Method, r.Host, r.RequestURI, r.UserAgent(), r.Header.Get("Cookie"), string(b), r.ContentLength}
	})
	c := newClient(t, addr)
	tests := []struct {
		req  Request
		want got
	}{
		{Request{Method: "GET", Host: "a.test", Target: "/x?y=1"}, got{"GET", "a.test", "/x?y=1", "sessionlab", "", "", 0}},
		{Request{Method: "POST", Host: "b.test:8080", Target: "/login", Header: []byte("Cookie: s=1; t=2\r\n"), Body: []byte("u=a&p=b")},
			got{"POST", "b.test:8080", "/login", "sessionlab", "s=1; t=2", "u=a&p=b", 7}},
		{Request{Method: "POST", Host: "a.test", Target: "/empty"}, got{"POST", "a.test", "/empty", "sessionlab", "", "", 0}},
		{Request{Method: "DELETE", Host: "a.test", Target: "/d", Body: []byte("x")}, got{"DELETE", "a.test", "/d", "sessionlab", "", "x", 1}},
	}
	for _, tt := range tests {
		do(t, c, &tt.req)
		assert.Equal(t, tt.want, <-ch)
	}
}

func TestServerConnectionClose(t *testing.T) {
	var n atomic.Int32
	addr, conns := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "ok")
	})
	c := newClient(t, addr)
	resp := do(t, c, get("/"))
	assert.Equal(t, "ok", string(resp.Body))
	assert.Nil(t, c.conn, "an answer with Connection: close ends the connection")
	for range 3 {
		resp = do(t, c, get("/"))
		assert.Equal(t, "ok", string(resp.Body))
	}
	assert.EqualValues(t, 2, conns.Load(), "one connection before the close, one after")
	assert.EqualValues(t, 4, n.Load(), "no request was sent twice")
}

func TestCloseDelimitedBody(t *testing.T) {
	body := pattern(20000)
	tests := []struct {
		name, head string
	}{
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"},
		{"HTTP/1.0 keep-alive without a length", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n"},
		{"HTTP/1.1 Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.1 without a length", "HTTP/1.1 200 OK\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRawServer(t, answering(func(_, _ int, _ *http.Request) (string, bool) {
				return tt.head + body, true
			}))
			c := newClient(t, s.addr)
			for range 2 {
				resp := do(t, c, get("/"))
				assert.Equal(t, 200, resp.Status)
				assert.Equal(t, body, string(resp.Body))
				assert.Nil(t, c.conn, "a body that ends with the connection ends it")
			}
			assert.EqualValues(t, 2, s.conns.Load())
			assert.EqualValues(t, 2, s.requests.Load())
		})
	}
}

// Bytes after an answer that nobody asked for end the connection: they would be taken for the next answer.
func TestBytesAfterTheAnswer(t *testing.T) {
	s := newRawServer(t, answering(func(_, _ int, _ *http.Request) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra", false
	}))
	c := newClient(t, s.addr)
	for range 2 {
		assert.Equal(t, "ok", string(do(t, c, get("/")).Body))
		assert.Nil(t, c.conn)
	}
	assert.EqualValues(t, 2, s.conns.Load())
}

// An HTTP/1.0 answer is the connection's last unless it says keep-alive.
func TestHTTP10KeepAlive(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		conns  int32
	}{
		{"HTTP/1.0 with a length", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 3},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRawServer(t, answering(func(_, _ int, _ *http.Request) (string, bool) { return tt.answer, false }))
			c := newClient(t, s.addr)
			for range 3 {
				assert.Equal(t, "ok", string(do(t, c, get("/")).Body))
			}
			assert.Equal(t, tt.conns, s.conns.Load())
			assert.EqualValues(t, 3, s.requests.Load())
		})
	}
}

func TestInterimAnswers(t *testing.T) {
	s := newRawServer(t, answering(func(_, _ int, _ *http.Request) (string, bool) {
		return "HTTP/1.1 100 Continue\r\n\r\n" +
			"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nSet-Cookie: early=1\r\nX-Replica: early\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfinal", false
	}))
	c := newClient(t, s.addr)
	c.Capture = []string{contract.ReplicaHeader}
	for range 2 {
		resp := do(t, c, get("/"))
		assert.Equal(t, seen{Status: 200, ContentType: "text/plain", SetCookie: []string{"a=1"}, Body: "final", Header: []string{""}},
			view(resp, 1))
	}
	assert.EqualValues(t, 1, s.conns.Load())
}

func TestLongHeaderLines(t *testing.T) {
	long := "big=" + pattern(10<<10)
	replica := pattern(6000)
	addr, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", long)
		w.Header().Add("Set-Cookie", "small=1")
		w.Header().Set(contract.ReplicaHeader, replica)
		w.Header().Set("Location", "/"+pattern(5000))
		io.WriteString(w, "ok")
	})
	c := newClient(t, addr)
	c.Capture = []string{contract.ReplicaHeader}
	for range 2 {
		resp := do(t, c, get("/"))
		assert.Equal(t, []string{long, "small=1"}, resp.SetCookie)
		assert.Equal(t, replica, resp.Header(0))
		assert.Equal(t, "/"+pattern(5000), resp.Location)
		assert.Equal(t, "ok", string(resp.Body))
	}

	// A line beyond the bound is an error, not a memory without end.
	s := newRawServer(t, answering(func(_, _ int, _ *http.Request) (string, bool) {
		return "HTTP/1.1 200 OK\r\nX-Huge: " + strings.Repeat("x", maxLine+10) + "\r\nContent-Length: 0\r\n\r\n", true
	}))
	var resp Response
	err := newClient(t, s.addr).Do(context.Background(), get("/"), &resp)
	assert.ErrorIs(t, err, errMalformed)
}

// --- retries ---

// A server that closes an idle connection (a balancer's keep-alive timeout, with a FIN or a reset): the next
// request, a POST too, is seen to need a new connection before it is written, and goes once, on a new one.
func TestIdleConnectionClosedByTheServer(t *testing.T) {
	for _, tt := range []struct {
		method string
		reset  bool
	}{
		{"GET", false},
		{"GET", true},
		{"POST", false},
		{"POST", true},
	} {
		t.Run(fmt.Sprintf("%s reset=%v", tt.method, tt.reset), func(t *testing.T) {
			closed := make(chan struct{})
			s := newRawServer(t, func(s *rawServer, n int, conn net.Conn) {
				answering(func(conn, _ int, _ *http.Request) (string, bool) {
					return "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n" + strconv.Itoa(conn), conn == 1
				})(s, n, conn)
				if n == 1 {
					if tt.reset {
						_ = conn.(*net.TCPConn).SetLinger(0)
					}
					conn.Close()
					close(closed)
				}
			})
			c := newClient(t, s.addr)
			req := &Request{Method: tt.method, Host: "example.test", Target: "/", Keep: keepAll}
			if tt.method == "POST" {
				req.Body = []byte("user=a&password=b")
			}
			assert.Equal(t, "1", string(do(t, c, req).Body))
			assert.Equal(t, OpenedFirst, c.Opened())
			<-closed
			time.Sleep(20 * time.Millisecond) // the close has reached the client
			assert.Equal(t, "2", string(do(t, c, req).Body), "the request went on a new connection")
			assert.Equal(t, OpenedServerClosed, c.Opened(), "it found the last one closed by the server")
			assert.EqualValues(t, 2, s.requests.Load(), "no request was sent twice")
			assert.EqualValues(t, 2, s.conns.Load())
			assert.Equal(t, "2", string(do(t, c, req).Body), "the new connection is kept")
			assert.Equal(t, Reused, c.Opened())
		})
	}
}

// A server that keeps its idle connections: looking at one does not take it for closed, not even after the
// client's deadline for the last exchange passed while it was idle.
func TestIdleConnectionKept(t *testing.T) {
	s := newRawServer(t, answering(func(_, req int, _ *http.Request) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n" + strconv.Itoa(req), false
	}))
	c := newClient(t, s.addr)
	c.Timeout = 30 * time.Millisecond
	post := &Request{Method: "POST", Host: "example.test", Target: "/login", Body: []byte("a=1"), Keep: keepAll}
	for i, req := range []*Request{get("/"), get("/"), post, get("/")} {
		assert.Equal(t, strconv.Itoa(i+1), string(do(t, c, req).Body))
		want := Reused
		if i == 0 {
			want = OpenedFirst
		}
		assert.Equal(t, want, c.Opened(), "exchange %d", i+1)
		time.Sleep(50 * time.Millisecond) // idle past the deadline of the exchange before
	}
	assert.EqualValues(t, 1, s.conns.Load(), "one connection for all")
	assert.EqualValues(t, 4, s.requests.Load())
}

// What Opened says of each exchange: whether it opened a new connection, and what ended the last one.
func TestOpened(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	type exchange struct {
		method string
		before func(c *Client) // what the caller does before it
		want   Opened
		fails  bool
	}
	tests := []struct {
		name   string
		answer func(conn, req int) (string, bool)
		steps  []exchange
		conns  int32
	}{
		{"kept", func(_, _ int) (string, bool) { return ok, false },
			[]exchange{{want: OpenedFirst}, {want: Reused}, {method: "POST", want: Reused}}, 1},
		{"closed by the caller", func(_, _ int) (string, bool) { return ok, false },
			[]exchange{{want: OpenedFirst}, {before: (*Client).Close, want: OpenedAfterClose}, {want: Reused}}, 2},
		{"dropped by the caller", func(_, _ int) (string, bool) { return ok, false },
			[]exchange{{want: OpenedFirst}, {before: (*Client).Drop, want: OpenedAfterClose}}, 2},
		{"an answer with Connection: close", func(conn, _ int) (string, bool) {
			if conn == 1 {
				return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true
			}
			return ok, false
		}, []exchange{{want: OpenedFirst}, {want: OpenedServerClosed}, {want: Reused}}, 2},
		{"an HTTP/1.0 answer", func(conn, _ int) (string, bool) {
			return "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", true
		}, []exchange{{want: OpenedFirst}, {want: OpenedServerClosed}}, 2},
		{"a failed exchange", func(conn, _ int) (string, bool) {
			if conn == 1 {
				return "nonsense\r\n\r\n", true
			}
			return ok, false
		}, []exchange{{want: OpenedFirst, fails: true}, {want: OpenedAfterError}, {want: Reused}}, 2},
		{"a GET replayed after a close without an answer", func(conn, req int) (string, bool) {
			if conn == 1 && req == 2 {
				return "", true
			}
			return ok, false
		}, []exchange{{want: OpenedFirst}, {want: OpenedServerClosed}, {want: Reused}}, 2},
		{"a POST not replayed after a close without an answer", func(conn, req int) (string, bool) {
			if conn == 1 && req == 2 {
				return "", true
			}
			return ok, false
		}, []exchange{{want: OpenedFirst}, {method: "POST", want: Reused, fails: true}, {method: "POST", want: OpenedAfterError}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRawServer(t, answering(func(conn, req int, _ *http.Request) (string, bool) { return tt.answer(conn, req) }))
			c := newClient(t, s.addr)
			for i, x := range tt.steps {
				if x.before != nil {
					x.before(c)
				}
				req := get("/")
				if x.method != "" {
					req = &Request{Method: x.method, Host: "example.test", Target: "/login", Body: []byte("a=1"), Keep: keepAll}
				}
				var resp Response
				err := c.Do(context.Background(), req, &resp)
				if x.fails {
					require.Error(t, err, "exchange %d", i+1)
				} else {
					require.NoError(t, err, "exchange %d", i+1)
				}
				assert.Equal(t, x.want, c.Opened(), "exchange %d", i+1)
			}
			assert.Equal(t, tt.conns, s.conns.Load())
		})
	}
}

func TestNoRetry(t *testing.T) {
	tests := []struct {
		name string
		// answer gives the text for the req-th request on the conn-th connection and whether to close after it.
		answer   func(conn, req int) (string, bool)
		warm     int   // exchanges that succeed first
		requests int32 // requests the server saw in all
		wantErr  error
	}{
		{
			name:     "fresh connection closed without an answer",
			answer:   func(_, _ int) (string, bool) { return "", true },
			requests: 1,
			wantErr:  io.EOF,
		},
		{
			name: "reused connection closed after a part of the answer",
			answer: func(_, req int) (string, bool) {
				if req == 1 {
					return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
				}
				return "HTTP/1.1 200 OK\r\nContent-Le", true
			},
			warm:     1,
			requests: 2,
			wantErr:  io.ErrUnexpectedEOF,
		},
		{
			name: "reused connection closed in the body",
			answer: func(_, req int) (string, bool) {
				if req == 1 {
					return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
				}
				return "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nshort", true
			},
			warm:     1,
			requests: 2,
			wantErr:  io.ErrUnexpectedEOF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRawServer(t, answering(func(conn, req int, _ *http.Request) (string, bool) { return tt.answer(conn, req) }))
			c := newClient(t, s.addr)
			for range tt.warm {
				do(t, c, get("/"))
			}
			var resp Response
			err := c.Do(context.Background(), get("/"), &resp)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.wantErr)
			assert.Nil(t, c.conn, "a failed exchange leaves no connection")
			assert.Equal(t, tt.requests, s.requests.Load(), "the request was not sent again")
			assert.EqualValues(t, 1, s.conns.Load())
		})
	}
}

// --- PROXY protocol ---

var announced = &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 4242}

func proxyPreamble(_, remote net.Addr) ([]byte, error) {
	return proxyproto.HeaderProxyFromAddrs(1, announced, remote).Format()
}

func TestPreambleInTheFirstWrite(t *testing.T) {
	reads := make(chan string, 4)
	s := newRawServer(t, func(_ *rawServer, _ int, conn net.Conn) {
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf) // one read each: what arrived of one write
			if err != nil {
				return
			}
			reads <- string(buf[:n])
			if _, err := io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
				return
			}
		}
	})
	_, port, _ := net.SplitHostPort(s.addr)
	c := newClient(t, s.addr)
	c.Preamble = proxyPreamble
	var writes []string // what the client wrote, write by write
	c.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		return &recordingConn{Conn: conn, writes: &writes}, err
	}

	do(t, c, get("/"))
	first := <-reads
	assert.True(t, strings.HasPrefix(first, "PROXY TCP4 203.0.113.7 127.0.0.1 4242 "+port+"\r\nGET / HTTP/1.1\r\nHost: example.test\r\n"),
		"the PROXY header and the request came in one read: %q", first)
	assert.True(t, strings.HasSuffix(first, "\r\n\r\n"), "the whole request came in the first read: %q", first)

	require.Len(t, writes, 1)
	assert.Equal(t, first, writes[0], "the PROXY header and the request in one write")

	do(t, c, get("/two"))
	second := <-reads
	assert.True(t, strings.HasPrefix(second, "GET /two HTTP/1.1\r\n"), "%q", second)
	assert.NotContains(t, second, "PROXY")
	assert.EqualValues(t, 1, s.conns.Load())

	// A new connection sends it again.
	c.Close()
	do(t, c, get("/three"))
	assert.True(t, strings.HasPrefix(<-reads, "PROXY TCP4 203.0.113.7 "))
}

type recordingConn struct {
	net.Conn
	writes *[]string
}

func (c *recordingConn) Write(p []byte) (int, error) {
	*c.writes = append(*c.writes, string(p))
	return c.Conn.Write(p)
}

func TestPreambleReadByProxyprotoListener(t *testing.T) {
	for _, https := range []bool{false, true} {
		t.Run(fmt.Sprintf("https=%v", https), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			var conns atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, r.RemoteAddr)
			}))
			srv.Listener.Close()
			srv.Listener = &proxyproto.Listener{Listener: ln}
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			c := &Client{Addr: ln.Addr().String(), Timeout: 5 * time.Second, Preamble: proxyPreamble}
			if https {
				srv.StartTLS()
				roots := x509.NewCertPool()
				roots.AddCert(srv.Certificate())
				c.TLS = &tls.Config{ServerName: "example.com", RootCAs: roots}
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			t.Cleanup(c.Close)
			for range 3 {
				assert.Equal(t, "203.0.113.7:4242", string(do(t, c, get("/")).Body))
			}
			assert.EqualValues(t, 1, conns.Load())
		})
	}
}

func TestPreambleError(t *testing.T) {
	addr, conns := newServer(t, func(http.ResponseWriter, *http.Request) {})
	c := newClient(t, addr)
	c.Preamble = func(net.Addr, net.Addr) ([]byte, error) { return nil, errors.New("no header") }
	var resp Response
	err := c.Do(context.Background(), get("/"), &resp)
	assert.ErrorContains(t, err, "no header")
	assert.Nil(t, c.conn)
	time.Sleep(20 * time.Millisecond)
	assert.LessOrEqual(t, conns.Load(), int32(1))
}

// --- time ---

// slowServer answers after d, or when the client goes away; calls counts the requests.
func slowServer(t *testing.T, d time.Duration) (addr string, calls *atomic.Int32) {
	calls = new(atomic.Int32)
	addr, _ = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/fast" {
			io.WriteString(w, "fast")
			return
		}
		select {
		case <-time.After(d):
			io.WriteString(w, "late")
		case <-r.Context().Done():
		}
	})
	return addr, calls
}

func TestTimeout(t *testing.T) {
	addr, calls := slowServer(t, 2*time.Second)
	t.Run("fresh connection", func(t *testing.T) {
		c := newClient(t, addr)
		c.Timeout = 200 * time.Millisecond
		before := calls.Load()
		start := time.Now()
		var resp Response
		err := c.Do(context.Background(), get("/slow"), &resp)
		assert.ErrorIs(t, err, ErrTimeout)
		assert.Less(t, time.Since(start), time.Second)
		assert.Nil(t, c.conn)
		assert.Equal(t, before+1, calls.Load())
	})
	t.Run("reused connection: no second try", func(t *testing.T) {
		c := newClient(t, addr)
		c.Timeout = 200 * time.Millisecond
		before := calls.Load()
		assert.Equal(t, "fast", string(do(t, c, get("/fast")).Body))
		var resp Response
		err := c.Do(context.Background(), get("/slow"), &resp)
		assert.ErrorIs(t, err, ErrTimeout)
		assert.Equal(t, before+2, calls.Load(), "the timed-out request was not sent again")
		// The client goes on with a new connection.
		assert.Equal(t, "fast", string(do(t, c, get("/fast")).Body))
	})
	t.Run("in the body", func(t *testing.T) {
		s := newRawServer(t, func(_ *rawServer, _ int, conn net.Conn) {
			_, _ = http.ReadRequest(bufio.NewReader(conn))
			_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
			_, _ = conn.Read(make([]byte, 1)) // until the client goes
		})
		c := newClient(t, s.addr)
		c.Timeout = 200 * time.Millisecond
		var resp Response
		assert.ErrorIs(t, c.Do(context.Background(), get("/"), &resp), ErrTimeout)
	})
	t.Run("dial", func(t *testing.T) {
		c := newClient(t, "192.0.2.1:80")
		c.Timeout = 200 * time.Millisecond
		c.Dial = func(ctx context.Context, _ string) (net.Conn, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		var resp Response
		assert.ErrorIs(t, c.Do(context.Background(), get("/"), &resp), ErrTimeout)
	})
}

func TestContextCancel(t *testing.T) {
	addr, _ := slowServer(t, 3*time.Second)
	tests := []struct {
		name string
		warm bool // an exchange first, under another context
		dial bool // a dial that waits for its context
	}{
		{name: "fresh connection"},
		{name: "reused connection, another context", warm: true},
		{name: "in the dial", dial: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{Addr: addr} // no Timeout: only the context ends the exchange
			t.Cleanup(c.Close)
			if tt.dial {
				c.Dial = func(ctx context.Context, _ string) (net.Conn, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}
			}
			if tt.warm {
				do(t, c, get("/fast"))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			var resp Response
			err := c.Do(ctx, get("/slow"), &resp)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(start), time.Second)
			assert.Nil(t, c.conn)
		})
	}
	t.Run("already cancelled", func(t *testing.T) {
		dialed := false
		c := &Client{Addr: addr, Dial: func(context.Context, string) (net.Conn, error) { dialed = true; return nil, errors.New("dialed") }}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var resp Response
		assert.ErrorIs(t, c.Do(ctx, get("/fast"), &resp), context.Canceled)
		assert.False(t, dialed)
	})
}

// Each exchange under a context of its own that ends right after it: the end of one must not cut the next.
func TestContextPerExchange(t *testing.T) {
	addr, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	c := newClient(t, addr)
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		var resp Response
		err := c.Do(ctx, get("/"), &resp)
		cancel()
		require.NoError(t, err, "exchange %d", i)
		require.Equal(t, "ok", string(resp.Body))
	}
}

// --- Drop ---

func TestDropResets(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS() // for its certificate
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	for _, https := range []bool{false, true} {
		t.Run(fmt.Sprintf("https=%v", https), func(t *testing.T) {
			ended := make(chan error, 1)
			s := newRawServer(t, func(_ *rawServer, _ int, raw net.Conn) {
				var conn net.Conn = raw
				if https {
					conn = tls.Server(raw, srv.TLS)
				}
				if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
					ended <- err
					return
				}
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				// Read the TCP stream itself (a TLS close_notify comes first) until it ends.
				_, err := io.Copy(io.Discard, raw)
				if err == nil {
					err = io.EOF
				}
				ended <- err
			})
			c := newClient(t, s.addr)
			if https {
				c.TLS = &tls.Config{ServerName: "example.com", RootCAs: roots}
			}
			assert.Equal(t, "ok", string(do(t, c, get("/")).Body))
			c.Drop()
			assert.Nil(t, c.conn)
			assert.ErrorIs(t, <-ended, syscall.ECONNRESET, "the connection ended with a reset, not a closing handshake")
		})
	}
}

// --- malformed answers ---

func TestMalformedAnswers(t *testing.T) {
	tests := []struct {
		name, answer string
		want         error // nil: any error
	}{
		{"garbage status line", "garbage\r\n\r\n", errMalformed},
		{"no status code", "HTTP/1.1\r\n\r\n", errMalformed},
		{"short status code", "HTTP/1.1 20\r\n\r\n", errMalformed},
		{"letters for a status", "HTTP/1.1 abc OK\r\n\r\n", errMalformed},
		{"status below 100", "HTTP/1.1 099 Low\r\n\r\n", errMalformed},
		{"negative status", "HTTP/1.1 -20 Low\r\n\r\n", errMalformed},
		{"not HTTP/1.x", "HTTP/2.0 200 OK\r\n\r\n", errMalformed},
		{"header line without a colon", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", errMalformed},
		{"bad Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", errMalformed},
		{"negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", errMalformed},
		{"overflowing Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", errMalformed},
		{"truncated Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", io.ErrUnexpectedEOF},
		{"truncated headers", "HTTP/1.1 200 OK\r\nContent-Le", io.ErrUnexpectedEOF},
		{"headers without their end", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", io.EOF},
		{"truncated status line", "HTTP/1.1 20", io.ErrUnexpectedEOF},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", errMalformed},
		{"negative chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n", errMalformed},
		{"chunk without its CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", errMalformed},
		{"truncated chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc", io.ErrUnexpectedEOF},
		{"no last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", io.ErrUnexpectedEOF},
		{"truncated trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n", io.ErrUnexpectedEOF},
		{"interim answers only", "HTTP/1.1 100 Continue\r\n\r\n", nil},
		{"nothing", "", io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRawServer(t, answering(func(_, _ int, _ *http.Request) (string, bool) { return tt.answer, true }))
			c := newClient(t, s.addr)
			req := get("/")
			var resp Response
			err := c.Do(context.Background(), req, &resp)
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			assert.Nil(t, c.conn)
			assert.EqualValues(t, 1, s.requests.Load(), "no second try on a fresh connection")
		})
	}
}

// readAll runs readResponse over data.
func readAll(data []byte, req *Request, capture []string) (*Response, bool, bool, error) {
	var resp Response
	br := bufio.NewReaderSize(bytes.NewReader(data), bufferSize)
	keep, started, err := readResponse(br, req, &resp, capture)
	return &resp, keep, started, err
}

func TestReadResponseKeep(t *testing.T) {
	tests := []struct {
		name, answer string
		method       string
		keep         bool
	}{
		{"HTTP/1.1 with a length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", true},
		{"HTTP/1.1 chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "GET", true},
		{"HTTP/1.1 close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "GET", false},
		{"HTTP/1.1 Close", "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", "GET", false},
		{"HTTP/1.1 no length", "HTTP/1.1 200 OK\r\n\r\nabc", "GET", false},
		{"HTTP/1.1 HEAD no length", "HTTP/1.1 200 OK\r\n\r\n", "HEAD", true},
		{"HTTP/1.1 204", "HTTP/1.1 204 No Content\r\n\r\n", "GET", true},
		{"HTTP/1.1 304", "HTTP/1.1 304 Not Modified\r\n\r\n", "GET", true},
		{"HTTP/1.1 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "GET", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", false},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", "GET", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, keep, started, err := readAll([]byte(tt.answer), &Request{Method: tt.method, Keep: keepAll}, nil)
			require.NoError(t, err)
			assert.True(t, started)
			assert.Equal(t, tt.keep, keep)
		})
	}
}

func FuzzReadResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/html\r\n\r\nhello",
		"HTTP/1.1 302 Found\r\nLocation: /x\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nclose-delimited",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: <x>\r\n\r\nHTTP/1.1 204 No Content\r\nX-Replica: r1\r\nx-replica: r2\r\n\r\n",
		"HTTP/1.1 503 Busy\r\nRetry-After: 3\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
		"garbage",
		"",
	} {
		f.Add([]byte(seed), false, uint16(0))
		f.Add([]byte(seed), true, uint16(3))
	}
	capture := []string{contract.ReplicaHeader, "", "Set-Cookie"}
	f.Fuzz(func(t *testing.T, data []byte, head bool, maxBody uint16) {
		req := &Request{Method: "GET", Keep: keepAll, MaxBody: int(maxBody)}
		if head {
			req.Method = "HEAD"
		}
		resp, _, started, err := readAll(data, req, capture)
		bound := req.MaxBody
		if bound <= 0 {
			bound = 64 << 10
		}
		if len(resp.Body) > bound {
			t.Fatalf("kept %d bytes of body, bound %d", len(resp.Body), bound)
		}
		if len(resp.captured) != len(capture) {
			t.Fatalf("%d captured values for %d names", len(resp.captured), len(capture))
		}
		if len(data) == 0 && (started || err == nil) {
			t.Fatalf("no answer: started %v, err %v", started, err)
		}
		if err != nil {
			return // (keep means nothing then: the exchange closes the connection on any error)
		}
		if !started {
			t.Fatal("an answer without its start")
		}
		if resp.Status < 100 || resp.Status > 999 || (resp.Status < 200 && resp.Status != 101) {
			t.Fatalf("final status %d", resp.Status)
		}
		if head && len(resp.Body) > 0 {
			t.Fatal("a body for HEAD")
		}
	})
}

// --- the same as net/http reads ---

func TestSameAsNetHTTP(t *testing.T) {
	handlers := map[string]http.HandlerFunc{
		"/redirect": func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "abc", Path: "/", HttpOnly: true})
			http.Redirect(w, r, "/home?x=1", http.StatusFound)
		},
		"/moved": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://other.test/", http.StatusMovedPermanently)
		},
		"/cookies": func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)})
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "", MaxAge: -1})
			io.WriteString(w, "<html>cookies</html>")
		},
		"/missing": http.NotFound,
		"/chunked": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			for i := range 50 {
				fmt.Fprintf(w, `{"i":%d}`, i)
				w.(http.Flusher).Flush()
			}
		},
		"/large": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, pattern(200<<10))
		},
		"/busy": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		},
		"/error": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add(contract.ReplicaHeader, "r1")
			w.Header().Add(contract.ReplicaHeader, "r2")
			w.WriteHeader(http.StatusInternalServerError)
		},
		"/empty": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) },
	}
	mux := http.NewServeMux()
	for p, h := range handlers {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(hc.CloseIdleConnections)
	c := newClient(t, srv.Listener.Addr().String())
	c.Capture = []string{contract.ReplicaHeader}

	for path := range handlers {
		for _, method := range []string{"GET", "HEAD"} {
			t.Run(method+path, func(t *testing.T) {
				req, err := http.NewRequest(method, srv.URL+path, nil)
				require.NoError(t, err)
				hr, err := hc.Do(req)
				require.NoError(t, err)
				body, err := io.ReadAll(hr.Body)
				hr.Body.Close()
				require.NoError(t, err)
				want := seen{Status: hr.StatusCode, Location: hr.Header.Get("Location"), ContentType: hr.Header.Get("Content-Type"),
					RetryAfter: hr.Header.Get("Retry-After"), SetCookie: hr.Header.Values("Set-Cookie"), Body: string(body),
					Header: []string{strings.Join(hr.Header.Values(contract.ReplicaHeader), ", ")}}

				wr := &Request{Method: method, Host: srv.Listener.Addr().String(), Target: path, Keep: keepAll, MaxBody: 1 << 20}
				var resp Response
				require.NoError(t, c.Do(context.Background(), wr, &resp))
				assert.Equal(t, want, view(&resp, 1))
			})
		}
	}
}

// --- benchmark ---

// BenchmarkDo: one client's GET with a 1 KiB body, against net/http (whose allocations are counted too: the server
// is in the process) and against a raw server answering canned bytes, which allocates nothing per request (what it
// counts is the client's own).
func BenchmarkDo(b *testing.B) {
	body := pattern(1 << 10)
	answer := "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 1024\r\nSet-Cookie: sid=abc; Path=/\r\n\r\n" + body
	addr, conns := newServer(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", "1024")
		io.WriteString(w, body)
	})
	raw := newRawServer(b, func(_ *rawServer, _ int, conn net.Conn) {
		_ = conn.SetDeadline(time.Time{})
		buf := make([]byte, 4096)
		have := 0
		for {
			n, err := conn.Read(buf[have:])
			if err != nil {
				return
			}
			have += n
			for {
				end := bytes.Index(buf[:have], []byte("\r\n\r\n"))
				if end < 0 {
					break
				}
				if _, err := io.WriteString(conn, answer); err != nil {
					return
				}
				have = copy(buf, buf[end+4:have])
			}
		}
	})
	for _, s := range []struct {
		name  string
		addr  string
		conns func() int32
	}{
		{"net/http", addr, conns.Load},
		{"raw", raw.addr, raw.conns.Load},
	} {
		b.Run(s.name, func(b *testing.B) {
			before := s.conns()
			c := newClient(b, s.addr)
			req := &Request{Method: "GET", Host: "example.test", Target: "/page", Header: []byte("Cookie: sid=abc\r\n"), Keep: keepAll}
			var resp Response
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Do(ctx, req, &resp); err != nil {
					b.Fatal(err)
				}
				if len(resp.Body) != len(body) {
					b.Fatalf("body %d bytes", len(resp.Body))
				}
			}
			if n := s.conns() - before; n != 1 {
				b.Fatalf("%d connections", n)
			}
		})
	}
}

// BenchmarkPeekClosed: what looking at an idle connection before reusing it adds to each reused exchange.
func BenchmarkPeekClosed(b *testing.B) {
	s := newRawServer(b, answering(func(_, _ int, _ *http.Request) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
	}))
	c := newClient(b, s.addr)
	do(b, c, get("/"))
	b.ReportAllocs()
	for b.Loop() {
		if c.peekClosed() {
			b.Fatal("an open connection taken for closed")
		}
	}
}

// A request larger than the socket's send buffer: the direct write stops short and waits on the poller for room.
func TestRequestLargerThanTheSendBuffer(t *testing.T) {
	const size = 32 << 20
	got := make(chan int, 1)
	s := newRawServer(t, func(_ *rawServer, _ int, conn net.Conn) {
		time.Sleep(100 * time.Millisecond) // let the client's buffers fill
		r, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		got <- int(n)
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		_, _ = conn.Read(make([]byte, 1))
	})
	c := newClient(t, s.addr)
	resp := do(t, c, &Request{Method: "POST", Host: "example.test", Target: "/upload", Body: bytes.Repeat([]byte("x"), size), Keep: keepAll})
	assert.NotNil(t, c.sock, "a plain TCP connection is written and read directly")
	assert.Equal(t, size, <-got)
	assert.Equal(t, "ok", string(resp.Body))
}

// One Response reused over answers whose captured headers and types alternate, as a user's answers from a few
// replicas do: each answer's own values, never a recent one that merely looks alike.
func TestReusedResponseKeepsEachAnswersValues(t *testing.T) {
	s := newRawServer(t, answering(func(_, req int, _ *http.Request) (string, bool) {
		replica := []string{"replica-1", "replica-22", "replica-3", ""}[req%4]
		ctype := []string{"text/html", "text/plain", "application/json"}[req%3]
		h := "HTTP/1.1 200 OK\r\nContent-Type: " + ctype + "\r\nContent-Length: " + strconv.Itoa(len(replica)) + "\r\n"
		if replica != "" {
			h += "X-Replica: " + replica + "\r\n"
		}
		return h + "\r\n" + replica, false
	}))
	c := newClient(t, s.addr)
	c.Capture = []string{contract.ReplicaHeader}
	var resp Response
	for i := 1; i <= 40; i++ {
		require.NoError(t, c.Do(context.Background(), get("/"), &resp))
		assert.Equal(t, string(resp.Body), resp.Header(0), "answer %d", i)
		assert.Equal(t, []string{"text/html", "text/plain", "application/json"}[i%3], resp.ContentType, "answer %d", i)
	}
}

// A server that answers nobody on an idle connection before closing it (a 408 at its idle timeout): a request after
// a pause, even one harmless to repeat, looks first and goes on a new connection, and never takes that answer for its
// own.
func TestUnaskedAnswerOnAnIdleConnection(t *testing.T) {
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			s := newRawServer(t, func(s *rawServer, n int, conn net.Conn) {
				if n > 1 {
					answering(func(_, _ int, _ *http.Request) (string, bool) {
						return "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew", false
					})(s, n, conn)
					return
				}
				if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
					return
				}
				s.requests.Add(1)
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nold")
				time.Sleep(10 * time.Millisecond)
				_, _ = io.WriteString(conn, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
				_ = conn.(*net.TCPConn).CloseWrite()
			})
			c := newClient(t, s.addr)
			req := &Request{Method: method, Host: "example.test", Target: "/", Keep: keepAll}
			assert.Equal(t, "old", string(do(t, c, req).Body))
			time.Sleep(2 * peekAfter)
			resp := do(t, c, req)
			assert.Equal(t, 200, resp.Status, "the unasked 408 was not taken for the answer")
			assert.Equal(t, "new", string(resp.Body))
			assert.Equal(t, OpenedServerClosed, c.Opened())
		})
	}
}

// BenchmarkReadResponse: reading one answer as nginx sends the bench stack's pages (eight header lines, two of them
// captured, a small body read past), the part of an exchange that is the client's own work.
func BenchmarkReadResponse(b *testing.B) {
	answers := make([]string, 3)
	for i := range answers {
		answers[i] = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 18:42:05 GMT\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 38\r\nConnection: keep-alive\r\n" +
			"Cache-Control: no-store\r\nX-Replica: replica-" + strconv.Itoa(i+1) + "\r\n" +
			"X-Sessionlab-Upstream: 127.0.0.1:3480" + strconv.Itoa(i+1) + "\r\n\r\n" + strings.Repeat("x", 38)
	}
	capture := []string{"X-Sessionlab-Upstream", contract.ReplicaHeader, "", "X-Sessionlab-Instance"}
	req := &Request{Method: "GET", Host: "example.test", Target: "/page/1"}
	var resp Response
	var src strings.Reader
	br := bufio.NewReaderSize(&src, bufferSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		src.Reset(answers[i%len(answers)])
		br.Reset(&src)
		i++
		keep, _, err := readResponse(br, req, &resp, capture)
		if err != nil || !keep || resp.Status != 200 || resp.Header(1) == "" {
			b.Fatalf("keep %v, status %d, replica %q: %v", keep, resp.Status, resp.Header(1), err)
		}
	}
}

// A value that repeats is the string kept before, whoever's answer carried it; any other is its own.
func TestInternKeepsWhatRepeats(t *testing.T) {
	first := intern([]byte("replica-2"))
	again := intern([]byte("replica-2"))
	assert.Equal(t, "replica-2", again)
	assert.Same(t, unsafe.StringData(first), unsafe.StringData(again), "a repeated value costs no new string")
	for i := range 10000 { // more values than slots: each is still read as it was sent
		v := "127.0.0.1:" + strconv.Itoa(i)
		require.Equal(t, v, intern([]byte(v)))
	}
	assert.Equal(t, "", intern(nil))
}
