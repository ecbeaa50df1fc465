package fakeapp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// serve sends one request to h and returns the recorded answer.
func serve(t *testing.T, h http.Handler, method, path string, form url.Values, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func bodyOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// cookieNamed returns the cookie name set by resp, or nil.
func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// browser keeps cookies across requests served in-process, the way a browser does: a Set-Cookie replaces the
// cookie of its name, one with Max-Age<=0 removes it. Ports and hosts do not matter to it, as to replicas behind a
// balancer.
type browser struct {
	t       *testing.T
	cookies map[string]*http.Cookie
}

func newBrowser(t *testing.T) *browser {
	return &browser{t: t, cookies: make(map[string]*http.Cookie)}
}

func (b *browser) do(h http.Handler, method, path string, form url.Values) *http.Response {
	b.t.Helper()
	var jar []*http.Cookie
	for _, c := range b.cookies {
		jar = append(jar, c)
	}
	resp := serve(b.t, h, method, path, form, jar...)
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
			continue
		}
		b.cookies[c.Name] = c
	}
	return resp
}

// login posts user's credentials (and any extra fields) and returns the answer.
func (b *browser) login(h http.Handler, user string, extra url.Values) *http.Response {
	b.t.Helper()
	form := url.Values{"username": {user}, "password": {"secret"}}
	for k, v := range extra {
		form[k] = v
	}
	return b.do(h, http.MethodPost, "/login", form)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// hiddenFields returns the hidden inputs of the login form in body.
func hiddenFields(body string) map[string]string {
	out := make(map[string]string)
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		out[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

// scrape reads h's /metrics and returns its unlabelled samples by name.
func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	resp := serve(t, h, http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := make(map[string]float64)
	for _, line := range strings.Split(bodyOf(t, resp), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || strings.Contains(name, "{") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		require.NoError(t, err, "metrics line %q", line)
		out[name] = v
	}
	return out
}

// metric returns one sample of h's /metrics, which must be there.
func metric(t *testing.T, h http.Handler, name string) float64 {
	t.Helper()
	samples := scrape(t, h)
	require.Contains(t, samples, name)
	return samples[name]
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// redisServerBin finds redis-server, or skips the test saying why.
func redisServerBin(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("redis-server"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	t.Skip("redis-server is not installed (not on PATH, not /usr/bin/redis-server): this test needs a real Redis")
	return ""
}

// startRedis runs a throwaway redis-server on a free port, without persistence, and returns a client to it; both
// end with the test. A port another test's process took between choosing it and binding it is chosen again.
func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real redis-server; skipped with -short")
	}
	bin := redisServerBin(t)
	for attempt := 1; ; attempt++ {
		rdb, taken := tryRedis(t, bin)
		if !taken {
			return rdb
		}
		require.Less(t, attempt, 5, "redis-server found its port taken %d times", attempt)
	}
}

// tryRedis starts redis-server on a free port and waits until it answers; taken reports it exited because the port
// was taken meanwhile.
func tryRedis(t *testing.T, bin string) (rdb *redis.Client, taken bool) {
	t.Helper()
	addr := freeAddr(t)
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	var out bytes.Buffer
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })

	rdb = redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case <-exited:
			if strings.Contains(out.String(), "Address already in use") {
				return nil, true
			}
			require.FailNow(t, "redis-server exited", "on %s: %s", addr, out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return rdb, false
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "redis-server never answered PING", "on %s: %v", addr, err)
		}
	}
}

// flipByte changes one byte of a sealed value.
func flipByte(t *testing.T, sealed string, i int) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	require.NoError(t, err)
	raw[i] ^= 1
	return base64.RawURLEncoding.EncodeToString(raw)
}
