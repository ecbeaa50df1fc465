package jar

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/publicsuffix"
)

// step is a request to url whose answer set lines.
type step struct {
	url   string
	lines []string
}

var (
	future = time.Now().Add(365 * 24 * time.Hour).UTC().Format(http.TimeFormat)
	past   = time.Now().Add(-365 * 24 * time.Hour).UTC().Format(http.TimeFormat)
)

// The table: each case's steps fed to both jars, then each query's Cookie header compared. want, when set, is the
// header of the first query written out, so that both jars being wrong alike cannot pass.
var cases = []struct {
	name    string
	steps   []step
	queries []string
	want    *string
}{
	{"host-only", []step{{"http://www.example.com/", []string{"a=1"}}}, []string{"http://www.example.com/", "http://example.com/", "http://sub.www.example.com/"}, ptr("a=1")},
	{"domain cookie", []step{{"http://www.example.com/", []string{"a=1; Domain=example.com"}}}, []string{"http://example.com/", "http://x.example.com/", "http://www.example.com/x"}, ptr("a=1")},
	{"leading dot", []step{{"http://www.example.com/", []string{"a=1; Domain=.example.com"}}}, []string{"http://foo.example.com/"}, ptr("a=1")},
	{"another site's domain", []step{{"http://www.example.com/", []string{"a=1; Domain=other.com"}}}, []string{"http://other.com/", "http://www.example.com/"}, ptr("")},
	{"public suffix domain", []step{{"http://www.example.co.uk/", []string{"a=1; Domain=co.uk", "b=2; Domain=com"}}}, []string{"http://www.example.co.uk/", "http://other.co.uk/"}, ptr("")},
	{"host that is a public suffix", []step{{"http://co.uk/", []string{"a=1; Domain=co.uk"}}}, []string{"http://co.uk/", "http://www.co.uk/"}, ptr("a=1")},
	{"IP host", []step{{"http://127.0.0.1:8080/", []string{"a=1", "b=2; Domain=127.0.0.1", "c=3; Domain=127.0.0.2"}}}, []string{"http://127.0.0.1/", "http://127.0.0.2/"}, ptr("a=1; b=2")},
	{"IPv6 host", []step{{"http://[::1]:8080/", []string{"a=1"}}}, []string{"http://[::1]:9090/", "http://[::1]/", "http://[::2]:80/"}, ptr("a=1")},
	{"ports ignored", []step{{"http://www.example.com:8080/", []string{"a=1"}}}, []string{"http://www.example.com:9090/"}, ptr("a=1")},
	{"uppercase host", []step{{"http://WWW.Example.COM/", []string{"a=1; Domain=EXAMPLE.com"}}}, []string{"http://www.example.com/", "http://X.EXAMPLE.COM/"}, ptr("a=1")},
	{"default path from /a/b/c", []step{{"http://h.example.com/a/b/c", []string{"a=1"}}}, []string{"http://h.example.com/a/b", "http://h.example.com/a/b/x", "http://h.example.com/a", "http://h.example.com/a/bc"}, ptr("a=1")},
	{"default path from /", []step{{"http://h.example.com/", []string{"a=1"}}}, []string{"http://h.example.com/x/y"}, ptr("a=1")},
	{"default path from empty", []step{{"http://h.example.com", []string{"a=1"}}}, []string{"http://h.example.com/x"}, ptr("a=1")},
	{"default path from /a", []step{{"http://h.example.com/a", []string{"a=1"}}}, []string{"http://h.example.com/b"}, ptr("a=1")},
	{"explicit path", []step{{"http://h.example.com/", []string{"a=1; Path=/foo"}}}, []string{"http://h.example.com/foo", "http://h.example.com/foobar", "http://h.example.com/foo/bar", "http://h.example.com/"}, ptr("a=1")},
	{"path with a trailing slash", []step{{"http://h.example.com/", []string{"a=1; Path=/foo/"}}}, []string{"http://h.example.com/foo", "http://h.example.com/foo/", "http://h.example.com/foo/x"}, ptr("")},
	{"relative path attribute", []step{{"http://h.example.com/a/b", []string{"a=1; Path=x"}}}, []string{"http://h.example.com/a/z", "http://h.example.com/b"}, ptr("a=1")},
	{"secure over http and https", []step{{"https://h.example.com/", []string{"a=1; Secure", "b=2"}}}, []string{"http://h.example.com/", "https://h.example.com/"}, ptr("b=2")},
	{"Max-Age=0 deletes", []step{{"http://h.example.com/", []string{"a=1", "b=2"}}, {"http://h.example.com/", []string{"a=; Max-Age=0"}}}, []string{"http://h.example.com/"}, ptr("b=2")},
	{"negative Max-Age deletes", []step{{"http://h.example.com/", []string{"a=1"}}, {"http://h.example.com/", []string{"a=1; Max-Age=-1"}}}, []string{"http://h.example.com/"}, ptr("")},
	{"past Expires deletes", []step{{"http://h.example.com/", []string{"a=1"}}, {"http://h.example.com/", []string{"a=1; Expires=" + past}}}, []string{"http://h.example.com/"}, ptr("")},
	{"future Expires keeps", []step{{"http://h.example.com/", []string{"a=1; Expires=" + future}}}, []string{"http://h.example.com/"}, ptr("a=1")},
	{"Max-Age wins over a past Expires", []step{{"http://h.example.com/", []string{"a=1; Max-Age=3600; Expires=" + past}}}, []string{"http://h.example.com/"}, ptr("a=1")},
	{"deleting another path's cookie does nothing", []step{{"http://h.example.com/", []string{"a=1; Path=/"}}, {"http://h.example.com/", []string{"a=; Path=/x; Max-Age=0"}}}, []string{"http://h.example.com/x"}, ptr("a=1")},
	{"replacement keeps the order", []step{{"http://h.example.com/", []string{"a=1", "b=2"}}, {"http://h.example.com/", []string{"a=3"}}}, []string{"http://h.example.com/"}, ptr("a=3; b=2")},
	{"longer paths first", []step{{"http://h.example.com/", []string{"a=1; Path=/", "b=2; Path=/x/y", "c=3; Path=/x"}}}, []string{"http://h.example.com/x/y/z"}, ptr("b=2; c=3; a=1")},
	{"same name, two domains", []step{{"http://www.example.com/", []string{"a=1", "a=2; Domain=example.com"}}}, []string{"http://www.example.com/"}, ptr("a=1; a=2")},
	{"invalid name and value dropped", []step{{"http://h.example.com/", []string{"a b=1", "=2", "c=x\"y", "d=ok"}}}, []string{"http://h.example.com/"}, ptr("d=ok")},
	{"quoted value", []step{{"http://h.example.com/", []string{`a="q1"`}}}, []string{"http://h.example.com/"}, ptr(`a="q1"`)},
	{"empty value", []step{{"http://h.example.com/", []string{"a="}}}, []string{"http://h.example.com/"}, ptr("a=")},
	{"value with a space", []step{{"http://h.example.com/", []string{"a=x y"}}}, []string{"http://h.example.com/"}, nil},
	{"localhost", []step{{"http://localhost:9000/", []string{"a=1", "b=2; Domain=localhost"}}}, []string{"http://localhost/", "http://x.localhost/"}, ptr("a=1; b=2")},
	{"attributes in odd case", []step{{"http://www.example.com/a/b", []string{"a=1; DOMAIN=example.com; path=/; MAX-AGE=60; secure"}}}, []string{"https://x.example.com/", "http://x.example.com/"}, ptr("a=1")},
	{"trailing dot domain refused", []step{{"http://www.example.com/", []string{"a=1; Domain=example.com."}}}, []string{"http://www.example.com/"}, ptr("")},
	{"Domain=. refused", []step{{"http://www.example.com/", []string{"a=1; Domain=."}}}, []string{"http://www.example.com/"}, ptr("")},
	{"set over http, Secure read over https", []step{{"http://h.example.com/", []string{"a=1; Secure"}}}, []string{"https://h.example.com/"}, ptr("a=1")},
	{"several hosts", []step{{"http://a.example.com/", []string{"x=1"}}, {"http://b.example.com/", []string{"y=2; Domain=example.com"}}}, []string{"http://a.example.com/", "http://b.example.com/"}, ptr("x=1; y=2")},
}

