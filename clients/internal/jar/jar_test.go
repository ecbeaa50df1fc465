package jar

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/publicsuffix"
)

var (
	past   = time.Now().Add(-365 * 24 * time.Hour).UTC().Format(http.TimeFormat)
	future = time.Now().Add(365 * 24 * time.Hour).UTC().Format(http.TimeFormat)
	// the other Expires format net/http reads
	pastDashed = time.Now().Add(-365 * 24 * time.Hour).UTC().Format("Mon, 02-Jan-2006 15:04:05 MST")
)

// step is the answer to a request to url setting lines, at (real) time at after the case began: net/http/cookiejar
// reads the clock itself.
type step struct {
	at    time.Duration
	url   string
	lines []string
}

// query is a request to url at time at after the case began, and the Cookie header it must carry, written out.
type query struct {
	at   time.Duration
	url  string
	want string
}

func set(url string, lines ...string) step { return step{url: url, lines: lines} }
func get(url, want string) query           { return query{url: url, want: want} }

// cookieCases are fed to this jar and to net/http/cookiejar with publicsuffix.List; every query's Cookie header
// must be the one a net/http client would send from cookiejar's cookies, and the one written out.
var cookieCases = []struct {
	name    string
	steps   []step
	queries []query
}{
	{"host-only cookie", []step{set("http://www.example.com/", "a=1")}, []query{
		get("http://www.example.com/", "a=1"), get("http://example.com/", ""), get("http://sub.www.example.com/", "")}},
	{"Domain cookie", []step{set("http://www.example.com/", "a=1; Domain=example.com")}, []query{
		get("http://example.com/", "a=1"), get("http://x.example.com/", "a=1"), get("http://www.example.com/x", "a=1"),
		get("http://notexample.com/", "")}},
	{"Domain with a leading dot", []step{set("http://www.example.com/", "a=1; Domain=.example.com")}, []query{
		get("http://foo.example.com/", "a=1"), get("http://example.com/", "a=1")}},
	{"Domain equal to the host", []step{set("http://www.example.com/", "a=1; Domain=www.example.com")}, []query{
		get("http://www.example.com/", "a=1"), get("http://x.www.example.com/", "a=1"), get("http://example.com/", "")}},
	{"Domain of another site", []step{set("http://www.example.com/", "a=1; Domain=other.com")}, []query{
		get("http://other.com/", ""), get("http://www.example.com/", "")}},
	{"Domain of a sibling", []step{set("http://a.example.com/", "a=1; Domain=b.example.com")}, []query{
		get("http://b.example.com/", ""), get("http://a.example.com/", "")}},
	{"Domain of a subdomain", []step{set("http://example.com/", "a=1; Domain=www.example.com")}, []query{
		get("http://www.example.com/", ""), get("http://example.com/", "")}},
	{"Domain a public suffix", []step{
		set("http://www.example.co.uk/", "a=1; Domain=co.uk"), set("http://www.example.com/", "b=2; Domain=com")}, []query{
		get("http://www.example.co.uk/", ""), get("http://other.co.uk/", ""), get("http://www.example.com/", "")}},
	{"Domain under a public suffix", []step{set("http://www.example.co.uk/", "a=1; Domain=example.co.uk")}, []query{
		get("http://other.example.co.uk/", "a=1"), get("http://other.co.uk/", "")}},
	{"host a public suffix naming itself", []step{set("http://co.uk/", "a=1; Domain=co.uk")}, []query{
		get("http://co.uk/", "a=1"), get("http://www.co.uk/", "")}},
	{"host a public suffix, host-only", []step{set("http://co.uk/", "a=1")}, []query{
		get("http://co.uk/", "a=1"), get("http://x.co.uk/", "")}},
	{"IP host", []step{set("http://127.0.0.1:8080/",
		"a=1", "b=2; Domain=127.0.0.1", "c=3; Domain=127.0.0.2", "d=4; Domain=.127.0.0.1", "e=5; Domain=0.0.1")}, []query{
		get("http://127.0.0.1/", "a=1; b=2"), get("http://127.0.0.2/", ""), get("http://127.0.0.1:9/x", "a=1; b=2")}},
	{"a domain cookie does not reach an IP host", []step{set("http://x.3.4/", "a=1; Domain=3.4")}, []query{
		get("http://y.3.4/", "a=1"), get("http://1.2.3.4/", "")}},
	{"IPv6 host", []step{set("http://[::1]:8080/", "a=1"), set("http://[::1]/", "b=2")}, []query{
		get("http://[::1]:9090/", "a=1"), get("http://[::1]/", "b=2"), get("http://[::2]:80/", "")}},
	{"ports ignored", []step{set("http://www.example.com:8080/", "a=1")}, []query{
		get("http://www.example.com:9090/", "a=1"), get("http://www.example.com/", "a=1")}},
	{"upper case host and Domain", []step{set("http://WWW.Example.COM/", "a=1; Domain=EXAMPLE.com")}, []query{
		get("http://www.example.com/", "a=1"), get("http://X.EXAMPLE.COM/", "a=1")}},
	{"host with a trailing dot", []step{set("http://www.example.com./", "a=1")}, []query{
		get("http://www.example.com/", "a=1"), get("http://WWW.example.com.:80/", "a=1")}},
	{"international host", []step{set("http://bücher.example/", "a=1")}, []query{
		get("http://xn--bcher-kva.example/", "a=1"), get("http://bücher.example/", "a=1"), get("http://BÜCHER.example/", "")}},
	{"default path from /a/b/c", []step{set("http://h.example.com/a/b/c", "a=1")}, []query{
		get("http://h.example.com/a/b", "a=1"), get("http://h.example.com/a/b/x", "a=1"), get("http://h.example.com/a", ""),
		get("http://h.example.com/a/bc", "")}},
	{"default path from /a/b/", []step{set("http://h.example.com/a/b/", "a=1")}, []query{
		get("http://h.example.com/a/b", "a=1"), get("http://h.example.com/a/", "")}},
	{"default path from /", []step{set("http://h.example.com/", "a=1")}, []query{get("http://h.example.com/x/y", "a=1")}},
	{"default path from nothing", []step{set("http://h.example.com", "a=1")}, []query{
		get("http://h.example.com/x", "a=1"), get("http://h.example.com", "a=1")}},
	{"default path from /a", []step{set("http://h.example.com/a", "a=1")}, []query{get("http://h.example.com/b", "a=1")}},
	{"Path=/foo", []step{set("http://h.example.com/", "a=1; Path=/foo")}, []query{
		get("http://h.example.com/foo", "a=1"), get("http://h.example.com/foobar", ""),
		get("http://h.example.com/foo/bar", "a=1"), get("http://h.example.com/", ""), get("http://h.example.com/Foo", "")}},
	{"Path=/foo/", []step{set("http://h.example.com/", "a=1; Path=/foo/")}, []query{
		get("http://h.example.com/foo", ""), get("http://h.example.com/foo/", "a=1"), get("http://h.example.com/foo/x", "a=1")}},
	{"Path not starting with /", []step{set("http://h.example.com/a/b", "a=1; Path=x", "b=2; Path=")}, []query{
		get("http://h.example.com/a/z", "a=1; b=2"), get("http://h.example.com/b", "")}},
	{"Secure over http and https", []step{set("https://h.example.com/", "a=1; Secure", "b=2")}, []query{
		get("http://h.example.com/", "b=2"), get("https://h.example.com/", "a=1; b=2")}},
	{"Secure set over http", []step{set("http://h.example.com/", "a=1; Secure")}, []query{
		get("https://h.example.com/", "a=1"), get("http://h.example.com/", "")}},
	{"Secure on localhost and loopback goes over http", []step{
		set("http://localhost:3000/", "a=1; Secure"), set("http://127.0.0.1/", "b=2; Secure"),
		set("http://[::1]:80/", "c=3; Secure"), set("http://app.localhost/", "d=4; Secure"),
		set("http://10.0.0.1/", "e=5; Secure")}, []query{
		get("http://localhost/", "a=1"), get("http://127.0.0.1/", "b=2"), get("http://[::1]:81/", "c=3"),
		get("http://app.localhost/", "d=4"), get("http://10.0.0.1/", ""), get("https://10.0.0.1/", "e=5")}},
	{"Max-Age=0 deletes", []step{set("http://h.example.com/", "a=1", "b=2"), set("http://h.example.com/", "a=; Max-Age=0")}, []query{
		get("http://h.example.com/", "b=2")}},
	{"negative Max-Age deletes", []step{set("http://h.example.com/", "a=1", "b=2", "c=3"),
		set("http://h.example.com/", "a=1; Max-Age=-1", "b=; Max-Age=-0", "c=; Max-Age=00")}, []query{
		get("http://h.example.com/", "")}},
	{"past Expires deletes", []step{set("http://h.example.com/", "a=1", "b=2"),
		set("http://h.example.com/", "a=1; Expires="+past, "b=2; expires="+pastDashed)}, []query{
		get("http://h.example.com/", "")}},
	{"past Expires never stores", []step{set("http://h.example.com/", "a=1; Expires="+past, "b=2")}, []query{
		get("http://h.example.com/", "b=2")}},
	{"future Expires keeps", []step{set("http://h.example.com/", "a=1; Expires="+future)}, []query{
		get("http://h.example.com/", "a=1")}},
	{"Max-Age wins over Expires", []step{set("http://h.example.com/",
		"a=1; Max-Age=3600; Expires="+past, "b=2; Expires="+future+"; Max-Age=0")}, []query{
		get("http://h.example.com/", "a=1")}},
	{"odd Max-Age values", []step{set("http://h.example.com/",
		"a=1; Max-Age=+60", "b=2; Max-Age=060", "c=3; Max-Age=abc", "d=4; Max-Age=", "e=5; Max-Age=0; Max-Age=x")}, []query{
		get("http://h.example.com/", "a=1; b=2; c=3; d=4")}},
	{"an unparsable Expires clears a parsed one", []step{set("http://h.example.com/",
		"a=1; Expires="+past+"; Expires=soon", "b=2; Expires=soon")}, []query{
		get("http://h.example.com/", "a=1; b=2")}},
	{"deleting at another path does nothing", []step{set("http://h.example.com/", "a=1; Path=/"),
		set("http://h.example.com/", "a=; Path=/x; Max-Age=0")}, []query{get("http://h.example.com/x", "a=1")}},
	{"deleting at another domain does nothing", []step{set("http://www.example.com/", "a=1"),
		set("http://www.example.com/", "a=; Domain=example.com; Max-Age=0")}, []query{get("http://www.example.com/", "a=1")}},
	{"a host-only cookie is the domain cookie of its host", []step{set("http://www.example.com/", "a=1", "b=2"),
		set("http://www.example.com/", "a=; Domain=www.example.com; Max-Age=0", "b=3; Domain=www.example.com")}, []query{
		get("http://www.example.com/", "b=3"), get("http://x.www.example.com/", "b=3")}},
	{"replacement keeps its place", []step{set("http://h.example.com/", "a=1", "b=2", "c=3"),
		set("http://h.example.com/", "a=4", "c=5")}, []query{get("http://h.example.com/", "a=4; b=2; c=5")}},
	{"deleted and set again goes last", []step{set("http://h.example.com/", "a=1", "b=2"),
		set("http://h.example.com/", "a=; Max-Age=0"), set("http://h.example.com/", "a=3")}, []query{
		get("http://h.example.com/", "b=2; a=3")}},
	{"longer paths first", []step{set("http://h.example.com/", "a=1; Path=/", "b=2; Path=/x/y", "c=3; Path=/x", "d=4; Path=/x/")}, []query{
		get("http://h.example.com/x/y/z", "b=2; d=4; c=3; a=1"), get("http://h.example.com/x", "c=3; a=1")}},
	{"same name, two domains, two paths", []step{set("http://www.example.com/a/b",
		"a=1", "a=2; Domain=example.com", "a=3; Path=/")}, []query{
		get("http://www.example.com/a/c", "a=1; a=2; a=3"), get("http://x.example.com/a", "a=2")}},
	{"invalid names and values dropped", []step{set("http://h.example.com/",
		"a b=1", "=2", "c=x\"y", "d=ok", `e=x\y`, "f=é", "g", "", "h=a;b", "i\x01=1", "j=\x7f")}, []query{
		get("http://h.example.com/", "d=ok; h=a")}},
	{"quoted values", []step{set("http://h.example.com/", `a="q1"`, `b=""`, `c="`, `d="x y"`, `e="x"y"`)}, []query{
		get("http://h.example.com/", `a="q1"; b=""; d="x y"`)}},
	{"empty value", []step{set("http://h.example.com/", "a=", "b= ")}, []query{get("http://h.example.com/", "a=; b=")}},
	{"values with a space or a comma", []step{set("http://h.example.com/", "a=x y", "b=x,y", "c= 1")}, []query{
		get("http://h.example.com/", `a="x y"; b="x,y"; c=" 1"`)}},
	{"spaces around the pairs", []step{set("http://h.example.com/a/b", "  a = 1 ; Path = /x ;Secure; path=/a")}, []query{
		get("http://h.example.com/a", ""), get("https://h.example.com/a", `a=" 1"`), get("https://h.example.com/", "")}},
	{"localhost", []step{set("http://localhost:9000/", "a=1", "b=2; Domain=localhost", "c=3; Domain=.localhost")}, []query{
		get("http://localhost/", "a=1; b=2; c=3"), get("http://x.localhost/", "")}},
	{"attributes in odd case", []step{set("http://www.example.com/a/b", "a=1; DOMAIN=example.com; path=/; MAX-AGE=60; secure")}, []query{
		get("https://x.example.com/", "a=1"), get("http://x.example.com/", "")}},
	{"malformed Domains refused", []step{set("http://www.example.com/",
		"a=1; Domain=example.com.", "b=2; Domain=.", "c=3; Domain=..example.com", "d=4; Domain=www.example.com.")}, []query{
		get("http://www.example.com/", "")}},
	{"a Domain attribute in quotes is left unparsed", []step{set("http://www.example.com/", `a=1; Domain="example.com"`)}, []query{
		get("http://www.example.com/", "a=1"), get("http://x.example.com/", "")}},
	{"an empty Domain is host-only", []step{set("http://www.example.com/", "a=1; Domain=")}, []query{
		get("http://www.example.com/", "a=1"), get("http://x.www.example.com/", "")}},
	{"attributes a client does not act on", []step{set("http://h.example.com/",
		"a=1; SameSite=Lax; HttpOnly; Partitioned; Priority=High; Comment=hi")}, []query{get("http://h.example.com/", "a=1")}},
	{"several hosts", []step{set("http://a.example.com/", "x=1"), set("http://b.example.com/", "y=2; Domain=example.com")}, []query{
		get("http://a.example.com/", "x=1; y=2"), get("http://b.example.com/", "y=2"), get("http://example.com/", "y=2")}},
	{"Max-Age runs out", []step{set("http://h.example.com/", "a=1; Max-Age=1", "b=2")}, []query{
		get("http://h.example.com/", "a=1; b=2"), {at: 1200 * time.Millisecond, url: "http://h.example.com/", want: "b=2"}}},
	{"replacing renews Max-Age", []step{set("http://h.example.com/", "a=1; Max-Age=1", "b=2"),
		{at: 600 * time.Millisecond, url: "http://h.example.com/", lines: []string{"a=3; Max-Age=3600"}}}, []query{
		{at: 1300 * time.Millisecond, url: "http://h.example.com/", want: "a=3; b=2"}}},
}

