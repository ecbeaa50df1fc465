package htmlform

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
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
