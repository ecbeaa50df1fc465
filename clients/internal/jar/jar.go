// Package jar has one job: one user's cookies, kept by RFC 6265 as net/http/cookiejar keeps them (with
// golang.org/x/net/publicsuffix's List), cheaply.
//
// A simulated user holds a handful of cookies, so a slice kept in the Cookie header's order and scanned in place
// replaces cookiejar's maps; the canonical form of the last host asked about is kept, so that a request to the same
// host again costs no lowercasing, no public-suffix look-up and no allocation; and the Cookie header is appended to
// the caller's buffer. Each cookie also keeps the name the event log gives it ("name:fingerprint", Tag), worked out
// when it is stored, so that naming the cookies a request carries costs no hashing (AppendRequest).
package jar

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"
)

// Jar holds one user's cookies. All its methods lock a mutex (uncontended, it costs a few nanoseconds), so that a
// net/http client (a WebSocket dial) may share the jar through its http.CookieJar methods.
type Jar struct {
	mu      sync.Mutex
	entries []entry // in the Cookie header's order: see before
	seq     uint64  // the next cookie's sequence number
	last    hostInfo
	// sent is the last list of tags AppendRequest, Sent or Answer handed out, never written again once handed out:
	// a request that carries the same cookies gets it again (or its start), without an allocation.
	sent []string
}

// entry is one stored cookie.
type entry struct {
	name, value, path string // one allocation, the jar's own
	tag               string // "name:fingerprint" as the cookie is sent (Tag); in the same allocation unless dirty
	domain, key       string // substrings of the canonical host that set the cookie
	expires           time.Time
	created           time.Time
	seq               uint64
	hostOnly          bool
	secure            bool
	persistent        bool // expires applies; a session cookie lives as long as the jar
	quoted            bool // the value came in double quotes
	quote             bool // net/http writes the value in double quotes: it came quoted, or holds a space or a comma
	dirty             bool // the name or value holds bytes net/http's AddCookie replaces or drops (not from Parse)
	local             bool // the domain is localhost or a loopback address: Secure cookies go over http too
}

// hostInfo is what the jar works out from a request's host.
type hostInfo struct {
	raw  string // as given, port and all
	host string // canonical: no port, no trailing dot, Punycode, lower case
	key  string // cookiejar's jar key: the host's eTLD+1, or the host itself (IP address, public suffix)
	ps   string // the host's public suffix, when it is not an IP address
	ok   bool   // raw is a usable host
	ip   bool   // the host is (taken for) an IP address
	loop bool   // the host is a loopback IP address
}

// New returns an empty jar that consults publicsuffix.List.
func New() *Jar { return &Jar{} }

// before orders the Cookie header as RFC 6265 5.4 and cookiejar do: longer paths first (cookiejar compares the
// paths themselves, greatest first, which for the paths of the cookies a request carries, all prefixes of its path,
// is the same), then earlier creation, then the order of arrival.
func before(a, b *entry) bool {
	if c := strings.Compare(b.path, a.path); c != 0 {
		return c < 0
	}
	if c := a.created.Compare(b.created); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

// SetCookie stores what one Set-Cookie header line says, received at now in the answer to a request to host (a
// port is ignored, case too) and path, and returns the line's Tag. https is not consulted: cookiejar takes a Secure
// cookie over http as well. A line net/http would drop ("" is its tag), or a cookie for a domain the host may not
// set, is ignored, as cookiejar ignores it. The tag of a cookie stored is the one it is sent with: no more hashing.
func (j *Jar) SetCookie(now time.Time, https bool, host, path, line string) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	tag, _ := j.setLine(now, j.lookup(host), path, line)
	return tag
}

