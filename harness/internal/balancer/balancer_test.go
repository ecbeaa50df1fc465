package balancer_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime/local"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renderFor renders the built-in config of a scenario (YAML) for three replicas on fixed ports.
func renderFor(t *testing.T, scenarioYAML, dir string) []byte {
	t.Helper()
	s, err := scenario.Parse("render.yaml", []byte(scenarioYAML))
	require.NoError(t, err)
	p, err := plan.Compile(s)
	require.NoError(t, err)
	topo := p.Topology
	var ups []balancer.Upstream
	for i, r := range topo.Replicas {
		ups = append(ups, balancer.NewUpstream(r.Name, r.Index, "127.0.0.1:"+[]string{"18081", "18082", "18083"}[i]))
	}
	c := topo.BalancerConfig(0, 1, 7, ups)
	c.Listen, c.Dir, c.ErrorLog, c.AccessLog = "127.0.0.1:18080", dir, filepath.Join(dir, "error.log"), filepath.Join(dir, "access.log")
	c.TrustProxy = []string{"127.0.0.1"}
	if topo.Balancer.Peers {
		for i, name := range topo.InstanceNames() {
			c.Peers = append(c.Peers, balancer.Peer{Name: name, Addr: "127.0.0.1:" + strconv.Itoa(19001+i)})
		}
	}
	kind, err := balancer.Lookup(topo.Balancer.Kind)
	require.NoError(t, err)
	text, err := kind.Render(c, topo.Balancer.Template)
	require.NoError(t, err)
	return text
}