// addCookies is the Cookie header a net/http client writes from these cookies.
func addCookies(cookies []*http.Cookie) string {
	req := &http.Request{Header: http.Header{}}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return req.Header.Get("Cookie")
}

func mustURL(t testing.TB, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func newReference(t testing.TB) *cookiejar.Jar {
	ref, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	require.NoError(t, err)
	return ref
}

// compare asserts that j (and viaNetHTTP, fed through SetCookies) send to u what ref sends.
func compare(t *testing.T, ref *cookiejar.Jar, j, viaNetHTTP *Jar, u *url.URL) string {
	t.Helper()
	https := u.Scheme == "https"
	refCookies := ref.Cookies(u)
	want := addCookies(refCookies)
	got := string(j.AppendHeader(nil, time.Now(), https, u.Host, u.Path))
	assert.Equal(t, want, got, "Cookie header to %s", u)
	assert.Equal(t, want, string(viaNetHTTP.AppendHeader(nil, time.Now(), https, u.Host, u.Path)),
		"Cookie header to %s from the jar fed through SetCookies", u)
	assert.Equal(t, want, addCookies(j.Cookies(u)), "Cookie header to %s from Cookies", u)
	assert.Equal(t, fields(refCookies), fields(j.Cookies(u)), "Cookies(%s)", u)
	seen := map[string]bool{}
	for _, c := range refCookies {
		if seen[c.Name] {
			continue
		}
		seen[c.Name] = true
		v, ok := j.Value(time.Now(), https, u.Host, u.Path, c.Name)
		assert.True(t, ok, "Value of %s to %s", c.Name, u)
		assert.Equal(t, c.Value, v, "Value of %s to %s", c.Name, u)
	}
	_, ok := j.Value(time.Now(), https, u.Host, u.Path, "none-of-that-name")
	assert.False(t, ok)
	return got
}

func fields(cs []*http.Cookie) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%q=%q quoted:%v", c.Name, c.Value, c.Quoted))
	}
	return out
}

