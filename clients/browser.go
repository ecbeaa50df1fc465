package clients

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/sessionlab/sessionlab/clients/events"
	"golang.org/x/net/publicsuffix"
)

// browser is one user's HTTP client: its own cookie jar, its own connections, each opened with a PROXY protocol v1
// header carrying the user's address, and no automatic redirects, so that every exchange is seen and logged.
type browser struct {
	user    User
	base    *url.URL
	client  *http.Client
	direct  *http.Client // to other hosts (an identity provider), made on first use
	timeout time.Duration
	clock   func() time.Duration
	sent    *atomic.Int64
	sink    events.Sink
	wsSent  int // WebSocket increments the replicas acknowledged, over all connections
	// upstreams names the replica at an upstream address (RunOptions.ReplicaOf); nil: by X-Replica only.
	upstreams func(string) string
	// attribution, when set, replaces the upstream address and X-Replica (RunOptions.Attribution).
	attribution Attribution
	// forwardedFor sends the user's address in X-Forwarded-For (identity x-forwarded-for).
	forwardedFor bool
	// keepText keeps the body of any text/* or JSON answer, not only HTML: the journey looks for a text in it.
	keepText bool
	// addr is the address the user connects from now; a roaming user's changes mid-journey, while the transport
	// dials from its own goroutines.
	addr atomic.Pointer[netip.Addr]
}

func newBrowser(u User, target string, clock func() time.Duration, sent *atomic.Int64, sink events.Sink, timeout time.Duration, identity string) (*browser, error) {
	base, dialAddr, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	var jar http.CookieJar
	if !u.BlockCookies {
		if jar, err = cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List}); err != nil {
			return nil, fmt.Errorf("cookie jar: %w", err)
		}
	}
	b := &browser{user: u, base: base, timeout: timeout, clock: clock, sent: sent, sink: sink, forwardedFor: identity == IdentityForwardedFor}
	b.addr.Store(&u.Addr)
	from := func() netip.Addr { return *b.addr.Load() }
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	switch identity {
	case IdentityBind:
		dial = bindDialer(dialAddr, from)
	case IdentityForwardedFor, IdentityNone:
		dial = (&net.Dialer{}).DialContext
	default:
		dial = proxyProtocolDialer(dialAddr, u.ID, from)
	}
	transport := &http.Transport{
		DialContext:         dial,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	b.client = &http.Client{
		Transport:     transport,
		Jar:           jar,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return b, nil
}

// ParseTarget reads where the users go: host:port (the balancer the harness started) or an http(s) URL (a live
// deployment). It returns the base URL paths resolve against and the host:port to connect to.
func ParseTarget(target string) (base *url.URL, dialAddr string, err error) {
	raw := target
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	base, err = url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, "", fmt.Errorf("target %q is not host:port or an http(s) URL", target)
	}
	if strings.Trim(base.Path, "/") != "" || base.RawQuery != "" {
		return nil, "", fmt.Errorf("target %q has a path: give the host only, and the journey's paths whole (journey.login.path: /app/login)", target)
	}
	dialAddr = base.Host
	if base.Port() == "" {
		port := "80"
		if base.Scheme == "https" {
			port = "443"
		}
		dialAddr = net.JoinHostPort(base.Hostname(), port)
	}
	return &url.URL{Scheme: base.Scheme, Host: base.Host}, dialAddr, nil
}

// roam moves the user to addr: the connections it holds are closed, so that the next request arrives from there,
// as a phone that leaves Wi-Fi for mobile data opens new connections from a new address.
func (b *browser) roam(addr netip.Addr) {
	b.addr.Store(&addr)
	b.client.CloseIdleConnections()
}

// currentAddr is the address the user connects from now.
func (b *browser) currentAddr() string { return b.addr.Load().String() }

// clientFor is the client for u: through the balancer for its host, directly (with the same jar, without a PROXY
// header) for any other, as a browser following an SSO redirect to its identity provider does.
func (b *browser) clientFor(u *url.URL) (c *http.Client, external bool) {
	if u.Host == b.base.Host {
		return b.client, false
	}
	if b.direct == nil {
		b.direct = &http.Client{
			Transport:     &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: 30 * time.Second, DisableCompression: true},
			Jar:           b.client.Jar,
			Timeout:       b.timeout,
			CheckRedirect: b.client.CheckRedirect,
		}
	}
	return b.direct, true
}

// proxyProtocolDialer connects to the balancer and announces the user's address in a PROXY protocol v1 header, so
// that the real balancer hashes, logs and sticks on the simulated address instead of 127.0.0.1.
func proxyProtocolDialer(target string, id int, from func() netip.Addr) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		src := &net.TCPAddr{IP: from().AsSlice(), Port: 1024 + id%64000}
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