// TestBuiltInConfigsAreValid renders every strategy each balancer runs, with the settings users tune, and has the
// real binary check the result (nginx -t, haproxy -c). The directives each strategy rests on are asserted too.
func TestBuiltInConfigsAreValid(t *testing.T) {
	tests := []struct {
		kind, extra string
		want        []string
	}{
		{"nginx", "strategy: round-robin", []string{"zone app 64k;", "server 127.0.0.1:18081 max_fails=1 fail_timeout=10s;", "proxy_next_upstream error timeout;",
			"proxy_set_header X-Real-IP $remote_addr;", "proxy_set_header X-Forwarded-For $remote_addr;"}},
		{"nginx", "strategy: least-conn\n  workers: 4", []string{"least_conn;", "worker_processes 4;"}},
		{"nginx", "strategy: ip-hash", []string{"ip_hash;"}},
		{"nginx", "strategy: ip-hash\n  hash_type: consistent", []string{"hash $remote_addr consistent;"}},
		{"nginx", "strategy: hash-cookie", []string{"hash $cookie_sid consistent;"}},
		{"nginx", "strategy: cookie-insert\n  cookie: {name: lb, max_age: 1h}\n  max_fails: 3\n  fail_timeout: 5s",
			[]string{"map $cookie_lb $route_pool", "replica-2 route_2;", "server 127.0.0.1:18081 max_fails=3 fail_timeout=5s backup;",
				`"~(^|, )127\.0\.0\.1:18082$" "lb=replica-2; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600";`, "proxy_pass http://$route_pool;",
				"if ($route_pool != app) {\n                return 418;", "location @pinned {", "proxy_next_upstream off;"}},
		{"nginx", "strategy: cookie-insert\n  cookie: {change_on_failure: true}", []string{"map $cookie_INGRESSCOOKIE $route_pool", "proxy_next_upstream error timeout;"}},
		{"nginx", "strategy: cookie-balanced", []string{"hash $affinity_key consistent;", "map $cookie_INGRESSCOOKIE $affinity_key {\n        \"\"      $request_id;",
			`"INGRESSCOOKIE=$request_id; Path=/; HttpOnly; SameSite=Lax";`, "if ($cookie_INGRESSCOOKIE) {", "location @pinned {", "proxy_next_upstream off;"}},
		{"nginx", "strategy: cookie-balanced\n  cookie: {change_on_failure: true, max_age: 1h}", []string{"add_header Set-Cookie $affinity_repin;",
			`"~, 127\.0\.0\.1:18082$" "INGRESSCOOKIE=replica-2-`, "proxy_next_upstream error timeout;"}},
		{"haproxy", "strategy: round-robin", []string{"balance roundrobin", "bind 127.0.0.1:18080 accept-proxy", "hdr X-Sessionlab-Config 7",
			"option forwardfor", "http-request set-header X-Real-IP %[src]"}},
		{"haproxy", "strategy: least-conn", []string{"balance leastconn"}},
		{"haproxy", "strategy: ip-hash", []string{"balance source", "hash-type map-based"}},
		{"haproxy", "strategy: ip-hash\n  hash_type: consistent\n  health_check: {interval: 500ms, fall: 1}\n  redispatch: true\n  retries: 1",
			[]string{"hash-type consistent", "option httpchk GET /healthz", "check inter 500ms fall 1 rise 2", "option redispatch", "retries 1"}},
		{"haproxy", "strategy: hash-cookie", []string{"balance hash req.cook(sid)", "hash-type consistent"}},
		{"haproxy", "strategy: learn-cookie\n  stick_expire: 5m", []string{"balance roundrobin", "stick-table type string len 128 size 1m expire 300s", "stick on req.cook(sid)", "stick store-response res.cook(sid)"}},
		{"haproxy", "strategy: cookie-insert\n  cookie: {max_age: 30m}", []string{`cookie SERVERID insert indirect nocache httponly attr "Max-Age=1800"`, "server replica-3 127.0.0.1:18083 cookie replica-3"}},
		{"haproxy", "strategy: cookie-insert\n  cookie: {change_on_failure: true}", []string{"option redispatch"}},
		{"caddy", "strategy: round-robin", []string{"lb_policy round_robin", "lb_retries 2", "proxy_protocol {", "allow 127.0.0.1/32", "bind 127.0.0.1",
			"http://:18080 {", "reverse_proxy 127.0.0.1:18081 127.0.0.1:18082 127.0.0.1:18083 {", "fail_duration 10s", "header X-Sessionlab-Config 7",
			"header_up X-Real-IP {remote_host}"}},
		{"caddy", "strategy: least-conn\n  max_fails: 0", []string{"lb_policy least_conn"}},
		{"caddy", "strategy: ip-hash", []string{"lb_policy client_ip_hash"}},
		{"caddy", "strategy: cookie-insert\n  cookie: {max_age: 30m}", []string{"lb_policy cookie lb {\n\t\t\t\tfallback round_robin\n\t\t\t\tmax_age 1800s"}},
		{"caddy", "strategy: cookie-insert\n  cookie: {name: route, change_on_failure: true}", []string{"lb_policy cookie route {", "lb_retries 2"}},
		{"caddy", "strategy: round-robin\nclients:\n  identity: bind", []string{"http://:18080 {"}},
		{"haproxy", "strategy: client-ip-sticky", []string{"stick-table type ipv6 size 1m expire 1800s", "stick on src"}},
		{"haproxy", "strategy: client-ip-sticky\n  stick_table: ip\n  stick_expire: 10m", []string{"stick-table type ip size 1m expire 600s"}},
		// Connection limits follow the users at once (two connections each), never below the defaults.
		{"nginx", "strategy: round-robin", []string{"worker_connections 8192;", "worker_rlimit_nofile 9216;"}},
		{"nginx", "strategy: round-robin\nclients:\n  users: 20000\n  concurrency: 10000", []string{"worker_connections 40512;", "worker_rlimit_nofile 41536;"}},
		{"haproxy", "strategy: round-robin", []string{"maxconn 4096"}},
		{"haproxy", "strategy: round-robin\nclients:\n  users: 20000\n  concurrency: 10000", []string{"maxconn 20256"}},
		// A tier's instance names itself on every answer, takes the PROXY header from the front whatever the
		// clients send, and closes idle connections when balancer.idle_timeout says.
		{"nginx", "strategy: round-robin\n  instances: 2\n  idle_timeout: 5s", []string{"add_header X-Sessionlab-Instance nginx-1 always;",
			"keepalive_timeout 5000ms;", "listen 127.0.0.1:18080 proxy_protocol"}},
		{"haproxy", "strategy: client-ip-sticky\n  instances: 3\n  peers: true", []string{"localpeer haproxy-1", "peers sessionlab\n    peer haproxy-1 127.0.0.1:19001\n    peer haproxy-2 127.0.0.1:19002\n    peer haproxy-3 127.0.0.1:19003",
			"stick-table type ipv6 size 1m expire 1800s peers sessionlab", "http-after-response set-header X-Sessionlab-Instance haproxy-1"}},
		{"haproxy", "strategy: learn-cookie\n  instances: 2\n  peers: true", []string{"stick-table type string len 128 size 1m expire 1800s peers sessionlab"}},
		{"haproxy", "strategy: round-robin\n  instances: 2\n  idle_timeout: 2s\nclients:\n  identity: bind", []string{"timeout http-keep-alive 2000ms", "bind 127.0.0.1:18080 accept-proxy"}},
		{"caddy", "strategy: cookie-insert\n  instances: 2\n  cookie_secret: per-instance\n  idle_timeout: 3s", []string{"lb_policy cookie lb " + plan.DerivedSecret(1, "caddy-1") + " {",
			"timeouts {\n\t\t\tidle 3000ms", "header_down X-Sessionlab-Instance caddy-1"}},
		{"caddy", "strategy: cookie-insert\n  instances: 2", []string{"lb_policy cookie lb {"}},
		{"traefik", "strategy: round-robin", []string{"strategy: wrr", "service: ping@internal", `X-Sessionlab-Config: "7"`,
			`- url: "http://127.0.0.1:18081"`, "rule: \"PathPrefix(`/`)\"", "passHostHeader: true"}},
		{"traefik", "strategy: ip-hash", []string{"strategy: hrw"}},
		{"traefik", "strategy: cookie-insert\n  max_fails: 2\n  fail_timeout: 5s\n  cookie: {change_on_failure: true, max_age: 1h}",
			[]string{"sticky:\n          cookie:\n            name: _fb0b0\n            httpOnly: true", "maxAge: 3600",
				"passiveHealthCheck:\n          maxFailedAttempts: 2\n          failureWindow: 5s", "- retry", "attempts: 3"}},
		{"traefik", "strategy: round-robin\n  instances: 2", []string{"- instance", `X-Sessionlab-Instance: "traefik-1"`}},
		// Users connecting from real source addresses send no PROXY header.
		{"nginx", "strategy: ip-hash\nclients:\n  identity: bind", []string{"listen 127.0.0.1:18080 backlog=4096;\n", "ip_hash;"}},
		{"haproxy", "strategy: ip-hash\nclients:\n  identity: bind", []string{"bind 127.0.0.1:18080\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+strings.ReplaceAll(tt.extra, "\n", " "), func(t *testing.T) {
			dir := t.TempDir()
			text := renderFor(t, "name: t\nbalancer:\n  kind: "+tt.kind+"\n  "+tt.extra+"\n", dir)
			for _, w := range tt.want {
				assert.Contains(t, string(text), w)
			}
			if testing.Short() {
				t.Skip("not checked by the real binary under -short, which starts no process")
			}
			kind, err := balancer.Lookup(tt.kind)
			require.NoError(t, err)
			bin, err := local.FindBalancer(kind)
			if err != nil {
				t.Skipf("not checked by the real binary: %v", err)
			}
			conf := filepath.Join(dir, kind.ConfFile)
			require.NoError(t, os.WriteFile(conf, text, 0o644))
			args := []string{"-c", "-f", conf}
			switch tt.kind {
			case "nginx":
				args = []string{"-t", "-p", dir + "/", "-c", conf, "-e", filepath.Join(dir, "error.log")}
			case "caddy":
				args = []string{"validate", "--config", conf, "--adapter", "caddyfile"}
			case "traefik":
				t.Skip("Traefik has no command that checks a dynamic config: the runtime tests start it")
			}
			out, err := exec.Command(bin, args...).CombinedOutput()
			require.NoError(t, err, "%s refuses the rendered config:\n%s\n%s", tt.kind, out, text)
		})
	}
}

