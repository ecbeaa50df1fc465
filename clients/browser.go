package clients

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/pires/go-proxyproto"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/clients/internal/htmlform"
	"github.com/sessionlab/sessionlab/clients/internal/jar"
	"github.com/sessionlab/sessionlab/clients/internal/wire"
)

// browser is one user's HTTP client: its own cookie jar, its own connection, opened with a PROXY protocol v1
// header carrying the user's address (sent with the first request), and no automatic redirects, so that every
// exchange is seen and logged. The exchanges go through the lean engine of clients/wire; a WebSocket goes through
// net/http, which the WebSocket library needs, with the same jar and the same way of connecting.
type browser struct {
	user    User
	base    *url.URL
	https   bool
	timeout time.Duration
	clock   func() time.Duration
	sent    *atomic.Int64
	record  func(events.Event)
	wsSent  int // WebSocket increments the replicas acknowledged, over all connections
	// upstreams names the replica at an upstream address (RunOptions.ReplicaOf); nil: by X-Replica only.
	upstreams func(string) string
	// attribution, when set, replaces the upstream address and X-Replica (RunOptions.Attribution).
	attribution Attribution
	// forwardedFor sends the user's address in X-Forwarded-For (identity x-forwarded-for).
	forwardedFor bool
	// keepText keeps the body of any text/* or JSON answer, not only HTML: the journey looks for a text in it.
	keepText bool
	// addr is the address the user connects from now; a roaming user's changes mid-journey, and a WebSocket's
	// transport dials from its own goroutines. addrText is its text, for the events.
	addr     atomic.Pointer[netip.Addr]
	addrText string
	// roamed: the user moved since conn was last opened, which the next connection's Event.Conn says whatever
	// became of the last one.
	roamed bool

	jar    *jar.Jar     // nil: the user refuses cookies
	conn   *wire.Client // to the balancer
	direct *wire.Client // to another host (an identity provider), made on first use
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	ws     *http.Client // for WebSocket upgrades, made on first use
	resp   wire.Response
	header []byte                        // the request's extra header lines, rebuilt for each request
	keep   func(contentType string) bool // keepBody, bound once
}

// Capture indexes: the response headers the browser reads besides the ones wire always reads.
const (
	capUpstream = iota
	capReplica
	capAttribution
	capInstance
)

// Why an exchange with the balancer opened a new connection (Event.Conn, docs/event-log.md).
const (
	connFirst     = "first"
	connKeepAlive = "keep-alive"
	connRoam      = "roam"
	connClosed    = "closed"
	connError     = "error"
)

func newBrowser(u User, target string, clock func() time.Duration, sent *atomic.Int64, record func(events.Event), opts *RunOptions) (*browser, error) {
	base, dialAddr, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	b := &browser{user: u, base: base, https: base.Scheme == "https", timeout: timeout, clock: clock, sent: sent, record: record,
		forwardedFor: opts.ForwardedFor}
	if !u.BlockCookies {
		b.jar = jar.New()
	}
	b.setAddr(u.Addr)
	b.keep = b.keepBody
	b.conn = &wire.Client{Addr: dialAddr, Timeout: timeout, Capture: []string{upstreamHeader, contract.ReplicaHeader, "", instanceHeader}}
	if b.https {
		b.conn.TLS = &tls.Config{ServerName: base.Hostname()}
	}
	from := func() netip.Addr { return *b.addr.Load() }
	switch {
	case opts.Bind:
		b.dial = bindDialer(dialAddr, from)
		b.conn.From = from
	case opts.ForwardedFor, opts.Anonymous:
		b.dial = (&net.Dialer{KeepAlive: -1}).DialContext
	default:
		b.dial = proxyProtocolDialer(dialAddr, u.ID, from)
		b.conn.Preamble = func(_, remote net.Addr) ([]byte, error) { return proxyHeader(u.ID, from(), remote) }
	}
	return b, nil
}