// TestSameAsNetHTTPCookiejar is the central test: the cases' Cookie headers are cookiejar's, and as written out.
func TestSameAsNetHTTPCookiejar(t *testing.T) {
	for _, c := range cookieCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // the cases that wait for the clock wait together
			ref, j, viaNetHTTP := newReference(t), New(), New()
			begin := time.Now()
			for _, s := range c.steps {
				time.Sleep(time.Until(begin.Add(s.at)))
				u := mustURL(t, s.url)
				cookies := (&http.Response{Header: http.Header{"Set-Cookie": s.lines}}).Cookies()
				ref.SetCookies(u, cookies)
				viaNetHTTP.SetCookies(u, cookies)
				for _, line := range s.lines {
					j.SetCookie(time.Now(), u.Scheme == "https", u.Host, u.Path, line)
				}
			}
			for _, q := range c.queries {
				time.Sleep(time.Until(begin.Add(q.at)))
				got := compare(t, ref, j, viaNetHTTP, mustURL(t, q.url))
				assert.Equal(t, q.want, got, "Cookie header to %s, written out", q.url)
			}
		})
	}
}

// The pools the random test and FuzzSetCookie draw from.
var (
	poolHosts = []string{"example.com", "www.example.com", "a.www.example.com", "WWW.Example.com:8443", "other.com",
		"example.co.uk", "x.example.co.uk", "co.uk", "127.0.0.1:8080", "127.0.0.1", "[::1]:80", "localhost", "x.3.4", "1.2.3.4",
		"bücher.example"}
	poolPaths = []string{"", "/", "/a", "/a/", "/a/b", "/a/b/c", "/ab", "/b/c/"}
)

