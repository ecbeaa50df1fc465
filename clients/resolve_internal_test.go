package clients

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resolve's short way must give what parsing and resolving give, for the targets it takes and the ones it leaves.
func TestResolveMatchesResolveReference(t *testing.T) {
	bases := []string{"http://127.0.0.1:8080", "http://lb.test/app/", "https://user:pw@lb.test:8443/x/y"}
	targets := []string{
		"/", "/page/1", "/login", "/a/b-c_d~e.f", "/page/1.html", "/.well-known/x", "/a/./b", "/a/../b", "/a/..",
		"//other.test/p", "/p?q=1", "/p#frag", "/a%2Fb", "/a b", "page/2", "", "?x=1", "http://idp.test/auth?x=1",
		"/trailing/", "/a//b", "/A/Z/0/9",
	}
	for _, b := range bases {
		base, err := url.Parse(b)
		require.NoError(t, err)
		for _, target := range targets {
			t.Run(b+" "+target, func(t *testing.T) {
				ref, err := url.Parse(target)
				require.NoError(t, err)
				want := base.ResolveReference(ref)
				got, err := resolve(new(url.URL), base, target)
				require.NoError(t, err)
				assert.Equal(t, want, got)
				assert.Equal(t, want.String(), got.String())
			})
		}
	}
	_, err := resolve(new(url.URL), &url.URL{Scheme: "http", Host: "lb.test"}, "/bad\x7f")
	assert.Error(t, err, "a control character is refused as url.Parse refuses it")
}

func TestPlainPath(t *testing.T) {
	for target, want := range map[string]bool{
		"/page/1": true, "/": true, "/a-b_c~d.e": true,
		"": false, "page": false, "//host/p": false, "/a/./b": false, "/.x": false, "/p?q": false, "/a%20": false, "/a b": false,
	} {
		assert.Equal(t, want, plainPath(target), target)
	}
}