// Answer stores the cookies an answer's Set-Cookie lines set, in their order, as SetCookie does each, and returns
// their tags but for the lines net/http would drop (nil when none is left). The list must not be written to: when
// the jar stored every cookie it names, it keeps it as the list AppendRequest hands out again, without an
// allocation, to a request carrying those cookies in that order, as the next one often does (a login's answer sets
// the session cookie the next page carries; an app may set its cookie anew on each answer).
func (j *Jar) Answer(now time.Time, https bool, host, path string, lines []string) []string {
	if len(lines) == 0 {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	h := j.lookup(host)
	var tags []string
	all := true
	for _, line := range lines {
		tag, held := j.setLine(now, h, path, line)
		if tag == "" {
			continue
		}
		if tags == nil {
			tags = make([]string, 0, len(lines))
		}
		tags = append(tags, tag)
		all = all && held
	}
	tags = tags[:len(tags):len(tags)]
	if all && len(tags) > 0 {
		j.sent = tags
	}
	return tags
}

// setLine stores one Set-Cookie line received from host h for a request to path, j.mu held, and returns its tag
// ("" for a line net/http would drop) and whether the jar holds the cookie it names (not cleared, not refused).
func (j *Jar) setLine(now time.Time, h *hostInfo, path, line string) (tag string, held bool) {
	c, quoted, ok := parse(line)
	if !ok {
		return "", false
	}
	if h.ok {
		tag = j.set(now, h, path, &c, quoted)
	}
	if tag == "" || c.Value == "" {
		return tagOf(now, &c), false
	}
	return tag, true
}

// Tag is how the event log names the cookie one Set-Cookie line sets when received at now: "name:fingerprint",
// the fingerprint being the first 8 hex digits of the SHA-256 of its value (without the double quotes it may come
// in), never the value itself; "name:-" when the line clears it (Max-Age ≤ 0, an Expires not after now, or an
// empty value); "" for a line net/http would drop.
func Tag(now time.Time, line string) string {
	c, _, ok := parse(line)
	if !ok {
		return ""
	}
	return tagOf(now, &c)
}

// tagOf is Tag of a parsed line.
func tagOf(now time.Time, c *Cookie) string {
	if c.Value == "" || c.Expired(now) {
		return c.Name + ":-"
	}
	fp := fingerprint(c.Value)
	return c.Name + ":" + string(fp[:])
}

// fingerprint is the first 8 hex digits of the SHA-256 of value. A value of up to 512 bytes (the usual ones) is
// hashed from a copy on the stack: sha256.Sum256([]byte(value)) allocates.
func fingerprint(value string) [8]byte {
	var sum [sha256.Size]byte
	var buf [512]byte
	if len(value) <= len(buf) {
		sum = sha256.Sum256(buf[:copy(buf[:], value)])
	} else {
		sum = sha256.Sum256([]byte(value))
	}
	var fp [8]byte
	hex.Encode(fp[:], sum[:4])
	return fp
}

// set stores c, received at now from host h for a request to reqPath, and returns the tag of the cookie stored, ""
// when none is (removed, or refused).
func (j *Jar) set(now time.Time, h *hostInfo, reqPath string, c *Cookie, quoted bool) string {
	path := c.Path
	if path == "" || path[0] != '/' {
		path = defaultPath(reqPath)
	}
	domain, hostOnly, ok := domainAndType(h, c.Domain)
	if !ok {
		return ""
	}
	var expires time.Time
	persistent, remove := false, false
	switch { // Max-Age wins over Expires
	case c.MaxAge < 0:
		remove = true
	case c.MaxAge > 0:
		expires, persistent = now.Add(time.Duration(c.MaxAge)*time.Second), true
	case !c.Expires.IsZero():
		expires, persistent = c.Expires, true
		remove = !c.Expires.After(now)
	}

	i := j.find(h.key, domain, path, c.Name)
	if remove {
		if i >= 0 {
			j.entries = slices.Delete(j.entries, i, i+1)
		}
		return ""
	}
	if i >= 0 {
		// The same cookie again: it keeps its creation time and sequence number, hence its place.
		e := &j.entries[i]
		if e.value != c.Value || e.quoted != quoted {
			e.store(c.Name, c.Value, path, quoted)
		}
		e.hostOnly, e.expires, e.persistent, e.secure = hostOnly, expires, persistent, c.Secure
		return e.tag
	}
	e := entry{domain: domain, key: h.key, expires: expires, created: now, seq: j.seq, hostOnly: hostOnly,
		secure: c.Secure, persistent: persistent, local: isLocalhost(domain) || domain == h.host && h.loop}
	j.seq++
	e.store(c.Name, c.Value, path, quoted)
	if j.entries == nil {
		j.entries = make([]entry, 0, 4)
	}
	at := len(j.entries)
	for at > 0 && before(&e, &j.entries[at-1]) {
		at--
	}
	j.entries = append(j.entries, entry{})
	copy(j.entries[at+1:], j.entries[at:])
	j.entries[at] = e
	return e.tag
}

// find is the index of the cookie of this jar key, domain, path and name (cookiejar's identity of a cookie), or -1.
func (j *Jar) find(key, domain, path, name string) int {
	for i := range j.entries {
		if e := &j.entries[i]; e.name == name && e.path == path && e.domain == domain && e.key == key {
			return i
		}
	}
	return -1
}

// store sets e's name, value (which came quoted or not) and path, its tag and how it is written.
func (e *entry) store(name, value, path string, quoted bool) {
	e.name, e.value, e.path, e.tag = own(name, value, path)
	e.quoted = quoted
	if e.quote, e.dirty = classify(e.name, e.value, quoted); e.dirty {
		e.tag = sanitizedTag(e.name, e.value)
	}
}

// own copies name, value and path into one string of the jar's own, so that the jar keeps neither the Set-Cookie
// line nor the request's path alive, with the fingerprint of the value after the name: "name:fingerprint" (the
// cookie's tag) is a substring of it too.
func own(name, value, path string) (n, v, p, tag string) {
	fp := fingerprint(value)
	var b strings.Builder
	b.Grow(len(name) + 1 + len(fp) + len(value) + len(path))
	b.WriteString(name)
	b.WriteByte(':')
	b.Write(fp[:])
	b.WriteString(value)
	b.WriteString(path)
	s := b.String()
	t := len(name) + 1 + len(fp)
	return s[:len(name)], s[t : t+len(value)], s[t+len(value):], s[:t]
}

// sanitizedTag is the tag of a dirty cookie as net/http's Request.AddCookie sends it (appendSanitized): the name's
// '\r' and '\n' as '-', the value without its invalid bytes.
func sanitizedTag(name, value string) string {
	v := make([]byte, 0, len(value))
	for i := range len(value) {
		if b := value[i]; validValueByte(b) {
			v = append(v, b)
		}
	}
	fp := fingerprint(string(v))
	return strings.NewReplacer("\r", "-", "\n", "-").Replace(name) + ":" + string(fp[:])
}

// classify tells how net/http's Request.AddCookie writes a cookie: the value in double quotes when it came so or
// holds a space or a comma (quote), and whether it must sanitize the name or value (dirty: never for a cookie
// from Parse).
func classify(name, value string, quoted bool) (quote, dirty bool) {
	quote = quoted
	for i := range len(value) {
		switch b := value[i]; {
		case b == ' ' || b == ',':
			quote = true
		case !validValueByte(b):
			dirty = true
		}
	}
	return quote, dirty || strings.ContainsAny(name, "\r\n")
}

// AppendHeader appends the Cookie header's value ("a=1; b=2") for a request at now to host (a port is ignored,
// case too) and path to dst, and returns it; nothing is appended when no cookie matches. The header is the one
// net/http's client writes from cookiejar's cookies: longer paths first, then earlier creation; a value in double
// quotes when it came so or holds a space or a comma. Cookies expired at now leave the jar.
func (j *Jar) AppendHeader(dst []byte, now time.Time, https bool, host, path string) []byte {
	dst, _ = j.appendRequest(dst, now, https, host, path, true, false)
	return dst
}

// AppendRequest is AppendHeader, also returning the tags ("name:fingerprint", Tag) of the cookies the header
// carries, in its order; nil when it carries none. The list must not be written to: the jar hands the same one out
// again to the next request carrying the same cookies, so that a user's requests share it without an allocation.
func (j *Jar) AppendRequest(dst []byte, now time.Time, https bool, host, path string) ([]byte, []string) {
	return j.appendRequest(dst, now, https, host, path, true, true)
}

// Sent is the tags of the cookies a request at now to host and path carries, as AppendRequest returns them (not
// to be written to either), without the header: what a net/http client sharing the jar sends (Cookies).
func (j *Jar) Sent(now time.Time, https bool, host, path string) []string {
	_, tags := j.appendRequest(nil, now, https, host, path, false, true)
	return tags
}

// appendRequest appends the Cookie header to dst when header is set, and lists the cookies' tags when tags is.
func (j *Jar) appendRequest(dst []byte, now time.Time, https bool, host, path string, header, tags bool) ([]byte, []string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	h := j.lookup(host)
	if !h.ok {
		return dst, nil
	}
	if path == "" {
		path = "/"
	}
	n := 0
	var list []string // a new list, once the cookies part from j.sent
	count := j.drop(now)
	for i := range count {
		e := &j.entries[i]
		if !e.sends(https, h, path) {
			continue
		}
		if tags {
			switch {
			case list != nil:
				list = append(list, e.tag)
			case n < len(j.sent) && j.sent[n] == e.tag: // the same as the last list so far
			default:
				list = make([]string, n, n+count-i)
				copy(list, j.sent[:n])
				list = append(list, e.tag)
			}
		}
		if !header {
			n++
			continue
		}
		if n > 0 {
			dst = append(dst, "; "...)
		}
		n++
		if e.dirty {
			dst = appendSanitized(dst, e)
			continue
		}
		dst = append(dst, e.name...)
		dst = append(dst, '=')
		if e.quote {
			dst = append(dst, '"')
			dst = append(dst, e.value...)
			dst = append(dst, '"')
		} else {
			dst = append(dst, e.value...)
		}
	}
	switch {
	case !tags || n == 0:
		return dst, nil
	case list != nil:
		j.sent = list[:n:n] // full: an append copies it
		return dst, j.sent
	}
	return dst, j.sent[:n:n]
}

// appendSanitized writes e as net/http's Request.AddCookie does a cookie it was handed with bytes it will not
// send: '\r' and '\n' in the name become '-', invalid bytes of the value are dropped. Only cookies stored through
// SetCookies may need it.
func appendSanitized(dst []byte, e *entry) []byte {
	for i := range len(e.name) {
		if b := e.name[i]; b == '\r' || b == '\n' {
			dst = append(dst, '-')
		} else {
			dst = append(dst, b)
		}
	}
	dst = append(dst, '=')
	if e.quote {
		dst = append(dst, '"')
	}
	for i := range len(e.value) {
		if b := e.value[i]; validValueByte(b) {
			dst = append(dst, b)
		}
	}
	if e.quote {
		dst = append(dst, '"')
	}
	return dst
}

// Value returns the value of the cookie named name that a request at now to host and path would carry (the first
// of that name in the Cookie header), and whether there is one. Cookies expired at now leave the jar.
func (j *Jar) Value(now time.Time, https bool, host, path, name string) (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	h := j.lookup(host)
	if !h.ok {
		return "", false
	}
	if path == "" {
		path = "/"
	}
	for i := range j.drop(now) {
		if e := &j.entries[i]; e.name == name && e.sends(https, h, path) {
			return e.value, true
		}
	}
	return "", false
}

// Len is how many cookies the jar holds, expired ones included until the next AppendHeader, Value or Cookies drops
// them (each drops every cookie expired at its time, whatever the host asked about).
func (j *Jar) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.entries)
}

