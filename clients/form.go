package clients

import (
	"bytes"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// loginForm is a login form read from a page: where it posts and the hidden fields it carries (a CSRF token, an
// SSO state).
type loginForm struct {
	action string
	hidden url.Values
}

// findLoginForm returns the first form on the page with a password field, if there is one. It reads the page with
// x/net/html's tokenizer, so attribute order, quoting and entities are handled as a browser would; a form the page
// never closes (cut off, or sloppy markup) ends with the page, and a hidden input without a name is not submitted.
func findLoginForm(page []byte) (loginForm, bool) {
	z := html.NewTokenizer(bytes.NewReader(page))
	var cur *loginForm
	password := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			if cur != nil && password {
				return *cur, true
			}
			return loginForm{}, false
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			switch t.Data {
			case "form":
				cur, password = &loginForm{action: attr(t, "action"), hidden: url.Values{}}, false
			case "input":
				if cur == nil {
					continue
				}
				switch strings.ToLower(attr(t, "type")) {
				case "password":
					password = true
				case "hidden":
					if name := attr(t, "name"); name != "" {
						cur.hidden.Add(name, attr(t, "value"))
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
