// Package htmlform reads a login form out of an HTML page, as a browser would: where it posts and the hidden fields it
// carries.
package htmlform

import (
	"bytes"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Login is a login form read from a page: where it posts and the hidden fields it carries (a CSRF token, an SSO
// state).
type Login struct {
	Action string
	Hidden url.Values
}

// FindLogin returns the first form on the page with a password field, if there is one. It reads the page with
// x/net/html's tokenizer, so attribute order, quoting and entities are handled as a browser would; a form the page
// never closes (cut off, or sloppy markup) ends with the page, and a hidden input without a name is not submitted.
func FindLogin(page []byte) (Login, bool) {
	z := html.NewTokenizer(bytes.NewReader(page))
	var cur *Login
	password := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			if cur != nil && password {
				return *cur, true
			}
			return Login{}, false
		case html.StartTagToken, html.SelfClosingTagToken:
			// Only a form's and an input's attributes are read: the tokenizer's Token would unescape every tag's.
			name, hasAttr := z.TagName()
			switch string(name) {
			case "form":
				cur, password = &Login{Action: attrs(z, hasAttr, "action")["action"], Hidden: url.Values{}}, false
			case "input":
				if cur == nil {
					continue
				}
				a := attrs(z, hasAttr, "type", "name", "value")
				switch strings.ToLower(a["type"]) {
				case "password":
					password = true
				case "hidden":
					if a["name"] != "" {
						cur.Hidden.Add(a["name"], a["value"])
					}
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "form" && cur != nil {
				if password {
					return *cur, true
				}
				cur = nil
			}
		}
	}
}

// attrs reads the tag's attributes and returns the first value of each of names (lower-cased keys, unescaped
// values, as the tokenizer's Token gives them).
func attrs(z *html.Tokenizer, more bool, names ...string) map[string]string {
	found := make(map[string]string, len(names))
	for more {
		var key, val []byte
		key, val, more = z.TagAttr()
		for _, n := range names {
			if string(key) == n {
				if _, seen := found[n]; !seen {
					found[n] = string(val)
				}
			}
		}
	}
	return found
}