// drop removes the cookies expired at now, keeping the others' order, and returns how many remain.
func (j *Jar) drop(now time.Time) int {
	w := 0
	for r := range j.entries {
		if e := &j.entries[r]; e.persistent && !e.expires.After(now) {
			continue
		}
		if w != r {
			j.entries[w] = j.entries[r]
		}
		w++
	}
	clear(j.entries[w:])
	j.entries = j.entries[:w]
	return w
}

// sends reports whether a request to host h (over https or not) and path carries e, e not expired.
func (e *entry) sends(https bool, h *hostInfo, path string) bool {
	// cookiejar keeps a cookie under the jar key of the host that set it and looks only under the request's.
	if e.key != h.key {
		return false
	}
	if e.domain != h.host && (e.hostOnly || !hasDotSuffix(h.host, e.domain)) {
		return false
	}
	// Path-match, RFC 6265 5.1.4.
	if path != e.path {
		if !strings.HasPrefix(path, e.path) || e.path[len(e.path)-1] != '/' && path[len(e.path)] != '/' {
			return false
		}
	}
	return !e.secure || https || e.local
}

// SetCookies stores cookies received in the answer to a request to u: net/http's CookieJar, for a net/http client
// sharing the jar. Only http and https URLs set cookies.
func (j *Jar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	if len(cookies) == 0 || u.Scheme != "http" && u.Scheme != "https" {
		return
	}
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	h := j.lookup(u.Host)
	if !h.ok {
		return
	}
	for _, hc := range cookies {
		c := Cookie{Name: hc.Name, Value: hc.Value, Domain: hc.Domain, Path: hc.Path, MaxAge: hc.MaxAge,
			Expires: hc.Expires, Secure: hc.Secure, HttpOnly: hc.HttpOnly}
		j.set(now, h, u.Path, &c, hc.Quoted)
	}
}