func TestWithConfigLine(t *testing.T) {
	text := []byte("a\nb\n  bogus_directive on;\nd\n")
	err := balancer.WithConfigLine(assert.AnError, "/x/nginx.conf", text)
	assert.Equal(t, assert.AnError, err, "an error that names no line is left alone")
	err = balancer.WithConfigLine(errorString(`nginx: [emerg] unknown directive "bogus_directive" in /tmp/r/nginx.conf:3`), "/tmp/r/nginx.conf", text)
	assert.Contains(t, err.Error(), "line 3 of the rendered config nginx.conf: bogus_directive on;")
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestAttributionHeaderInBuiltInConfigs(t *testing.T) {
	for kind, want := range map[string]string{
		"nginx":   "add_header X-Sessionlab-Upstream $upstream_addr always;",
		"haproxy": "http-response set-header X-Sessionlab-Upstream %si:%sp",
		"caddy":   "header_down X-Sessionlab-Upstream {http.reverse_proxy.upstream.hostport}",
	} {
		for _, strategy := range []string{"round-robin", "ip-hash", "cookie-insert"} {
			text := renderFor(t, "name: r\nbalancer: {kind: "+kind+", strategy: "+strategy+"}\n", t.TempDir())
			assert.Contains(t, string(text), want, "%s %s", kind, strategy)
		}
	}
}

// Every pair of kind and strategy is either run or refused by name; unknown names list the allowed ones.
func TestSupports(t *testing.T) {
	refused := map[string]string{
		"nginx client-ip-sticky":   "not supported by nginx: open-source nginx has no client-IP stick table",
		"nginx learn-cookie":       "not supported by nginx: open-source nginx cannot learn a cookie from an answer",
		"haproxy cookie-balanced":  "not supported by haproxy: HAProxy's cookie names a server",
		"caddy hash-cookie":        "not supported by caddy: Caddy has no policy that hashes one cookie",
		"caddy learn-cookie":       "not supported by caddy: Caddy cannot learn a cookie",
		"caddy cookie-balanced":    "not supported by caddy: Caddy's cookie names the upstream",
		"caddy client-ip-sticky":   "not supported by caddy: Caddy has no client-IP stick table",
		"traefik least-conn":       "not supported by traefik: Traefik has no least-connections strategy",
		"traefik hash-cookie":      "not supported by traefik: Traefik has no strategy that hashes one cookie",
		"traefik learn-cookie":     "not supported by traefik: Traefik cannot learn a cookie",
		"traefik cookie-balanced":  "not supported by traefik: Traefik's sticky cookie names the server",
		"traefik client-ip-sticky": "not supported by traefik: Traefik has no client-IP stick table",
	}
	for _, kind := range balancer.Kinds {
		for _, strategy := range balancer.Strategies {
			err := balancer.Supports(kind, strategy)
			if want, ok := refused[kind+" "+strategy]; ok {
				assert.ErrorContains(t, err, want)
				continue
			}
			assert.NoError(t, err, "%s %s", kind, strategy)
		}
	}
	assert.ErrorContains(t, balancer.Supports("envoy", "round-robin"), `balancer kind "envoy" is not known (allowed: nginx, haproxy, caddy, traefik)`)
	assert.ErrorContains(t, balancer.Supports("nginx", "random"), `strategy "random" is not known (allowed: round-robin,`)
}

// The embedded template a user copies is the one the harness renders: filled as a user's template, it gives the
// built-in config byte for byte.
func TestTemplateIsTheBuiltInOne(t *testing.T) {
	for _, kind := range balancer.Kinds {
		text, err := balancer.Template(kind)
		require.NoError(t, err)
		k, err := balancer.Lookup(kind)
		require.NoError(t, err)
		c := balancer.Config{Scenario: "t", Kind: kind, Strategy: "cookie-insert", Listen: "127.0.0.1:1", Workers: 1,
			Replicas: []balancer.Upstream{balancer.NewUpstream("replica-1", 1, "127.0.0.1:2")}, ReadyPath: balancer.ReadyPath,
			Generation: 1, UpstreamHeader: balancer.UpstreamHeader, Settings: balancer.Settings{CookieName: "route"}}
		user, err := balancer.ParseTemplate(kind+".tmpl", string(text), c)
		require.NoError(t, err)
		builtIn, err := k.Render(c, nil)
		require.NoError(t, err)
		copied, err := k.Render(c, user)
		require.NoError(t, err)
		assert.Equal(t, string(builtIn), string(copied), kind)
	}
}

// Two upstreams on one address (a port handed out twice) are refused by name, instead of a config in which the
// second replica gets no traffic — or no ring key could ever be found for it.
func TestRenderRefusesUpstreamsSharingAnAddress(t *testing.T) {
	for _, kind := range balancer.Kinds {
		t.Run(kind, func(t *testing.T) {
			k, err := balancer.Lookup(kind)
			require.NoError(t, err)
			c := balancer.Config{Strategy: "round-robin", Replicas: []balancer.Upstream{
				balancer.NewUpstream("replica-1", 1, "127.0.0.1:18081"),
				balancer.NewUpstream("replica-2", 2, "127.0.0.1:18081"),
			}}
			_, err = k.Render(c, nil)
			assert.ErrorContains(t, err, "upstreams replica-1 and replica-2 share the address 127.0.0.1:18081")
		})
	}
}

// TestFrontConfigIsValid renders the tier's front both ways it spreads and has the real HAProxy check it.
func TestFrontConfigIsValid(t *testing.T) {
	ups := []balancer.Upstream{balancer.NewUpstream("nginx-1", 1, "127.0.0.1:18081"), balancer.NewUpstream("nginx-2", 2, "127.0.0.1:18082")}
	tests := []struct {
		spread string
		proxy  bool
		want   []string
	}{
		{balancer.SpreadConnection, true, []string{"mode tcp", "bind 127.0.0.1:18080 accept-proxy", "balance roundrobin",
			"server nginx-1 127.0.0.1:18081 send-proxy check check-send-proxy", "server nginx-2 127.0.0.1:18082 send-proxy", "option redispatch 1"}},
		{balancer.SpreadSource, false, []string{"bind 127.0.0.1:18080\n", "balance source", "hash-type consistent"}},
	}
	for _, tt := range tests {
		t.Run(tt.spread, func(t *testing.T) {
			text, err := balancer.RenderFront(balancer.FrontConfig{Scenario: "t", Listen: "127.0.0.1:18080", ProxyProtocol: tt.proxy,
				Spread: tt.spread, Instances: ups, MaxConns: 4096})
			require.NoError(t, err)
			for _, w := range tt.want {
				assert.Contains(t, string(text), w)
			}
			if testing.Short() {
				t.Skip("not checked by the real binary under -short, which starts no process")
			}
			kind, err := balancer.Lookup("haproxy")
			require.NoError(t, err)
			bin, err := local.FindBalancer(kind)
			if err != nil {
				t.Skipf("not checked by the real binary: %v", err)
			}
			conf := filepath.Join(t.TempDir(), balancer.FrontConfFile)
			require.NoError(t, os.WriteFile(conf, text, 0o644))
			out, err := exec.Command(bin, "-c", "-f", conf).CombinedOutput()
			require.NoError(t, err, "haproxy refuses the front's config:\n%s\n%s", out, text)
		})
	}
	_, err := balancer.RenderFront(balancer.FrontConfig{Spread: "random", Instances: ups})
	assert.ErrorContains(t, err, `spread "random" is not allowed (allowed: connection, source)`)
}