// bindDialer connects to the balancer from the user's own (loopback) address: no PROXY header, the kernel's
// source address is what the balancer sees.
func bindDialer(target string, from func() netip.Addr) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from().AsSlice()}}
		return d.DialContext(ctx, network, target)
	}
}

// exchange is one request and its answer, as far as the journey needs it.
type exchange struct {
	Step     string
	URL      *url.URL // what was requested
	External bool     // sent to another host than the balancer (an identity provider)
	Status   int
	Location string   // the redirect target's path (//host/path on another host), for the event log and classifiers
	Next     *url.URL // the redirect target, resolved against the request
	Replica  string
	// Body is kept for HTML answers (the journey reads forms from them), and for text/* and JSON answers when the
	// browser keeps text.
	Body []byte
	// Cleared names the cookies the answer expires (its last Set-Cookie for the name has Max-Age<=0 or an Expires
	// in the past): an app that logs a user out by clearing the session cookie.
	Cleared []string
	Err     error
	Outcome string
	// sentCookie is the value of the attribution cookie the request carried.
	sentCookie string
}

// maxBody bounds what is kept of an answer's body.
const maxBody = 64 << 10

// do sends one request to target (a path on the balancer, or an absolute URL), reads the answer, asks classify
// for the outcome and records exactly one event. A GET sends form in its query, a POST as its body.
func (b *browser) do(ctx context.Context, step string, attempt int, method, target string, form url.Values, classify func(*exchange) string) *exchange {
	x := &exchange{Step: step}
	start := b.clock()
	b.sent.Add(1)
	ev := events.Event{User: b.user.ID, Addr: b.currentAddr(), Step: step, Attempt: attempt, Method: method, Path: target}
	ref, err := url.Parse(target)
	if err == nil {
		x.URL = b.base.ResolveReference(ref)
		if method == http.MethodGet && form != nil {
			q := x.URL.Query()
			for k, vs := range form {
				q[k] = vs
			}
			x.URL.RawQuery, form = q.Encode(), nil
		}
		ev.Path = x.URL.Path
		var resp *http.Response
		resp, x.External, err = b.send(ctx, method, x.URL, form, x)
		if x.External {
			ev.Host = x.URL.Host
		}
		if err == nil {
			x.Status = resp.StatusCode
			x.Replica = b.replicaOf(resp, x.sentCookie)
			ev.Failover = b.failoverOf(resp)
			if loc, err := resp.Location(); err == nil {
				x.Next = loc
				x.Location = loc.Path
				if loc.Host != b.base.Host {
					x.Location = "//" + loc.Host + loc.Path
				}
			}
			x.Cleared = clearedCookies(resp.Cookies(), time.Now())
			x.Outcome = classify(x)
			if rateLimited(resp) {
				x.Outcome = events.OutcomeRateLimited
			}
		}
	}
	if err != nil {
		x.Err = err
		x.Outcome = events.OutcomeError
		ev.Error = err.Error()
	}
	ev.TMs = int64(start / time.Millisecond)
	ev.Status, ev.Location, ev.Replica, ev.Outcome = x.Status, x.Location, x.Replica, x.Outcome
	ev.LatencyUS = int64((b.clock() - start) / time.Microsecond)
	b.sink.Record(ev)
	return x
}

// fail records a request the journey could not make (a template that did not execute for this user) as one
// exchange with outcome error, so that the user's journey shows where it stopped; it counts as sent, as a request
// to an unparsable URL does.
func (b *browser) fail(step string, attempt int, method, path string, err error) *exchange {
	b.sent.Add(1)
	t := b.clock()
	b.sink.Record(events.Event{TMs: int64(t / time.Millisecond), User: b.user.ID, Addr: b.currentAddr(), Step: step, Attempt: attempt,
		Method: method, Path: path, Outcome: events.OutcomeError, Error: err.Error()})
	return &exchange{Step: step, Err: err, Outcome: events.OutcomeError}
}

// rateLimited reports an answer that refuses for rate: 429 Too Many Requests, or 503 with a Retry-After.
func rateLimited(resp *http.Response) bool {
	return resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""
}

// clearedCookies names the cookies that cookies (an answer's Set-Cookie headers, in order) expire: the last
// Set-Cookie of a name decides, as it does in the jar. Max-Age wins over Expires.
func clearedCookies(cookies []*http.Cookie, now time.Time) []string {
	var names []string
	for i, c := range cookies {
		expired := c.MaxAge < 0 || (c.MaxAge == 0 && !c.Expires.IsZero() && !c.Expires.After(now))
		later := false
		for _, d := range cookies[i+1:] {
			later = later || d.Name == c.Name
		}
		if expired && !later && !slices.Contains(names, c.Name) {
			names = append(names, c.Name)
		}
	}
	return names
}