// Cookies returns the cookies a request to u carries, in the Cookie header's order: net/http's CookieJar. Only
// http and https URLs carry cookies.
func (j *Jar) Cookies(u *url.URL) []*http.Cookie {
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil
	}
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	h := j.lookup(u.Host)
	if !h.ok {
		return nil
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	var cookies []*http.Cookie
	for i := range j.drop(now) {
		if e := &j.entries[i]; e.sends(u.Scheme == "https", h, path) {
			cookies = append(cookies, &http.Cookie{Name: e.name, Value: e.value, Quoted: e.quoted})
		}
	}
	return cookies
}

// lookup is the canonical form of host, worked out again only when host is not the one asked about last.
func (j *Jar) lookup(raw string) *hostInfo {
	if h := &j.last; h.raw == raw && (h.ok || raw != "") {
		return h
	}
	j.last = newHostInfo(raw)
	return &j.last
}

func newHostInfo(raw string) hostInfo {
	h := hostInfo{raw: raw}
	host, ok := canonicalHost(raw)
	if !ok {
		return h
	}
	h.host, h.ok = host, true
	if h.ip = isIP(host); h.ip {
		a, err := netip.ParseAddr(host)
		h.key, h.loop = host, err == nil && a.IsLoopback()
		return h
	}
	// The jar key, as cookiejar works it out: the host's eTLD+1, or the host itself when it is a public suffix
	// (or the list answers nonsense).
	h.ps = publicsuffix.List.PublicSuffix(host)
	h.key = host
	if i := len(host) - len(h.ps); h.ps != host && i > 0 && host[i-1] == '.' {
		h.key = host[strings.LastIndexByte(host[:i-1], '.')+1:]
	}
	return h
}