// setAttribution reads the answers' replica as a says.
func (b *browser) setAttribution(a Attribution) {
	b.attribution = a
	b.conn.Capture[capAttribution] = a.Header
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

// roam moves the user to addr: the connections it holds are reset, so that the next request arrives from there,
// as a phone that leaves Wi-Fi for mobile data opens new connections from a new address.
func (b *browser) roam(addr netip.Addr) {
	b.setAddr(addr)
	b.roamed = true
	b.conn.Drop()
	if b.ws != nil {
		b.ws.CloseIdleConnections()
	}
}

func (b *browser) setAddr(addr netip.Addr) {
	b.addr.Store(&addr)
	b.addrText = addr.String()
}

// currentAddr is the address the user connects from now.
func (b *browser) currentAddr() string { return b.addrText }

// clientFor is the connection for u: through the balancer for its host, directly (with the same jar, without a
// PROXY header) for any other, as a browser following an SSO redirect to its identity provider does.
func (b *browser) clientFor(u *url.URL) (c *wire.Client, external bool) {
	if u.Host == b.base.Host {
		return b.conn, false
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	if b.direct == nil || b.direct.Addr != addr {
		if b.direct != nil {
			b.direct.Close()
		}
		b.direct = &wire.Client{Addr: addr, Timeout: b.timeout}
		if u.Scheme == "https" {
			b.direct.TLS = &tls.Config{ServerName: u.Hostname()}
		}
	}
	return b.direct, true
}

// httpClient is a net/http client sharing the user's jar and way of connecting, for the WebSocket library.
func (b *browser) httpClient() *http.Client {
	if b.ws == nil {
		b.ws = &http.Client{
			Transport:     &http.Transport{DialContext: b.dial, MaxIdleConnsPerHost: 1, IdleConnTimeout: 30 * time.Second, DisableCompression: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		if b.jar != nil {
			b.ws.Jar = b.jar
		}
	}
	return b.ws
}

// proxyHeader is the PROXY protocol v1 header announcing from as the user's address: the real balancer hashes,
// logs and sticks on the simulated address instead of 127.0.0.1.
func proxyHeader(id int, from netip.Addr, remote net.Addr) ([]byte, error) {
	src := &net.TCPAddr{IP: from.AsSlice(), Port: 1024 + id%64000}
	dst, _ := remote.(*net.TCPAddr)
	return proxyproto.HeaderProxyFromAddrs(1, src, dst).Format()
}

// proxyProtocolDialer connects to the balancer and announces the user's address in a PROXY protocol v1 header
// of its own, for net/http's connections (a WebSocket's); the user's exchanges send it with their first request.
func proxyProtocolDialer(target string, id int, from func() netip.Addr) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1}
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, target)
		if err != nil {
			return nil, err
		}
		header, err := proxyHeader(id, from(), conn.RemoteAddr())
		if err == nil {
			_, err = conn.Write(header)
		}
		if err != nil {
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
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from().AsSlice()}, KeepAlive: -1}
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
	// form is the body's login form, read once (formRead) for the classifier and the login alike.
	form      htmlform.Login
	formFound bool
	formRead  bool
	// url is what URL points to for the usual target, a plain path: no allocation of its own.
	url url.URL
}

// loginForm is the login form of the answer's body, if it has one.
func (x *exchange) loginForm() (htmlform.Login, bool) {
	if !x.formRead {
		x.form, x.formFound = htmlform.FindLogin(x.Body)
		x.formRead = true
	}
	return x.form, x.formFound
}

// resolve is base.ResolveReference of target parsed, without the parse and the path's unescaping and cleaning for
// the usual target: an absolute path of plain characters with no dot segment, which it puts in dst.
func resolve(dst, base *url.URL, target string) (*url.URL, error) {
	if plainPath(target) {
		*dst = url.URL{Scheme: base.Scheme, User: base.User, Host: base.Host, Path: target}
		return dst, nil
	}
	ref, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	return base.ResolveReference(ref), nil
}