// sameAsReference reports the requests of the pools to which j sends another Cookie header than ref does, or
// viaNetHTTP (fed through SetCookies) another than j; it counts the non-empty headers in sent.
func sameAsReference(t *testing.T, ref *cookiejar.Jar, j, viaNetHTTP *Jar, sent *int) {
	t.Helper()
	for _, host := range poolHosts {
		for _, path := range poolPaths {
			for _, scheme := range []string{"http", "https"} {
				u := mustURL(t, scheme+"://"+host+path)
				want := addCookies(ref.Cookies(u))
				got := string(j.AppendHeader(nil, time.Now(), scheme == "https", u.Host, u.Path))
				if got != want {
					t.Errorf("Cookie header to %s: %q, cookiejar's %q", u, got, want)
				}
				if other := string(viaNetHTTP.AppendHeader(nil, time.Now(), scheme == "https", u.Host, u.Path)); other != got {
					t.Errorf("Cookie header to %s: %q fed through SetCookies, %q through SetCookie", u, other, got)
				}
				// The tags name the header's cookies in its order, each with the fingerprint of the value it carries.
				header, tags := j.AppendRequest(nil, time.Now(), scheme == "https", u.Host, u.Path)
				if string(header) != got || !slices.Equal(tags, tagsOf(got)) {
					t.Errorf("AppendRequest to %s: %q %q, want %q %q", u, header, tags, got, tagsOf(got))
				}
				if sentTags := j.Sent(time.Now(), scheme == "https", u.Host, u.Path); !slices.Equal(sentTags, tags) {
					t.Errorf("Sent to %s: %q, AppendRequest's %q", u, sentTags, tags)
				}
				if other := viaNetHTTP.Sent(time.Now(), scheme == "https", u.Host, u.Path); !slices.Equal(other, tags) {
					t.Errorf("Sent to %s: %q fed through SetCookies, %q through SetCookie", u, other, tags)
				}
				if got != "" {
					*sent++
				}
			}
		}
	}
}

// TestRandomAgainstNetHTTPCookiejar compares the jars over random sequences of Set-Cookie lines from random hosts
// and paths, every request of the pools asked about after each answer.
func TestRandomAgainstNetHTTPCookiejar(t *testing.T) {
	names := []string{"a", "b", "sid", "A"}
	values := []string{"1", "2", "", `"q"`, "x y", "v,w"}
	attrs := []string{"", "; Path=/", "; Path=/a", "; path=/a/b", "; Path=/b/", "; Path=x", "; Domain=example.com",
		"; domain=.example.com", "; Domain=www.example.com", "; Domain=co.uk", "; Domain=example.co.uk", "; Domain=127.0.0.1",
		"; Domain=3.4", "; Domain=localhost", "; Domain=other.com", "; Secure", "; Max-Age=0", "; Max-Age=-1",
		"; Max-Age=3600", "; Expires=" + past, "; Expires=" + future, "; HttpOnly"}
	rng := rand.New(rand.NewPCG(1, 2))
	sent := 0
	for round := range 100 {
		ref, j, viaNetHTTP, viaAnswer := newReference(t), New(), New(), New()
		for range 8 {
			scheme := []string{"http", "https"}[rng.IntN(2)]
			u := mustURL(t, scheme+"://"+poolHosts[rng.IntN(len(poolHosts))]+poolPaths[rng.IntN(len(poolPaths))])
			var lines []string
			for range 1 + rng.IntN(3) {
				line := names[rng.IntN(len(names))] + "=" + values[rng.IntN(len(values))]
				for range rng.IntN(3) {
					line += attrs[rng.IntN(len(attrs))]
				}
				lines = append(lines, line)
			}
			cookies := (&http.Response{Header: http.Header{"Set-Cookie": lines}}).Cookies()
			ref.SetCookies(u, cookies)
			viaNetHTTP.SetCookies(u, cookies)
			var tags []string
			for _, line := range lines {
				now := time.Now()
				tag, want := j.SetCookie(now, scheme == "https", u.Host, u.Path, line), Tag(now, line)
				if tag != want {
					t.Errorf("SetCookie(%q) from %s: tag %q, Tag's %q", line, u, tag, want)
				}
				if tag != "" {
					tags = append(tags, tag)
				}
			}
			if got := viaAnswer.Answer(time.Now(), scheme == "https", u.Host, u.Path, lines); !slices.Equal(got, tags) {
				t.Errorf("Answer(%q) from %s: %q, SetCookie's %q", lines, u, got, tags)
			}
			sameAsReference(t, ref, j, viaNetHTTP, &sent)
			sameAsReference(t, ref, viaAnswer, viaNetHTTP, &sent)
			if t.Failed() {
				t.Fatalf("round %d, after %s set %q", round, u, lines)
			}
		}
	}
	t.Logf("%d non-empty Cookie headers alike", sent)
	assert.Greater(t, sent, 10_000)
}

// FuzzSetCookie holds the jar to cookiejar for any Set-Cookie line from a host and path of the pools.
func FuzzSetCookie(f *testing.F) {
	for _, line := range []string{"a=1", "a=1; Domain=example.com; Path=/a", "a=1; Domain=co.uk", "a=1; Secure; Max-Age=60"} {
		f.Add(line, uint8(1), uint8(4), false)
	}
	f.Fuzz(func(t *testing.T, line string, host, path uint8, https bool) {
		scheme := map[bool]string{false: "http", true: "https"}[https]
		u := mustURL(t, scheme+"://"+poolHosts[int(host)%len(poolHosts)]+poolPaths[int(path)%len(poolPaths)])
		ref, j, viaNetHTTP := newReference(t), New(), New()
		for _, l := range []string{"a=0", "a=0; Domain=example.com", "b=0; Path=/a"} { // something to replace or delete
			for _, jar := range []*Jar{j, viaNetHTTP} {
				jar.SetCookie(time.Now(), https, u.Host, u.Path, l)
			}
			ref.SetCookies(u, (&http.Response{Header: http.Header{"Set-Cookie": {l}}}).Cookies())
		}
		cookies := (&http.Response{Header: http.Header{"Set-Cookie": {line}}}).Cookies()
		ref.SetCookies(u, cookies)
		viaNetHTTP.SetCookies(u, cookies)
		j.SetCookie(time.Now(), https, u.Host, u.Path, line)
		sent := 0
		sameAsReference(t, ref, j, viaNetHTTP, &sent)
	})
}