// canonicalHost is host without its port, without a trailing dot, in ASCII (Punycode) and in lower case; ok is
// false for a host with a malformed port or a label Punycode cannot encode. A host with a control byte (no URL
// has one) is refused too, where cookiejar would take it for the empty host.
func canonicalHost(host string) (string, bool) {
	if hasPort(host) {
		h, _, err := net.SplitHostPort(host)
		if err != nil {
			return "", false
		}
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	host, ok := toASCII(host)
	if !ok {
		return "", false
	}
	for i := range len(host) {
		if host[i] < ' ' || host[i] > '~' {
			return "", false
		}
	}
	return strings.ToLower(host), true // no allocation when already lower case
}

// hasPort reports whether host ends in a port: it has one colon, or it is a bracketed IPv6 address followed by one.
// (A bracketed IPv6 address without a port keeps its brackets, as in cookiejar.)
func hasPort(host string) bool {
	switch strings.Count(host, ":") {
	case 0:
		return false
	case 1:
		return true
	}
	return host[0] == '[' && strings.Contains(host, "]:")
}

// isIP reports whether host is an IP address, or has a ':' or '%', which no host name has: cookiejar takes those
// for IP addresses, the safe side.
func isIP(host string) bool {
	if strings.ContainsAny(host, ":%") {
		return true
	}
	_, err := netip.ParseAddr(host) // without ':' or '%', the dotted IPv4 addresses net.ParseIP accepts
	return err == nil
}

// isLocalhost reports whether host's last label is localhost, which browsers and cookiejar take for a secure origin.
func isLocalhost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	return strings.EqualFold(host[strings.LastIndexByte(host, '.')+1:], "localhost")
}

// hasDotSuffix reports whether s ends in "."+suffix.
func hasDotSuffix(s, suffix string) bool {
	return len(s) > len(suffix) && s[len(s)-len(suffix)-1] == '.' && s[len(s)-len(suffix):] == suffix
}

