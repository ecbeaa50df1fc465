package scenario

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTargetSection(t *testing.T) {
	bad := []struct{ name, yaml, want string }{
		{"faults", "target: {url: http://127.0.0.1:9}\nfaults: [{at: 1s, action: kill, target: replica-1}]\n",
			"t.yaml:3: faults: a live target starts nothing the harness could fault"},
		{"two attributions", "target: {url: http://127.0.0.1:9, replica_header: X-Pod, affinity_cookie: LB}\n",
			"target.affinity_cookie: give replica_header or affinity_cookie, not both"},
		{"attribution without a url", "target: {replica_header: X-Pod}\n", "target: replica_header and affinity_cookie apply to a live target only"},
		{"own app", "target: {url: http://127.0.0.1:9}\napp: {command: [app]}\n", "app: a live target is the app"},
		{"bind", "target: {url: http://127.0.0.1:9}\nclients: {identity: bind}\n", "clients.identity: bind connects from loopback addresses"},
		{"not a url", "target: {url: \"ftp://x\"}\n", `target.url: target "ftp://x" is not host:port or an http(s) URL`},
		{"unknown identity", "clients: {identity: carrier-pigeon}\n", `"carrier-pigeon" is not allowed (allowed: proxy-protocol, bind, x-forwarded-for, none)`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte("name: t\n"+c.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}
