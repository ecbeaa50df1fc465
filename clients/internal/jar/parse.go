package jar

import (
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Cookie is what one Set-Cookie line says, as net/http's ParseSetCookie reads it (the attributes a client acts
// on; SameSite and Partitioned are read past).
type Cookie struct {
	Name, Value, Domain, Path string
	// MaxAge is as net/http has it: 0 when the line has no (valid) Max-Age, < 0 for Max-Age=0 or a negative
	// one, which delete the cookie.
	MaxAge  int
	Expires time.Time // zero when absent or unparsable; in UTC
	Secure  bool
	// HttpOnly is read but means nothing to a client.
	HttpOnly bool
}

// Expired reports whether this Set-Cookie deletes its cookie when received at now: MaxAge < 0, or, with no
// Max-Age, an Expires not after now.
func (c Cookie) Expired(now time.Time) bool {
	return c.MaxAge < 0 || c.MaxAge == 0 && !c.Expires.IsZero() && !c.Expires.After(now)
}

// Parse reads one Set-Cookie line into a Cookie; ok is false for a line net/http would drop (blank, no '=' in
// the first pair, a name that is not a token, a value with a byte outside RFC 6265's cookie-octets, space and
// comma allowed). Surrounding double quotes of the value are stripped.
func Parse(line string) (c Cookie, ok bool) {
	c, _, ok = parse(line)
	return c, ok
}

// expiresDashed is the other format of Expires net/http accepts, after time.RFC1123.
const expiresDashed = "Mon, 02-Jan-2006 15:04:05 MST"

// parse is Parse, also reporting whether the value came in double quotes (net/http sends it back quoted). It
// walks the line in place, as net/http's ParseSetCookie does after splitting it at every ';'.
func parse(line string) (c Cookie, quoted, ok bool) {
	line = textproto.TrimString(line)
	if line == "" {
		return Cookie{}, false, false
	}
	first, rest, more := cut(line, ';')
	name, value, found := cut(textproto.TrimString(first), '=')
	if !found {
		return Cookie{}, false, false
	}
	name = textproto.TrimString(name)
	if !httpguts.ValidHeaderFieldName(name) { // net/http's isToken
		return Cookie{}, false, false
	}
	if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
		value, quoted = value[1:len(value)-1], true
	}
	if !validValue(value) {
		return Cookie{}, false, false
	}
	c.Name, c.Value = name, value
	for more {
		var part string
		part, rest, more = cut(rest, ';')
		part = textproto.TrimString(part)
		if part == "" {
			continue
		}
		// Neither the attribute's name nor its value is trimmed, nor are quotes stripped from the value; an
		// attribute whose value has a byte outside the cookie-octets is left unparsed, whatever it is.
		attr, val, _ := cut(part, '=')
		if !validValue(val) {
			continue
		}
		switch {
		case equalFold(attr, "secure"):
			c.Secure = true
		case equalFold(attr, "httponly"):
			c.HttpOnly = true
		case equalFold(attr, "domain"):
			c.Domain = val
		case equalFold(attr, "path"):
			c.Path = val
		case equalFold(attr, "max-age"):
			// Digits with an optional sign, no leading zero unless it is 0; an invalid one leaves an earlier
			// valid one in place.
			secs, err := strconv.Atoi(val)
			if err != nil || secs != 0 && val[0] == '0' {
				continue
			}
			if secs <= 0 {
				secs = -1
			}
			c.MaxAge = secs
		case equalFold(attr, "expires"):
			// An unparsable Expires clears an earlier parsable one.
			t, err := time.Parse(time.RFC1123, val)
			if err != nil {
				if t, err = time.Parse(expiresDashed, val); err != nil {
					c.Expires = time.Time{}
					continue
				}
			}
			c.Expires = t.UTC()
		}
	}
	return c, quoted, true
}

// cut is strings.Cut for a one-byte separator.
func cut(s string, sep byte) (before, after string, found bool) {
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// validValue reports whether every byte of v is one net/http accepts in a cookie value or attribute value: printable
// ASCII (space included) but '"', ';' and '\\'.
func validValue(v string) bool {
	for i := range len(v) {
		if !validValueByte(v[i]) {
			return false
		}
	}
	return true
}

func validValueByte(b byte) bool {
	return 0x20 <= b && b < 0x7f && b != '"' && b != ';' && b != '\\'
}

// equalFold reports whether s is lower, ASCII case aside; lower is in lower case.
func equalFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := range len(s) {
		b := s[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if b != lower[i] {
			return false
		}
	}
	return true
}