// FuzzHost holds the jar to cookiejar for any host (but those with a control byte, which no URL has): ports, IP
// addresses, brackets, dots, case, international names.
func FuzzHost(f *testing.F) {
	for _, host := range []string{"www.example.com:80", "127.0.0.1", "[::1]:8080", "::1", "B\u00dcCHER.example.", "a..b", "x:y:z", "[::1]", ""} {
		f.Add(host, "a=1; Domain="+strings.TrimPrefix(host, "www."))
	}
	f.Fuzz(func(t *testing.T, host, line string) {
		for i := range len(host) {
			if host[i] < ' ' || host[i] == 0x7f {
				t.Skip("a host with a control byte")
			}
		}
		ref, j := newReference(t), New()
		for _, l := range []string{"h=0", line} {
			j.SetCookie(time.Now(), false, host, "/", l)
			ref.SetCookies(&url.URL{Scheme: "http", Host: host, Path: "/"}, (&http.Response{Header: http.Header{"Set-Cookie": {l}}}).Cookies())
		}
		// The jar's canonical host is cookiejar's: cookiejar sends a host-only cookie of host to it.
		if canon, ok := canonicalHost(host); ok {
			if again, _ := canonicalHost(canon); again == canon {
				probe := newReference(t)
				probe.SetCookies(&url.URL{Scheme: "http", Host: host, Path: "/"}, []*http.Cookie{{Name: "h", Value: "0"}})
				if got := addCookies(probe.Cookies(&url.URL{Scheme: "http", Host: canon, Path: "/"})); got != "h=0" {
					t.Errorf("canonical host of %q: %q, to which cookiejar sends %q", host, canon, got)
				}
			}
		}
		hostname, _, _ := strings.Cut(host, ":")
		for _, h := range []string{host, "x." + host, hostname, strings.ToUpper(host), host + "."} {
			want := addCookies(ref.Cookies(&url.URL{Scheme: "http", Host: h, Path: "/"}))
			if got := string(j.AppendHeader(nil, time.Now(), false, h, "/")); got != want {
				t.Errorf("Cookie header to %q: %q, cookiejar's %q", h, got, want)
			}
		}
	})
}

func TestAppendHeaderAppends(t *testing.T) {
	j := New()
	now := time.Now()
	j.SetCookie(now, false, "h.example.com", "/", "a=1")
	j.SetCookie(now, false, "h.example.com", "/", "b=2")
	assert.Equal(t, "Cookie: a=1; b=2", string(j.AppendHeader([]byte("Cookie: "), now, false, "h.example.com", "/x")))
	dst := []byte("Cookie: ")
	assert.Equal(t, dst, j.AppendHeader(dst, now, false, "other.example.com", "/x"), "nothing appended")
	assert.Empty(t, j.AppendHeader(nil, now, false, "h.example.com:bad:port", "/x"))
}

// TestClock drives the jar with a clock of its own: the times given are the ones that count.
func TestClock(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	const h = "h.example.com"
	j := New()
	j.SetCookie(t0, false, h, "/", "m=1; Max-Age=60")
	j.SetCookie(t0, false, h, "/", "e=2; Expires=Tue, 01 Jan 2030 12:00:30 GMT")
	j.SetCookie(t0, false, h, "/", "s=3")
	j.SetCookie(t0, false, h, "/", "p=4; Expires=Tue, 01 Jan 2030 12:00:00 GMT") // not after now: never stored
	assert.Equal(t, 3, j.Len())
	assert.Equal(t, "m=1; e=2; s=3", string(j.AppendHeader(nil, t0.Add(29*time.Second), false, h, "/")))
	assert.Equal(t, 3, j.Len(), "nothing expired yet")
	assert.Equal(t, "m=1; s=3", string(j.AppendHeader(nil, t0.Add(30*time.Second), false, h, "/")), "Expires reached")
	assert.Equal(t, 2, j.Len(), "the expired cookie left the jar when met")
	assert.Equal(t, 2, j.Len())
	v, ok := j.Value(t0.Add(59*time.Second), false, h, "/", "m")
	assert.True(t, ok)
	assert.Equal(t, "1", v)
	assert.Equal(t, 2, j.Len(), "Len counts cookies expired but not met yet")
	_, ok = j.Value(t0.Add(60*time.Second), false, h, "/", "m")
	assert.False(t, ok, "Max-Age reached")
	assert.Equal(t, 1, j.Len())
	assert.Equal(t, "s=3", string(j.AppendHeader(nil, t0.Add(100*365*24*time.Hour), false, h, "/")), "a session cookie lasts")

	// Creation time orders cookies of equal paths, whatever order they came in; a replacement keeps its own.
	j = New()
	j.SetCookie(t0.Add(2*time.Second), false, h, "/", "late=1")
	j.SetCookie(t0.Add(time.Second), false, h, "/", "early=2")
	j.SetCookie(t0.Add(3*time.Second), false, h, "/", "late=3")
	assert.Equal(t, "early=2; late=3", string(j.AppendHeader(nil, t0.Add(4*time.Second), false, h, "/")))
}

