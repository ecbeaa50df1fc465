package htmlform

import (
	"bytes"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

func TestFindLoginForm(t *testing.T) {
	tests := []struct {
		name   string
		page   string
		found  bool
		action string
		hidden url.Values
	}{
		{
			name: "fake app form with a csrf token",
			page: `<!doctype html><title>Log in</title>
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="t0k3n">
<input name="username"><input name="password" type="password"><button>Log in</button>
</form>`,
			found: true, action: "/login", hidden: url.Values{"csrf_token": {"t0k3n"}},
		},
		{
			name: "attributes in any order, any quoting and case",
			page: `<FORM ACTION='/idp/login' METHOD=post>
<input value="st-1" name="state" type="hidden">
<input name=redirect_uri type=HIDDEN value=http://app/cb>
<input TYPE="Password" name="password">
</FORM>`,
			found: true, action: "/idp/login", hidden: url.Values{"state": {"st-1"}, "redirect_uri": {"http://app/cb"}},
		},
		{
			name: "entities are decoded in values and action",
			page: `<form action="/login?next=%2Fpage&amp;x=1">
<input type="hidden" name="redirect_uri" value="http://app/cb?a=1&amp;b=2">
<input type="hidden" name="q" value="&lt;&quot;&#39;&gt;">
<input type="password" name="password"/>
</form>`,
			found: true, action: "/login?next=%2Fpage&x=1",
			hidden: url.Values{"redirect_uri": {"http://app/cb?a=1&b=2"}, "q": {`<"'>`}},
		},
		{
			name:  "repeated hidden names keep every value in order",
			page:  `<form><input type="hidden" name="k" value="1"><input type="hidden" name="k" value="2"><input type="password"></form>`,
			found: true, hidden: url.Values{"k": {"1", "2"}},
		},
		{
			name: "only the second form has a password field",
			page: `<form action="/search"><input type="hidden" name="scope" value="all"><input name="q"></form>
<form action="/session"><input type="hidden" name="csrf_token" value="abc"><input type="password" name="pw"></form>`,
			found: true, action: "/session", hidden: url.Values{"csrf_token": {"abc"}},
		},
		{
			name:   "the first of two login forms wins",
			page:   `<form action="/a"><input type="password"></form><form action="/b"><input type="password"></form>`,
			found:  true,
			action: "/a", hidden: url.Values{},
		},
		{
			name:  "a password field outside any form does not count",
			page:  `<input type="password"><form action="/x"><input type="hidden" name="h" value="v"></form>`,
			found: false,
		},
		{
			name:  "no password field",
			page:  `<form action="/login"><input type="hidden" name="csrf_token" value="t"><input name="username"></form>`,
			found: false,
		},
		{name: "no form at all", page: `<p>Hello user1, served by replica-1</p>`, found: false},
		{name: "empty page", page: ``, found: false},
		{
			name: "malformed markup around a closed form",
			page: `<div <<>> <p class="x><form action="/bad">` + "\n" +
				`</p></div><form action="/login"><input type="hidden" name="t" value="1" <input type="password"></form>`,
			found: false, // the password input sits inside the broken hidden tag: a browser sees no password field either
		},
		{
			name:  "stray tags and unclosed elements inside the form",
			page:  `<form action="/login"><p><b><input type="hidden" name="t" value="1"><div><input type=password></b></form></body>`,
			found: true, action: "/login", hidden: url.Values{"t": {"1"}},
		},
		{
			name:  "a form cut off before its end tag still holds its password field",
			page:  `<form action="/login"><input type="hidden" name="csrf_token" value="t"><input type="password">`,
			found: true, action: "/login", hidden: url.Values{"csrf_token": {"t"}},
		},
		{
			name:  "a page cut off inside the password tag has no password field",
			page:  `<form action="/login"><input type="hidden" name="csrf_token" value="t"><input type="passw`,
			found: false,
		},
		{
			name:  "a hidden input without a name is not submitted",
			page:  `<form><input type="hidden" value="orphan"><input type="hidden" name="n" value="v"><input type="password"></form>`,
			found: true, hidden: url.Values{"n": {"v"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := FindLogin([]byte(tt.page))
			assert.Equal(t, tt.found, ok)
			if !tt.found {
				return
			}
			assert.Equal(t, tt.action, f.Action)
			assert.Equal(t, tt.hidden, f.Hidden)
		})
	}
}

// findLoginByToken is FindLogin as it read pages before, building every tag's Token: the reference the reading of
// form and input attributes alone must agree with.
func findLoginByToken(page []byte) (Login, bool) {
	z := html.NewTokenizer(bytes.NewReader(page))
	var cur *Login
	password := false
	attr := func(t html.Token, name string) string {
		for _, a := range t.Attr {
			if a.Key == name {
				return a.Val
			}
		}
		return ""
	}
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

// Pages put together from pieces of markup, sloppy ones among them: FindLogin reads each as the Token-based reading
// does.
func TestFindLoginAsTokens(t *testing.T) {
	pieces := []string{
		`<form action="/login">`, `<FORM ACTION='/a?x=1&amp;y=2' method=post>`, `</form>`, `</FORM >`,
		`<input type="hidden" name="csrf" value="t&lt;1">`, `<input name=state type=HIDDEN value=s1>`,
		`<input type="hidden" value="no-name">`, `<input type="hidden" name="dup" value="a" name="b" value="c">`,
		`<input TYPE="Password" name="password">`, `<input type=password/>`, `<input name="username">`,
		`<div class="x" data-v="&amp;&#39;">`, `</div>`, `<p>text & more</p>`, `<!-- <form action="/c"> -->`,
		`<script>var s = "<form action='/s'>";</script>`, `<input type="hidden" name="e" value="&#x1F600;">`,
		`<br/>`, `<input type='hidden' name='x' value=''>`, `<form>`, "<input type=\"hidden\" name=\"nul\" value=\"a\x00b\">",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var page strings.Builder
		for range 1 + rng.IntN(12) {
			page.WriteString(pieces[rng.IntN(len(pieces))])
		}
		want, wantOK := findLoginByToken([]byte(page.String()))
		got, gotOK := FindLogin([]byte(page.String()))
		require.Equal(t, wantOK, gotOK, "page %d: %q", i, page.String())
		require.Equal(t, want, got, "page %d: %q", i, page.String())
	}
}
