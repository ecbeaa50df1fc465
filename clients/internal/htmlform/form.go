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
			t := z.Token()
			switch t.Data {
			case "form":
				cur, password = &Login{Action: attr(t, "action"), Hidden: url.Values{}}, false
			case "input":
				if cur == nil {
					continue
				}
				switch strings.ToLower(attr(t, "type")) {
				case "password":
					password = true
				case "hidden":
					if name := attr(t, "name"); name != "" {
						cur.Hidden.Add(name, attr(t, "value"))
					}
				}
			}
		case html.EndTagToken:
			if t := z.Token(); t.Data == "form" && cur != nil {
				if password {
					return *cur, true
				}
				cur = nil
			}
		}
	}
}

func attr(t html.Token, name string) string {
	for _, a := range t.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