// defaultPath is RFC 6265 5.1.4's default-path: the request path up to, not including, its last '/'; "/" when
// that leaves nothing or the path does not start with '/'.
func defaultPath(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 || path[0] != '/' {
		return "/"
	}
	return path[:i]
}

// domainAndType is the domain a cookie with this Domain attribute, set by host h, applies to, and whether to that
// host only; ok is false for a Domain h may not set. The domain is always a substring of h.host.
func domainAndType(h *hostInfo, domain string) (string, bool, bool) {
	if domain == "" {
		return h.host, true, true
	}
	if h.ip {
		// An IP address has no subdomains: the attribute must be the address itself, leading dot not allowed,
		// and the cookie is host-only.
		return h.host, true, domain == h.host
	}
	domain = strings.TrimPrefix(domain, ".")
	if domain == "" || domain[0] == '.' || domain[len(domain)-1] == '.' {
		return "", false, false // "Domain=.", "Domain=..x", "Domain=x."
	}
	for i := range len(domain) {
		if domain[i] < ' ' || domain[i] > '~' {
			return "", false, false
		}
	}
	domain = strings.ToLower(domain)
	ps := h.ps
	if domain != h.host {
		ps = publicsuffix.List.PublicSuffix(domain)
	}
	if ps != "" && !hasDotSuffix(domain, ps) {
		// A public suffix: only the host that is that suffix may name it, and gets a host-only cookie.
		return h.host, true, domain == h.host
	}
	if domain != h.host && !hasDotSuffix(h.host, domain) {
		return "", false, false // not h's domain
	}
	return h.host[len(h.host)-len(domain):], false, true
}

// toASCII is host with each label that is not ASCII in Punycode (RFC 3492) with the "xn--" prefix, no other IDNA
// mapping or check, as cookiejar does it.
func toASCII(host string) (string, bool) {
	ascii := true
	for i := range len(host) {
		if host[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return host, true
	}
	labels := strings.Split(host, ".")
	for i, label := range labels {
		for k := range len(label) {
			if label[k] >= 0x80 {
				enc, ok := punycode(label)
				if !ok {
					return "", false
				}
				labels[i] = enc
				break
			}
		}
	}
	return strings.Join(labels, "."), true
}

// punycode encodes label by RFC 3492 6.3, in int32 arithmetic, refusing on overflow; invalid UTF-8 counts as
// U+FFFD, byte by byte.
func punycode(label string) (string, bool) {
	const (
		base, tmin, tmax, skew, damp = 36, 1, 26, 38, 700
		initialBias, initialN        = 72, 128
	)
	adapt := func(delta, points int32, first bool) int32 {
		if first {
			delta /= damp
		} else {
			delta /= 2
		}
		delta += delta / points
		k := int32(0)
		for delta > (base-tmin)*tmax/2 {
			delta /= base - tmin
			k += base
		}
		return k + (base-tmin+1)*delta/(delta+skew)
	}
	digit := func(d int32) byte {
		if d < 26 {
			return byte('a' + d)
		}
		return byte('0' + d - 26)
	}
	out := make([]byte, 0, 4+1+2*len(label))
	out = append(out, "xn--"...)
	var basic, total int32
	for _, r := range label {
		total++
		if r < 0x80 {
			basic++
			out = append(out, byte(r))
		}
	}
	if basic > 0 {
		out = append(out, '-')
	}
	n, delta, bias, handled := int32(initialN), int32(0), int32(initialBias), basic
	for handled < total {
		m := int32(0x7fffffff)
		for _, r := range label {
			if r >= n && r < m {
				m = r
			}
		}
		if delta += (m - n) * (handled + 1); delta < 0 {
			return "", false
		}
		n = m
		for _, r := range label {
			if r < n {
				if delta++; delta < 0 {
					return "", false
				}
				continue
			}
			if r > n {
				continue
			}
			q := delta
			for k := int32(base); ; k += base {
				t := min(max(k-bias, tmin), tmax)
				if q < t {
					break
				}
				out = append(out, digit(t+(q-t)%(base-t)))
				q = (q - t) / (base - t)
			}
			out = append(out, digit(q))
			bias = adapt(delta, handled+1, handled == basic)
			delta = 0
			handled++
		}
		delta++
		n++
	}
	return string(out), true
}
