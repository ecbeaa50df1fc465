// Package har reads a HAR 1.2 file (the JSON a browser's devtools export) of a login and a few pages of an app, and
// drafts the scenario's `journey:` section from it: `sessionlab journey --from-har FILE`.
//
// The types are the parts of HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) the draft reads, and what a
// recorder writes: the tests record one from Chromium's network events.
package har

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HAR is a HAR file: {"log": {...}}.
type HAR struct {
	Log Log `json:"log"`
}

// Log is the file's log: the recorded exchanges in the order they started.
type Log struct {
	Version string  `json:"version"`
	Creator Creator `json:"creator"`
	Entries []Entry `json:"entries"`
}

// Creator names the program that wrote the file.
type Creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Entry is one exchange; a redirect is an entry of its own, as the devtools export them.
type Entry struct {
	StartedDateTime string   `json:"startedDateTime"`
	Time            float64  `json:"time"`
	Request         Request  `json:"request"`
	Response        Response `json:"response"`
	Cache           struct{} `json:"cache"`
	Timings         Timings  `json:"timings"`
	// ResourceType is Chromium's _resourceType (document, xhr, fetch, stylesheet, script, image, …); "" when the
	// exporter does not write it.
	ResourceType string `json:"_resourceType,omitempty"`
}

// Timings are the entry's timings; the draft does not read them, but HAR 1.2 requires them.
type Timings struct {
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
}

// Request is what the browser sent.
type Request struct {
	Method      string      `json:"method"`
	URL         string      `json:"url"`
	HTTPVersion string      `json:"httpVersion"`
	Headers     []NameValue `json:"headers"`
	Cookies     []Cookie    `json:"cookies"`
	QueryString []NameValue `json:"queryString"`
	PostData    *PostData   `json:"postData,omitempty"`
	HeadersSize int         `json:"headersSize"`
	BodySize    int         `json:"bodySize"`
}

// PostData is a request's body: Params for a form (urlencoded or multipart), Text as sent.
type PostData struct {
	MimeType string  `json:"mimeType"`
	Params   []Param `json:"params,omitempty"`
	Text     string  `json:"text"`
}

// Param is one field of a posted form.
type Param struct {
	Name        string `json:"name"`
	Value       string `json:"value,omitempty"`
	FileName    string `json:"fileName,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

// Response is what the app answered.
type Response struct {
	Status      int         `json:"status"`
	StatusText  string      `json:"statusText"`
	HTTPVersion string      `json:"httpVersion"`
	Headers     []NameValue `json:"headers"`
	Cookies     []Cookie    `json:"cookies"`
	Content     Content     `json:"content"`
	RedirectURL string      `json:"redirectURL"`
	HeadersSize int         `json:"headersSize"`
	BodySize    int         `json:"bodySize"`
}

// Content is a response's body; Encoding "base64" when Text is base64.
type Content struct {
	Size     int    `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text,omitempty"`
	Encoding string `json:"encoding,omitempty"`
}

// NameValue is a header or a query parameter.
type NameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Cookie is a cookie a request carried or an answer set.
type Cookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Expires  string `json:"expires,omitempty"`
	HTTPOnly bool   `json:"httpOnly,omitempty"`
	Secure   bool   `json:"secure,omitempty"`
}

// Read decodes a HAR file.
func Read(r io.Reader) (*HAR, error) {
	var h struct {
		Log *Log `json:"log"`
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("not a HAR file: %w", err)
	}
	if h.Log == nil {
		return nil, errors.New(`not a HAR file: no "log" object`)
	}
	return &HAR{Log: *h.Log}, nil
}

// header is the first value of the named header ("" when absent), names compared without case.
func header(hs []NameValue, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// headers are every value of the named header; a value holding several lines (Chromium joins repeated headers
// with "\n") is each of them.
func headers(hs []NameValue, name string) []string {
	var out []string
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			out = append(out, strings.Split(h.Value, "\n")...)
		}
	}
	return out
}

// body is the response's text, base64 decoded.
func (c Content) body() string {
	if c.Encoding == "base64" {
		b, err := base64.StdEncoding.DecodeString(c.Text)
		if err != nil {
			return ""
		}
		return string(b)
	}
	return c.Text
}

// mimeType is the response's media type, lower case, without parameters.
func (r Response) mimeType() string {
	mt := r.Content.MimeType
	if mt == "" {
		mt = header(r.Headers, "Content-Type")
	}
	mt, _, _ = strings.Cut(mt, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// setCookies are the cookies the answer set: its cookies list, else its Set-Cookie headers (an exporter may write
// either or both).
func (r Response) setCookies() []*http.Cookie {
	var out []*http.Cookie
	seen := map[string]bool{}
	for _, line := range headers(r.Headers, "Set-Cookie") {
		if c, err := http.ParseSetCookie(strings.TrimSpace(line)); err == nil {
			out = append(out, c)
			seen[c.Name] = true
		}
	}
	for _, c := range r.Cookies {
		if c.Name == "" || seen[c.Name] {
			continue
		}
		hc := &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain}
		if c.Expires != "" {
			hc.RawExpires = c.Expires
			for _, layout := range []string{"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05Z07:00", http.TimeFormat, "Mon, 02-Jan-2006 15:04:05 MST"} {
				if t, err := time.Parse(layout, c.Expires); err == nil {
					hc.Expires = t
					break
				}
			}
		}
		out = append(out, hc)
	}
	return out
}

// cookieNames are the names of the cookies the request carried: its cookies list and its Cookie header.
func (r Request) cookieNames() []string {
	var out []string
	seen := map[string]bool{}
	add := func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, c := range r.Cookies {
		add(c.Name)
	}
	for _, line := range headers(r.Headers, "Cookie") {
		if cs, err := http.ParseCookie(line); err == nil {
			for _, c := range cs {
				add(c.Name)
			}
		}
	}
	return out
}

// fields are the posted fields in order, and whether the body is JSON (its top-level strings, numbers and booleans).
func (p *PostData) fields() (fields []Param, isJSON bool) {
	if p == nil {
		return nil, false
	}
	mt, _, _ := strings.Cut(strings.ToLower(p.MimeType), ";")
	mt = strings.TrimSpace(mt)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") || (mt == "" && strings.HasPrefix(strings.TrimSpace(p.Text), "{")) {
		return jsonFields(p.Text), true
	}
	if len(p.Params) > 0 {
		return p.Params, false
	}
	if mt == "application/x-www-form-urlencoded" || mt == "" {
		return queryFields(p.Text), false
	}
	return nil, false
}

// queryFields are the fields of an urlencoded body in order.
func queryFields(text string) []Param {
	var out []Param
	for _, kv := range strings.Split(text, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, Param{Name: k, Value: v})
	}
	return out
}

// jsonFields are the scalar members of a JSON object, in their order.
func jsonFields(text string) []Param {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []Param
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return out
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return out
		}
		name, _ := k.(string)
		switch v := v.(type) {
		case string:
			out = append(out, Param{Name: name, Value: v})
		case json.Number:
			out = append(out, Param{Name: name, Value: v.String()})
		case bool:
			out = append(out, Param{Name: name, Value: fmt.Sprint(v)})
		}
	}
	return out
}
