package clients

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pires/go-proxyproto"
	"golang.org/x/net/publicsuffix"
)

// browser is one user's HTTP client: its own cookie jar, its own connections, each opened with a PROXY protocol v1
// header carrying the user's address, and no automatic redirects, so that every exchange is seen and logged.
type browser struct {
	user   User
	base   *url.URL
	client *http.Client
	clock  func() time.Duration
	sent   *atomic.Int64
	sink   Sink
}

func newBrowser(u User, target string, clock func() time.Duration, sent *atomic.Int64, sink Sink, timeout time.Duration) (*browser, error) {
	base, err := url.Parse("http://" + target)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", target, err)
	}
	var jar http.CookieJar
	if !u.BlockCookies {
		if jar, err = cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List}); err != nil {
			return nil, fmt.Errorf("cookie jar: %w", err)
		}
	}
	transport := &http.Transport{
		DialContext:         proxyProtocolDialer(target, u),
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	client := &http.Client{
		Transport:     transport,
		Jar:           jar,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &browser{user: u, base: base, client: client, clock: clock, sent: sent, sink: sink}, nil
}

// proxyProtocolDialer connects to the balancer and announces the user's address in a PROXY protocol v1 header, so
// that the real balancer hashes, logs and sticks on the simulated address instead of 127.0.0.1.
func proxyProtocolDialer(target string, u User) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	src := &net.TCPAddr{IP: u.Addr.AsSlice(), Port: 1024 + u.ID%64000}
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, target)
		if err != nil {
			return nil, err
		}
		dst, _ := conn.RemoteAddr().(*net.TCPAddr)
		if _, err := proxyproto.HeaderProxyFromAddrs(1, src, dst).WriteTo(conn); err != nil {
			conn.Close()
			return nil, fmt.Errorf("write PROXY header: %w", err)
		}
		return conn, nil
	}
}

// exchange is one request and its answer, as far as the journey needs it.
type exchange struct {
	Status   int
	Location string // the redirect target's path, resolved against the request
	Replica  string
	Err      error
	Outcome  string
}

// do sends one request, reads the answer, asks classify for the outcome and records exactly one event.
func (b *browser) do(ctx context.Context, step string, attempt int, method, path string, form url.Values, classify func(*exchange) string) *exchange {
	x := &exchange{}
	start := b.clock()
	b.sent.Add(1)
	resp, err := b.send(ctx, method, path, form)
	if err != nil {
		x.Err = err
		x.Outcome = OutcomeError
	} else {
		x.Status = resp.StatusCode
		x.Replica = resp.Header.Get("X-Replica")
		if loc, err := resp.Location(); err == nil {
			x.Location = loc.Path
		}
		x.Outcome = classify(x)
	}
	ev := Event{
		TMs: int64(start / time.Millisecond), User: b.user.ID, Addr: b.user.Addr.String(), Step: step, Attempt: attempt,
		Method: method, Path: path, Status: x.Status, Location: x.Location, Replica: x.Replica, Outcome: x.Outcome,
		LatencyUS: int64((b.clock() - start) / time.Microsecond),
	}
	if x.Err != nil {
		ev.Error = x.Err.Error()
	}
	b.sink.Record(ev)
	return x
}

func (b *browser) send(ctx context.Context, method, path string, form url.Values) (*http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base.JoinPath(path).String(), body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Drain the body so the connection is reused: a new connection per request would still carry the same address,
	// but would cost the balancer a handshake per exchange.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return resp, nil
}

func (b *browser) close() { b.client.CloseIdleConnections() }
