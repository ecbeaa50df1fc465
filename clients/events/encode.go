package events

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends e as encoding/json would encode it (the same keys, omissions and string escapes, without the
// newline) and returns the extended slice. An exchange's record is written by hand: a run writes one per request,
// and reflection was a measurable share of the client's cost per request; the rare records that carry a fault
// mark, store figures or the end go through encoding/json.
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	if e.Fault != nil || e.Store != nil || e.Balancer != nil || e.End != nil {
		out, err := json.Marshal(e)
		return append(b, out...), err
	}
	b = append(b, `{"t_ms":`...)
	b = strconv.AppendInt(b, e.TMs, 10)
	b = append(b, `,"user":`...)
	b = strconv.AppendInt(b, int64(e.User), 10)
	b = appendField(b, "addr", e.Addr)
	b = appendField(b, "step", e.Step)
	if e.Attempt != 0 {
		b = append(b, `,"attempt":`...)
		b = strconv.AppendInt(b, int64(e.Attempt), 10)
	}
	b = appendField(b, "method", e.Method)
	b = appendField(b, "path", e.Path)
	if e.Host != "" {
		b = appendField(b, "host", e.Host)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	if e.Location != "" {
		b = appendField(b, "location", e.Location)
	}
	b = appendField(b, "replica", e.Replica)
	if e.Instance != "" {
		b = appendField(b, "instance", e.Instance)
	}
	if e.Conn != "" {
		b = appendField(b, "conn", e.Conn)
	}
	b = appendList(b, "sent", e.Sent)
	b = appendList(b, "set", e.Set)
	if e.Failover != "" {
		b = appendField(b, "failover", e.Failover)
	}
	b = appendField(b, "outcome", e.Outcome)
	b = append(b, `,"latency_us":`...)
	b = strconv.AppendInt(b, e.LatencyUS, 10)
	if e.Error != "" {
		b = appendField(b, "error", e.Error)
	}
	return append(b, '}'), nil
}

// appendList appends a list of strings under key, or nothing when it is empty (omitempty).
func appendList(b []byte, key string, values []string) []byte {
	if len(values) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '[')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

func appendField(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

const hex = "0123456789abcdef"

// appendString quotes s as encoding/json does with HTML escaping on (its Encoder's default): <, > and & as
// \u00XX, control characters escaped, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