func plainPath(p string) bool {
	if len(p) == 0 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.Contains(p, "/.") {
		return false
	}
	for i := range len(p) {
		switch c := p[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '/', c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return true
}

// do sends one request to target (a path on the balancer, or an absolute URL), reads the answer, asks classify
// for the outcome and records exactly one event. A GET sends form in its query, a POST as its body.
func (b *browser) do(ctx context.Context, step string, attempt int, method, target string, form url.Values, classify func(*exchange) string) *exchange {
	x := &exchange{Step: step}
	start := b.clock()
	b.sent.Add(1)
	ev := events.Event{User: b.user.ID, Addr: b.currentAddr(), Step: step, Attempt: attempt, Method: method, Path: target}
	var err error
	if x.URL, err = resolve(&x.url, b.base, target); err == nil {
		if method == http.MethodGet && form != nil {
			q := x.URL.Query()
			for k, vs := range form {
				q[k] = vs
			}
			x.URL.RawQuery, form = q.Encode(), nil
		}
		ev.Path = x.URL.Path
		x.External, err = b.send(ctx, method, x.URL, form, x, &ev)
		if x.External {
			ev.Host = x.URL.Host
		} else {
			ev.Conn = b.opened()
		}
		if err == nil {
			resp := &b.resp
			x.Status = resp.Status
			a := b.answerOf(resp)
			x.Replica = b.replicaOf(a, x.sentCookie)
			ev.Failover, ev.Instance = b.failoverOf(a), a.instance
			if resp.Location != "" {
				if loc, err := x.URL.Parse(resp.Location); err == nil {
					x.Next = loc
					x.Location = loc.Path
					if loc.Host != b.base.Host {
						x.Location = "//" + loc.Host + loc.Path
					}
				}
			}
			if len(resp.SetCookie) > 0 {
				x.Cleared = clearedCookies(resp.SetCookie, time.Now())
			}
			x.Outcome = classify(x)
			if rateLimited(resp) {
				x.Outcome = events.OutcomeRateLimited
			}
		}
	}
	if err != nil {
		x.Err = err
		x.Outcome = events.OutcomeError
		if ctx.Err() != nil {
			// The run was interrupted and its grace ran out: the harness cut this request, not the app.
			x.Outcome = events.OutcomeInterrupted
		}
		ev.Error = err.Error()
	}
	ev.TMs = int64(start / time.Millisecond)
	ev.Status, ev.Location, ev.Replica, ev.Outcome = x.Status, x.Location, x.Replica, x.Outcome
	ev.LatencyUS = int64((b.clock() - start) / time.Microsecond)
	b.record(ev)
	return x
}

// fail records a request the journey could not make (a template that did not execute for this user) as one
// exchange with outcome error, so that the user's journey shows where it stopped; it counts as sent, as a request
// to an unparsable URL does.
func (b *browser) fail(step string, attempt int, method, path string, err error) *exchange {
	b.sent.Add(1)
	t := b.clock()
	b.record(events.Event{TMs: int64(t / time.Millisecond), User: b.user.ID, Addr: b.currentAddr(), Step: step, Attempt: attempt,
		Method: method, Path: path, Outcome: events.OutcomeError, Error: err.Error()})
	return &exchange{Step: step, Err: err, Outcome: events.OutcomeError}
}

// rateLimited reports an answer that refuses for rate: 429 Too Many Requests, or 503 with a Retry-After.
func rateLimited(resp *wire.Response) bool {
	return resp.Status == http.StatusTooManyRequests ||
		resp.Status == http.StatusServiceUnavailable && resp.RetryAfter != ""
}

// setTags names the cookies an answer's Set-Cookie lines set or clear, in their order (Event.Set), when no jar
// stores them; nil for none.
func setTags(lines []string, now time.Time) []string {
	var set []string
	for _, line := range lines {
		if tag := jar.Tag(now, line); tag != "" {
			set = append(set, tag)
		}
	}
	return set
}

// clearedCookies names the cookies that an answer's Set-Cookie lines, in order, expire: the last Set-Cookie of a
// name decides, as it does in the jar. Max-Age wins over Expires.
func clearedCookies(lines []string, now time.Time) []string {
	var names, seen []string
	for i := len(lines) - 1; i >= 0; i-- { // from the last: it decides for its name
		c, ok := jar.Parse(lines[i])
		if !ok || slices.Contains(seen, c.Name) {
			continue
		}
		seen = append(seen, c.Name)
		if c.Expired(now) {
			names = append(names, c.Name)
		}
	}
	slices.Reverse(names)
	return names
}

// keepBody reports whether an answer of this Content-Type is kept: HTML always, other text and JSON when the
// browser keeps text.
func (b *browser) keepBody(contentType string) bool {
	media, _, _ := strings.Cut(contentType, ";")
	media = strings.TrimSpace(media)
	if hasPrefixFold(media, "text/html") {
		return true
	}
	if !b.keepText {
		return false
	}
	return hasPrefixFold(media, "text/") || strings.EqualFold(media, "application/json") ||
		(len(media) >= 5 && strings.EqualFold(media[len(media)-5:], "+json"))
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// send makes the exchange for u through the user's connection to its host, with the jar's cookies, and stores the
// cookies the answer sets; the answer is in b.resp. The cookies the request carried and those the answer set go
// in ev (Sent, Set): there rather than in x, which each request allocates.
func (b *browser) send(ctx context.Context, method string, u *url.URL, form url.Values, x *exchange, ev *events.Event) (external bool, err error) {
	c, external := b.clientFor(u)
	https := u.Scheme == "https"
	h := b.header[:0]
	if b.jar != nil {
		n := len(h)
		h = append(h, "Cookie: "...)
		with, sent := b.jar.AppendRequest(h, time.Now(), https, u.Host, u.Path)
		if len(with) > len(h) {
			h = append(with, "\r\n"...)
		} else {
			h = h[:n]
		}
		ev.Sent = sent
	}
	req := wire.Request{Method: method, Host: u.Host, Target: u.RequestURI(), Keep: b.keep}
	if ev.Step == events.StepPage {
		// A protected page is read for its status, its redirect and its cookies alone (classifyPage): its body is
		// read past, not kept.
		req.Keep = nil
	}
	if form != nil {
		h = append(h, "Content-Type: application/x-www-form-urlencoded\r\n"...)
		req.Body = []byte(form.Encode())
	}
	if b.forwardedFor && !external {
		h = append(h, "X-Forwarded-For: "...)
		h = append(h, b.addrText...)
		h = append(h, "\r\n"...)
	}
	b.header, req.Header = h, h
	x.sentCookie = b.affinityCookie(u)
	if err := c.Do(ctx, &req, &b.resp); err != nil {
		return external, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	if len(b.resp.SetCookie) > 0 {
		// What the answer set, in its order, whether or not the user keeps cookies; the jar names a cookie it
		// stores with the tag it keeps for sending it, worked out once.
		if now := time.Now(); b.jar != nil {
			ev.Set = b.jar.Answer(now, https, u.Host, u.Path, b.resp.SetCookie)
		} else {
			ev.Set = setTags(b.resp.SetCookie, now)
		}
	}
	x.Body = b.resp.Body
	return external, nil
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
	if b.attribution.Cookie == "" || b.jar == nil {
		return ""
	}
	v, _ := b.jar.Value(time.Now(), u.Scheme == "https", u.Host, u.Path, b.attribution.Cookie)
	return v
}

// answer is what attributes an answer to a replica: the headers that may name it and the cookies it sets; and the
// balancer instance that passed it on.
type answer struct {
	upstream, replica, attribution, instance string
	setCookie                                []string
}

func (b *browser) answerOf(r *wire.Response) answer {
	return answer{upstream: r.Header(capUpstream), replica: r.Header(capReplica), attribution: r.Header(capAttribution),
		instance: r.Header(capInstance), setCookie: r.SetCookie}
}

// answerOfHTTP reads the same from a net/http answer (a WebSocket upgrade's).
func (b *browser) answerOfHTTP(r *http.Response) answer {
	a := answer{upstream: r.Header.Get(upstreamHeader), replica: r.Header.Get(contract.ReplicaHeader),
		instance: strings.Join(r.Header.Values(instanceHeader), ", "), setCookie: r.Header.Values("Set-Cookie")}
	if b.attribution.Header != "" {
		a.attribution = strings.Join(r.Header.Values(b.attribution.Header), ", ")
	}
	return a
}

// replicaOf names the replica that answered resp. With an Attribution, by its header or cookie. Else by the address
// the balancer reported in upstreamHeader (the last one, when it tried several), mapped to a name; else by the app's
// own X-Replica header. An address the harness does not know is kept as it is, so that no answer drops out of the
// per-replica figures.
// failoverOf names the replica the balancer picked first when the upstream header lists several tried addresses
// ("a:1, b:2": nginx moved on after a:1 failed), or "".
func (b *browser) failoverOf(a answer) string {
	up := a.upstream
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

func (b *browser) replicaOf(h answer, sent string) string {
	switch a := b.attribution; {
	case a.None:
		return ""
	case a.Header != "":
		v := h.attribution
		if i := strings.LastIndex(v, ","); i >= 0 {
			v = v[i+1:]
		}
		return strings.TrimSpace(v)
	case a.Cookie != "":
		for _, line := range h.setCookie {
			if c, ok := jar.Parse(line); ok && c.Name == a.Cookie && c.MaxAge >= 0 && c.Value != "" {
				sent = c.Value
			}
		}
		return sent
	}
	if up := h.upstream; up != "" && b.upstreams != nil {
		if i := strings.LastIndex(up, ","); i >= 0 {
			up = up[i+1:]
		}
		up = strings.TrimSpace(up)
		if name := b.upstreams(up); name != "" {
			return name
		}
		if h.replica != "" {
			return h.replica
		}
		if up != "" && up != ":" && up != "-" {
			return up
		}
	}
	return h.replica
}

// opened says why the exchange just made with the balancer opened a new connection (Event.Conn), "" when it reused
// the one held: what the connection knows of how the last one ended, unless the user moved meanwhile.
func (b *browser) opened() string {
	why := b.conn.Opened()
	if why == wire.Reused {
		return ""
	}
	roamed := b.roamed
	b.roamed = false
	switch {
	case roamed:
		return connRoam
	case why == wire.OpenedFirst:
		return connFirst
	case why == wire.OpenedAfterClose: // the browser lets it go before a long pause, and at a roam
		return connKeepAlive
	case why == wire.OpenedServerClosed:
		return connClosed
	}
	return connError // wire.OpenedAfterError
}

// letGo drops the connections before a pause longer than the keep-alive: the next exchange opens a new one.
func (b *browser) letGo() {
	b.conn.Drop()
	if b.direct != nil {
		b.direct.Drop()
	}
	if b.ws != nil {
		b.ws.CloseIdleConnections()
	}
}

// close ends the journey's connections: they are let go, reset (Drop), as before a pause. A closing handshake would
// leave each user's port in TIME_WAIT on this machine for a minute, which blocks listening on it, and thousands of
// users hold ports of the ephemeral range the container engine publishes ports from too (docs/performance.md).
func (b *browser) close() { b.letGo() }