func ptr(s string) *string { return &s }

func header(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, (&http.Cookie{Name: c.Name, Value: c.Value, Quoted: c.Quoted}).String())
	}
	return strings.Join(parts, "; ")
}

func TestSameAsNetHTTPCookiejar(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
			require.NoError(t, err)
			j := New()
			for _, s := range c.steps {
				u, err := url.Parse(s.url)
				require.NoError(t, err)
				ref.SetCookies(u, (&http.Response{Header: http.Header{"Set-Cookie": s.lines}}).Cookies())
				for _, line := range s.lines {
					j.SetCookie(time.Now(), u.Scheme == "https", u.Host, u.Path, line)
				}
			}
			for i, q := range c.queries {
				u, err := url.Parse(q)
				require.NoError(t, err)
				want := header(ref.Cookies(u))
				got := string(j.AppendHeader(nil, time.Now(), u.Scheme == "https", u.Host, u.Path))
				assert.Equal(t, want, got, "query %s", q)
				assert.Equal(t, want, header(j.Cookies(u)), "query %s through net/http's interface", q)
				if i == 0 && c.want != nil {
					assert.Equal(t, *c.want, got, "query %s, written out", q)
				}
			}
		})
	}
}

func TestParseAndExpired(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		line    string
		ok      bool
		expired bool
	}{
		{"a=1", true, false},
		{"a=1; Max-Age=0", true, true},
		{"a=1; Max-Age=-5", true, true},
		{"a=1; Max-Age=10", true, false},
		{"a=1; Expires=" + past, true, true},
		{"a=1; Expires=" + future, true, false},
		{"a=1; Max-Age=10; Expires=" + past, true, false},
		{"no-equals", false, false},
		{"", false, false},
	} {
		got, ok := Parse(c.line)
		assert.Equal(t, c.ok, ok, c.line)
		if ok {
			assert.Equal(t, c.expired, got.Expired(now), c.line)
		}
	}
}