// keepBody reports whether an answer of this Content-Type is kept: HTML always, other text and JSON when the
// browser keeps text.
func (b *browser) keepBody(contentType string) bool {
	ct := strings.ToLower(contentType)
	if strings.HasPrefix(ct, "text/html") {
		return true
	}
	if !b.keepText {
		return false
	}
	media, _, _ := strings.Cut(ct, ";")
	media = strings.TrimSpace(media)
	return strings.HasPrefix(media, "text/") || media == "application/json" || strings.HasSuffix(media, "+json")
}

func (b *browser) send(ctx context.Context, method string, u *url.URL, form url.Values, x *exchange) (*http.Response, bool, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	client, external := b.clientFor(u)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, external, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.forwardedFor && !external {
		req.Header.Set("X-Forwarded-For", b.currentAddr())
	}
	x.sentCookie = b.affinityCookie(u)
	resp, err := client.Do(req)
	if err != nil {
		return nil, external, err
	}
	defer resp.Body.Close()
	// Keep HTML (a form the journey must read), and text when the journey looks for some; drain the rest so the
	// connection is reused: a new connection per request would still carry the same address, but would cost the
	// balancer a handshake per exchange.
	if b.keepBody(resp.Header.Get("Content-Type")) {
		if x.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody)); err != nil {
			return nil, external, fmt.Errorf("read body: %w", err)
		}
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return nil, external, fmt.Errorf("read body: %w", err)
	}
	return resp, external, nil
}

// Attribution says how an answer is attributed to the replica that gave it, where the balancer's upstream address
// (RunOptions.ReplicaOf) and the app's X-Replica header are not what tells: a live target. Each distinct value names
// a replica.
type Attribution struct {
	// Header names a response header whose value names the replica (a pod name the ingress adds, an upstream
	// address: the last of a comma-separated list).
	Header string
	// Cookie names an affinity cookie whose value names the replica: the value the answer sets, else the one the
	// request carried.
	Cookie string
	// None attributes no answer: the per-replica figures are absent.
	None bool
}

// affinityCookie is the value of the attribution cookie the jar holds for u, before the request is sent.
func (b *browser) affinityCookie(u *url.URL) string {
	if b.attribution.Cookie == "" || b.client.Jar == nil {
		return ""
	}
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == b.attribution.Cookie {
			return c.Value
		}
	}
	return ""
}

// replicaOf names the replica that answered resp. With an Attribution, by its header or cookie. Else by the address
// the balancer reported in UpstreamHeader (the last one, when it tried several), mapped to a name; else by the app's
// own X-Replica header. An address the harness does not know is kept as it is, so that no answer drops out of the
// per-replica figures.
// failoverOf names the replica the balancer picked first when the upstream header lists several tried addresses
// ("a:1, b:2": nginx moved on after a:1 failed), or "".
func (b *browser) failoverOf(resp *http.Response) string {
	up := resp.Header.Get(UpstreamHeader)
	first, _, several := strings.Cut(up, ",")
	if !several || b.upstreams == nil || b.attribution.Header != "" || b.attribution.Cookie != "" || b.attribution.None {
		return ""
	}
	first = strings.TrimSpace(first)
	if name := b.upstreams(first); name != "" {
		return name
	}
	return first
}

func (b *browser) replicaOf(resp *http.Response, sent string) string {
	h := resp.Header
	switch a := b.attribution; {
	case a.None:
		return ""
	case a.Header != "":
		v := h.Get(a.Header)
		if i := strings.LastIndex(v, ","); i >= 0 {
			v = v[i+1:]
		}
		return strings.TrimSpace(v)
	case a.Cookie != "":
		for _, c := range resp.Cookies() {
			if c.Name == a.Cookie && c.MaxAge >= 0 && c.Value != "" {
				sent = c.Value
			}
		}
		return sent
	}
	if up := h.Get(UpstreamHeader); up != "" && b.upstreams != nil {
		if i := strings.LastIndex(up, ","); i >= 0 {
			up = up[i+1:]
		}
		up = strings.TrimSpace(up)
		if name := b.upstreams(up); name != "" {
			return name
		}
		if r := h.Get("X-Replica"); r != "" {
			return r
		}
		if up != "" && up != ":" && up != "-" {
			return up
		}
	}
	return h.Get("X-Replica")
}

func (b *browser) close() {
	b.client.CloseIdleConnections()
	if b.direct != nil {
		b.direct.CloseIdleConnections()
	}
}