func TestParse(t *testing.T) {
	pastTime, err := time.Parse(http.TimeFormat, past)
	require.NoError(t, err)
	for _, c := range []struct {
		line string
		want Cookie
		ok   bool
	}{
		{"a=1", Cookie{Name: "a", Value: "1"}, true},
		{" sid = abc ", Cookie{Name: "sid", Value: " abc"}, true},
		{`a="q"`, Cookie{Name: "a", Value: "q"}, true},
		{`a=""`, Cookie{Name: "a"}, true},
		{"a=; Max-Age=0", Cookie{Name: "a", MaxAge: -1}, true},
		{"a=1; Max-Age=-5", Cookie{Name: "a", Value: "1", MaxAge: -1}, true},
		{"a=1; max-age=10; Max-Age=07", Cookie{Name: "a", Value: "1", MaxAge: 10}, true},
		{"a=1; Expires=" + past, Cookie{Name: "a", Value: "1", Expires: pastTime}, true},
		{"a=1; EXPIRES=" + pastDashed, Cookie{Name: "a", Value: "1", Expires: pastTime}, true},
		{"a=1; Expires=" + past + "; Expires=tomorrow", Cookie{Name: "a", Value: "1"}, true},
		{"a=1; Domain=.Example.COM; Path=/p; Secure; HttpOnly", Cookie{Name: "a", Value: "1", Domain: ".Example.COM", Path: "/p",
			Secure: true, HttpOnly: true}, true},
		{"a=1; Path=/p; Path=/q", Cookie{Name: "a", Value: "1", Path: "/q"}, true},
		{`a=1; Secure="x"; Path="/p"`, Cookie{Name: "a", Value: "1"}, true},
		{"a=1;;; ;Secure", Cookie{Name: "a", Value: "1", Secure: true}, true},
		{"no-equals", Cookie{}, false},
		{"", Cookie{}, false},
		{" \t", Cookie{}, false},
		{"=1", Cookie{}, false},
		{"a b=1", Cookie{}, false},
		{"a=b c;", Cookie{Name: "a", Value: "b c"}, true},
		{`a="b`, Cookie{}, false},
		{"a=é", Cookie{}, false},
	} {
		got, ok := Parse(c.line)
		assert.Equal(t, c.ok, ok, "%q", c.line)
		assert.Equal(t, c.want, got, "%q", c.line)
		netHTTP, err := http.ParseSetCookie(c.line)
		require.Equal(t, err == nil, ok, "%q: as net/http", c.line)
		if ok {
			assert.Equal(t, fromNetHTTP(netHTTP), got, "%q: as net/http", c.line)
		}
	}
}

func fromNetHTTP(c *http.Cookie) Cookie {
	return Cookie{Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path, MaxAge: c.MaxAge, Expires: c.Expires,
		Secure: c.Secure, HttpOnly: c.HttpOnly}
}

// FuzzParse holds Parse to net/http's ParseSetCookie.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a=1", `a="1"; Path=/x; Domain=.e.com; Secure; HttpOnly`, "a=1; Max-Age=+010",
		"a=1; Expires=" + past, "a=1; expires=" + pastDashed + "; Max-Age=-1", " a = b ; ;", "=;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got, ok := Parse(line)
		want, err := http.ParseSetCookie(line)
		if (err == nil) != ok {
			t.Fatalf("%q: ok %v, net/http's error %v", line, ok, err)
		}
		if ok && got != fromNetHTTP(want) {
			t.Fatalf("%q: %+v, net/http %+v", line, got, fromNetHTTP(want))
		}
	})
}

func TestExpired(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		c    Cookie
		want bool
	}{
		{Cookie{}, false},
		{Cookie{MaxAge: -1}, true},
		{Cookie{MaxAge: 1}, false},
		{Cookie{Expires: now}, true},
		{Cookie{Expires: now.Add(-time.Second)}, true},
		{Cookie{Expires: now.Add(time.Second)}, false},
		{Cookie{MaxAge: 60, Expires: now.Add(-time.Hour)}, false},
		{Cookie{MaxAge: -1, Expires: now.Add(time.Hour)}, true},
	} {
		assert.Equal(t, c.want, c.c.Expired(now), "%+v", c.c)
	}
	for line, want := range map[string]bool{"a=1; Max-Age=0": true, "a=1; Expires=" + past: true, "a=1": false,
		"a=1; Expires=" + future: false, "a=1; Max-Age=5; Expires=" + past: false} {
		c, ok := Parse(line)
		require.True(t, ok, line)
		assert.Equal(t, want, c.Expired(time.Now()), line)
	}
}

// TestCookieJar uses the jar as net/http's CookieJar: what a net/http client stores, AppendHeader sends, and what
// SetCookie stores, the net/http client sends.
func TestCookieJar(t *testing.T) {
	var jarInterface http.CookieJar = New()
	_ = jarInterface

	var sent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent = append(sent, r.Header.Get("Cookie"))
		if r.URL.Path == "/login" {
			w.Header().Add("Set-Cookie", "sid=abc; Path=/; HttpOnly")
			w.Header().Add("Set-Cookie", "pref=x y; Path=/app")
		}
	}))
	defer srv.Close()
	u := mustURL(t, srv.URL)

	j := New()
	client := &http.Client{Jar: j}
	resp, err := client.Get(srv.URL + "/login")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 2, j.Len())
	assert.Equal(t, `pref="x y"; sid=abc`, string(j.AppendHeader(nil, time.Now(), false, u.Host, "/app/page")))

	j.SetCookie(time.Now(), false, u.Host, "/", "lb=r1; Path=/")
	resp, err = client.Get(srv.URL + "/app/next")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, []string{"", `pref="x y"; sid=abc; lb=r1`}, sent)

	// Only http and https.
	j.SetCookies(mustURL(t, "ftp://"+u.Host+"/"), []*http.Cookie{{Name: "f", Value: "1"}})
	assert.Equal(t, 3, j.Len())
	assert.Nil(t, j.Cookies(mustURL(t, "ftp://"+u.Host+"/")))

	// Through SetCookies, a cookie net/http would not send as it is goes as AddCookie sanitizes it.
	log.SetOutput(io.Discard) // AddCookie says what it drops
	defer log.SetOutput(os.Stderr)
	k := New()
	k.SetCookies(mustURL(t, "http://h.example.com/"), []*http.Cookie{{Name: "a\nb", Value: `x"y;z`}, {Name: "q", Value: "1", Quoted: true}})
	assert.Equal(t, addCookies(k.Cookies(mustURL(t, "http://h.example.com/"))), string(k.AppendHeader(nil, time.Now(), false, "h.example.com", "/")))
	assert.Equal(t, `a-b=xyz; q="1"`, string(k.AppendHeader(nil, time.Now(), false, "h.example.com", "/")))
}

// TestConcurrentUse has a net/http client's goroutines and the user's own use the jar at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	j := New()
	u := mustURL(t, "http://h.example.com/")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				switch g {
				case 0:
					j.SetCookies(u, []*http.Cookie{{Name: fmt.Sprint("n", i%5), Value: fmt.Sprint(i)}})
				case 1:
					j.Cookies(u)
				case 2:
					j.SetCookie(time.Now(), false, "h.example.com:80", "/", fmt.Sprintf("m%d=%d", i%5, i))
				default:
					j.AppendHeader(nil, time.Now(), false, "h.example.com", "/")
					j.Value(time.Now(), false, "h.example.com", "/", "n1")
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 10, j.Len())
}