func TestValueAndLen(t *testing.T) {
	j := New()
	now := time.Now()
	j.SetCookie(now, false, "h.example.com", "/", "lb=r2; Path=/")
	j.SetCookie(now, false, "h.example.com", "/", "sid=abc; Max-Age=1")
	v, ok := j.Value(now, false, "h.example.com:80", "/page", "lb")
	assert.True(t, ok)
	assert.Equal(t, "r2", v)
	assert.Equal(t, 2, j.Len())
	_, ok = j.Value(now.Add(2*time.Second), false, "h.example.com", "/", "sid")
	assert.False(t, ok, "expired")
	assert.Equal(t, 1, j.Len(), "the expired cookie left the jar when met")
}

// A user's jar must stay small: tens of thousands of users hold one each.
func TestJarMemory(t *testing.T) {
	now := time.Now()
	allocs := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			j := New()
			j.SetCookie(now, false, "127.0.0.1:8080", "/login", "sid=0123456789abcdef0123456789abcdef; Path=/; HttpOnly")
			j.SetCookie(now, false, "127.0.0.1:8080", "/login", "INGRESSCOOKIE=5f3c9a; Path=/")
			j.SetCookie(now, false, "127.0.0.1:8080", "/login", "csrf=xyz; Path=/")
		}
	})
	assert.Less(t, allocs.AllocedBytesPerOp(), int64(2048), "bytes allocated for a jar of three cookies, parsing included")
}

func BenchmarkAppendHeader(b *testing.B) {
	j := New()
	now := time.Now()
	j.SetCookie(now, false, "127.0.0.1:8080", "/", "sid=0123456789abcdef; Path=/")
	j.SetCookie(now, false, "127.0.0.1:8080", "/", "INGRESSCOOKIE=5f3c9a; Path=/")
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = j.AppendHeader(buf[:0], now, false, "127.0.0.1:8080", "/page/3")
	}
}