// userJar is a jar as a user of the harness has it: a session cookie, an ingress's affinity cookie and a CSRF token.
func userJar(now time.Time, lines []string) *Jar {
	j := New()
	for _, line := range lines {
		j.SetCookie(now, false, "127.0.0.1:8080", "/login", line)
	}
	return j
}

func userLines(i int) []string {
	return []string{
		fmt.Sprintf("sid=%032x; Path=/; HttpOnly; SameSite=Lax", i),
		fmt.Sprintf("INGRESSCOOKIE=%016x; Path=/; Max-Age=172800; HttpOnly", i),
		fmt.Sprintf("csrf=%024x; Path=/", i),
	}
}

// fp is the fingerprint the event log gives value, worked out here on its own.
func fp(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])[:8]
}

// tagsOf is the tags of the cookies a Cookie header carries, worked out from the header itself.
func tagsOf(header string) []string {
	if header == "" {
		return nil
	}
	var tags []string
	for _, pair := range strings.Split(header, "; ") {
		name, value, _ := strings.Cut(pair, "=")
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		tags = append(tags, name+":"+fp(value))
	}
	return tags
}

func TestTag(t *testing.T) {
	now := time.Now()
	value := strings.Repeat("0123456789abcdef", 40) // longer than the stack copy fingerprint hashes from
	for _, c := range []struct{ line, want string }{
		{"sid=A; Path=/; HttpOnly", "sid:" + fp("A")},
		{`sid="A"; Path=/`, "sid:" + fp("A")}, // the value, not its quotes
		{"sid=A B", "sid:" + fp("A B")},
		{"sid=" + value, "sid:" + fp(value)},
		{"sid=A; Max-Age=0", "sid:-"},
		{"sid=A; Max-Age=-1", "sid:-"},
		{"sid=A; Expires=" + past, "sid:-"},
		{"sid=A; Expires=" + pastDashed, "sid:-"},
		{"sid=; Path=/", "sid:-"},
		{`sid=""`, "sid:-"},
		{"sid=A; Max-Age=60; Expires=" + past, "sid:" + fp("A")}, // Max-Age wins
		{"sid=A; Expires=" + future, "sid:" + fp("A")},
		{"sid=A; Max-Age=0x", "sid:" + fp("A")}, // an invalid Max-Age is ignored
		{"", ""},
		{"no-equals-sign", ""},
		{"bad name=A", ""},
	} {
		assert.Equal(t, c.want, Tag(now, c.line), "Tag(%q)", c.line)
		j := New()
		assert.Equal(t, c.want, j.SetCookie(now, false, "example.com", "/", c.line), "SetCookie(%q)", c.line)
		// Refused for its domain, the cookie is not stored, and the line's tag is the same.
		assert.Equal(t, c.want, j.SetCookie(now, false, "example.com", "/", c.line+"; Domain=other.com"), "SetCookie(%q) refused", c.line)
	}
	assert.Regexp(t, `^sid:[0-9a-f]{8}$`, Tag(now, "sid=A"))
	assert.NotContains(t, Tag(now, "sid=secretvalue"), "secretvalue", "the value itself never shows")
}

// TestSentOrderAndSharing: AppendRequest names the cookies in the header's order and hands the same list out again
// while the cookies stay the same; a list handed out is never written to.
func TestSentOrderAndSharing(t *testing.T) {
	now := time.Now()
	j := New()
	const host = "app.example.com"
	assert.Equal(t, "b:"+fp("2"), j.SetCookie(now, true, host, "/", "b=2"))
	j.SetCookie(now.Add(time.Second), true, host, "/", "a=1")
	j.SetCookie(now.Add(2*time.Second), true, host, "/", "s=4; Secure")
	j.SetCookie(now, true, host, "/", "deep=3; Path=/app")
	header, first := j.AppendRequest(nil, now, true, host, "/app/x")
	assert.Equal(t, "deep=3; b=2; a=1; s=4", string(header))
	want := []string{"deep:" + fp("3"), "b:" + fp("2"), "a:" + fp("1"), "s:" + fp("4")}
	assert.Equal(t, want, first)
	_, again := j.AppendRequest(nil, now, true, host, "/app/y")
	require.Len(t, again, 4)
	assert.Same(t, &first[0], &again[0], "the same cookies: the same list")
	assert.Equal(t, len(again), cap(again), "a list is full: a caller's append copies it")

	_, plain := j.AppendRequest(nil, now, false, host, "/app/y") // without the Secure cookie: the list's start
	assert.Equal(t, want[:3], plain)
	assert.Same(t, &first[0], &plain[0], "the start of the same list")
	assert.Equal(t, 3, cap(plain))
	_, all := j.AppendRequest(nil, now, true, host, "/app")
	assert.Same(t, &first[0], &all[0], "all four again: the list kept")
	_, root := j.AppendRequest(nil, now, true, host, "/") // without the first: another list
	assert.Equal(t, want[1:], root)

	j.SetCookie(now, true, host, "/", "b=two")
	_, changed := j.AppendRequest(nil, now, true, host, "/app")
	assert.Equal(t, []string{"deep:" + fp("3"), "b:" + fp("two"), "a:" + fp("1"), "s:" + fp("4")}, changed)
	assert.Equal(t, len(changed), cap(changed), "a new list is full too")
	assert.Equal(t, want, first, "a list handed out stays as it was")
	assert.Equal(t, want[1:], root, "a list handed out stays as it was")
	assert.Equal(t, changed, j.Sent(now, true, host, "/app"))

	assert.Equal(t, "b:-", j.SetCookie(now, true, host, "/", "b=x; Max-Age=0"))
	_, cleared := j.AppendRequest(nil, now, true, host, "/app")
	assert.Equal(t, []string{"deep:" + fp("3"), "a:" + fp("1"), "s:" + fp("4")}, cleared)
	assert.Nil(t, j.Sent(now, true, "other.example.org", "/"), "no cookie for that host")
	header, none := j.AppendRequest([]byte("Cookie: "), now, true, "other.example.org", "/")
	assert.Nil(t, none)
	assert.Equal(t, "Cookie: ", string(header))
}

// TestAnswerListSentAgain: the tags of an answer's cookies are the list the next request carrying those cookies
// gets again, without an allocation; an answer that clears a cookie or sets one the jar refuses leaves the last list.
func TestAnswerListSentAgain(t *testing.T) {
	now := time.Now()
	j := New()
	const host = "app.example.com"
	assert.Nil(t, j.Answer(now, false, host, "/login", nil))
	assert.Nil(t, j.Answer(now, false, host, "/login", []string{"", "no-equals-sign"}))
	set := j.Answer(now, false, host, "/login", []string{"sid=A; Path=/; HttpOnly", "bad line", "pref=1; Path=/"})
	require.Equal(t, []string{"sid:" + fp("A"), "pref:" + fp("1")}, set)
	assert.Equal(t, len(set), cap(set), "a list is full: a caller's append copies it")
	buf := make([]byte, 0, 64)
	var sent []string
	assert.Zero(t, testing.AllocsPerRun(10, func() { buf, sent = j.AppendRequest(buf[:0], now, false, host, "/") }))
	assert.Equal(t, "sid=A; pref=1", string(buf))
	assert.Same(t, &set[0], &sent[0], "the answer's list again")

	refused := j.Answer(now, false, host, "/", []string{"other=1; Domain=elsewhere.org"})
	assert.Equal(t, []string{"other:" + fp("1")}, refused, "named as the answer set it, though the jar refused it")
	_, again := j.AppendRequest(nil, now, false, host, "/")
	assert.Same(t, &set[0], &again[0], "the last list kept")

	assert.Equal(t, []string{"pref:-", "sid:" + fp("B")}, j.Answer(now, false, host, "/", []string{"pref=; Max-Age=0", "sid=B"}))
	_, after := j.AppendRequest(nil, now, false, host, "/")
	assert.Equal(t, []string{"sid:" + fp("B")}, after)
	assert.Equal(t, []string{"sid:" + fp("A"), "pref:" + fp("1")}, set, "a list handed out stays as it was")
}

// TestNoAllocations: the request's side, and a cookie sent again unchanged, allocate nothing.
func TestNoAllocations(t *testing.T) {
	now := time.Now()
	lines := userLines(1)
	j := userJar(now, lines)
	buf := make([]byte, 0, 256)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		buf = j.AppendHeader(buf[:0], now, false, "127.0.0.1:8080", "/page/3")
	}), "AppendHeader")
	require.Contains(t, string(buf), "sid=")
	var tags []string
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		buf, tags = j.AppendRequest(buf[:0], now, false, "127.0.0.1:8080", "/page/3")
	}), "AppendRequest of the cookies sent last time")
	require.Len(t, tags, 3)
	assert.Zero(t, testing.AllocsPerRun(100, func() { j.Value(now, false, "127.0.0.1:8080", "/", "INGRESSCOOKIE") }), "Value")
	assert.Zero(t, testing.AllocsPerRun(100, func() { j.SetCookie(now, false, "127.0.0.1:8080", "/x", lines[0]) }),
		"SetCookie of the cookie the jar holds")
}

// TestMemoryPerJar: tens of thousands of users hold a jar each; one with three cookies must stay under 2 KB.
func TestMemoryPerJar(t *testing.T) {
	const n = 10_000
	now := time.Now()
	lines := make([][]string, n)
	for i := range lines {
		lines[i] = userLines(i)
	}
	jars := make([]*Jar, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range jars {
		jars[i] = userJar(now, lines[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perJar := float64(after.HeapAlloc-before.HeapAlloc) / n
	allocated := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("%.0f bytes held per jar of 3 cookies, %.0f allocated making it", perJar, allocated)
	assert.Less(t, perJar, 2048.0)
	assert.Less(t, allocated, 2048.0)
	for i, j := range jars {
		require.Equal(t, 3, j.Len())
		require.Contains(t, string(j.AppendHeader(nil, now, false, "127.0.0.1:8080", "/")), fmt.Sprintf("sid=%032x", i))
	}
	runtime.KeepAlive(lines)
}

func BenchmarkAppendHeader(b *testing.B) {
	now := time.Now()
	j := userJar(now, userLines(1))
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = j.AppendHeader(buf[:0], now, false, "127.0.0.1:8080", "/page/3")
	}
}

// BenchmarkAppendRequest is BenchmarkAppendHeader with the cookies' tags, as a user's requests ask for it.
func BenchmarkAppendRequest(b *testing.B) {
	now := time.Now()
	j := userJar(now, userLines(1))
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = j.AppendRequest(buf[:0], now, false, "127.0.0.1:8080", "/page/3")
	}
}

func BenchmarkValue(b *testing.B) {
	now := time.Now()
	j := userJar(now, userLines(1))
	b.ReportAllocs()
	for b.Loop() {
		j.Value(now, false, "127.0.0.1:8080", "/page/3", "INGRESSCOOKIE")
	}
}

func BenchmarkSetCookie(b *testing.B) {
	now := time.Now()
	b.Run("same again", func(b *testing.B) {
		lines := userLines(1)
		j := userJar(now, lines)
		b.ReportAllocs()
		for b.Loop() {
			j.SetCookie(now, false, "127.0.0.1:8080", "/login", lines[1])
		}
	})
	b.Run("new value", func(b *testing.B) {
		var lines []string
		for i := range 64 {
			lines = append(lines, userLines(i)[1])
		}
		j := userJar(now, userLines(1))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			j.SetCookie(now, false, "127.0.0.1:8080", "/login", lines[i%len(lines)])
			i++
		}
	})
	b.Run("new jar of three", func(b *testing.B) {
		lines := userLines(1)
		b.ReportAllocs()
		for b.Loop() {
			userJar(now, lines)
		}
	})
}

// BenchmarkNetHTTPCookiejar is the same request's cookies from net/http/cookiejar, for comparison.
func BenchmarkNetHTTPCookiejar(b *testing.B) {
	ref := newReference(b)
	u := mustURL(b, "http://127.0.0.1:8080/login")
	ref.SetCookies(u, (&http.Response{Header: http.Header{"Set-Cookie": userLines(1)}}).Cookies())
	q := mustURL(b, "http://127.0.0.1:8080/page/3")
	b.ReportAllocs()
	for b.Loop() {
		var sb strings.Builder
		for i, c := range ref.Cookies(q) {
			if i > 0 {
				sb.WriteString("; ")
			}
			sb.WriteString(c.String())
		}
	}
}
