package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renderFor renders the built-in config of a scenario (YAML) for three replicas on fixed ports.
func renderFor(t *testing.T, scenarioYAML, dir string) []byte {
	t.Helper()
	s, err := Parse("render.yaml", []byte(scenarioYAML))
	require.NoError(t, err)
	topo := s.Topology()
	var eps []Endpoint
	for i, r := range topo.Replicas {
		eps = append(eps, Endpoint{Name: r.Name, Addr: "127.0.0.1:" + []string{"18081", "18082", "18083"}[i]})
	}
	c := balancerConfigFor(topo, eps, 7)
	c.Listen, c.Dir, c.ErrorLog, c.AccessLog = "127.0.0.1:18080", dir, filepath.Join(dir, "error.log"), filepath.Join(dir, "access.log")
	c.TrustProxy = []string{"127.0.0.1"}
	text, err := balancerKinds[topo.Balancer.Kind].render(c, topo.Balancer.Template)
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
		{"nginx", "strategy: round-robin", []string{"zone app 64k;", "server 127.0.0.1:18081 max_fails=1 fail_timeout=10s;", "proxy_next_upstream error timeout;"}},
		{"nginx", "strategy: least-conn\n  workers: 4", []string{"least_conn;", "worker_processes 4;"}},
		{"nginx", "strategy: ip-hash", []string{"ip_hash;"}},
		{"nginx", "strategy: ip-hash\n  hash_type: consistent", []string{"hash $remote_addr consistent;"}},
		{"nginx", "strategy: hash-cookie", []string{"hash $cookie_sid consistent;"}},
		{"nginx", "strategy: cookie-insert\n  cookie: {name: lb, max_age: 1h}\n  max_fails: 3\n  fail_timeout: 5s\n  next_upstream: [error, timeout, http_502]",
			[]string{"map $cookie_lb $route_pool", "replica-2 route_2;", "server 127.0.0.1:18081 max_fails=3 fail_timeout=5s backup;",
				`"~(^|, )127\.0\.0\.1:18082$" "lb=replica-2; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600";`, "proxy_pass http://$route_pool;", "proxy_next_upstream error timeout http_502;"}},
		{"haproxy", "strategy: round-robin", []string{"balance roundrobin", "bind 127.0.0.1:18080 accept-proxy", "hdr X-Sessionlab-Config 7"}},
		{"haproxy", "strategy: least-conn", []string{"balance leastconn"}},
		{"haproxy", "strategy: ip-hash", []string{"balance source", "hash-type map-based"}},
		{"haproxy", "strategy: ip-hash\n  hash_type: consistent\n  health_check: {interval: 500ms, fall: 1}\n  redispatch: true\n  retries: 1",
			[]string{"hash-type consistent", "option httpchk GET /healthz", "check inter 500ms fall 1 rise 2", "option redispatch", "retries 1"}},
		{"haproxy", "strategy: hash-cookie", []string{"stick on req.cook(sid)", "stick store-response res.cook(sid)"}},
		{"haproxy", "strategy: cookie-insert\n  cookie: {max_age: 30m}", []string{`cookie route insert indirect nocache httponly attr "Max-Age=1800"`, "server replica-3 127.0.0.1:18083 cookie replica-3"}},
		{"haproxy", "strategy: client-ip-sticky", []string{"stick-table type ipv6 size 1m expire 1800s", "stick on src"}},
		{"haproxy", "strategy: client-ip-sticky\n  stick_table: ip\n  stick_expire: 10m", []string{"stick-table type ip size 1m expire 600s"}},
		// Users connecting from real source addresses send no PROXY header.
		{"nginx", "strategy: ip-hash\nclients:\n  identity: bind", []string{"listen 127.0.0.1:18080;\n", "ip_hash;"}},
		{"haproxy", "strategy: ip-hash\nclients:\n  identity: bind", []string{"bind 127.0.0.1:18080\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+strings.ReplaceAll(tt.extra, "\n", " "), func(t *testing.T) {
			dir := t.TempDir()
			text := renderFor(t, "name: t\nbalancer:\n  kind: "+tt.kind+"\n  "+tt.extra+"\n", dir)
			for _, w := range tt.want {
				assert.Contains(t, string(text), w)
			}
			bin, err := findBinary(tt.kind, tt.kind)
			if err != nil {
				t.Skipf("not checked by the real binary: %v", err)
			}
			conf := filepath.Join(dir, balancerKinds[tt.kind].confFile)
			require.NoError(t, os.WriteFile(conf, text, 0o644))
			args := []string{"-c", "-f", conf}
			if tt.kind == "nginx" {
				args = []string{"-t", "-p", dir + "/", "-c", conf, "-e", filepath.Join(dir, "error.log")}
			}
			out, err := exec.Command(bin, args...).CombinedOutput()
			require.NoError(t, err, "%s refuses the rendered config:\n%s\n%s", tt.kind, out, text)
		})
	}
}

func TestUserTemplate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	good := write("good.tmpl", "listen {{.Listen}}\n{{range .Replicas}}server {{.Name}} {{.Addr}}\n{{end}}")
	scenario := write("s.yaml", "name: t\nbalancer:\n  config: good.tmpl\n")
	s, err := Load(scenario)
	require.NoError(t, err, "a template is found beside the scenario file")
	text := renderFor(t, "name: t\nbalancer:\n  config: "+good+"\n", dir)
	assert.Equal(t, "listen 127.0.0.1:18080\nserver replica-1 127.0.0.1:18081\nserver replica-2 127.0.0.1:18082\nserver replica-3 127.0.0.1:18083\n", string(text))
	assert.NotNil(t, s.Topology().Balancer.Template)

	tests := []struct{ name, text, want string }{
		{"parse error", "line one\nline two {{if .Listen}}\n", "bad1.tmpl:3: unexpected EOF"},
		{"unknown field", "ok\nok\nlisten {{.Port}}\n", `bad2.tmpl:3:9: executing "` + filepath.Join(dir, "bad2.tmpl") + `" at <.Port>: can't evaluate field Port`},
		{"unknown function", "{{upper .Listen}}\n", `bad3.tmpl:1: function "upper" not defined`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write("bad"+string(rune('1'+i))+".tmpl", tt.text)
			_, err := Parse(scenario, []byte("name: t\nbalancer:\n  config: "+p+"\n"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "s.yaml:3: balancer.config: template: ")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestWithConfigLine(t *testing.T) {
	text := []byte("a\nb\n  bogus_directive on;\nd\n")
	err := withConfigLine(assert.AnError, "/x/nginx.conf", text)
	assert.Equal(t, assert.AnError, err, "an error that names no line is left alone")
	err = withConfigLine(errorString(`nginx: [emerg] unknown directive "bogus_directive" in /tmp/r/nginx.conf:3`), "/tmp/r/nginx.conf", text)
	assert.Contains(t, err.Error(), "line 3 of the rendered config nginx.conf: bogus_directive on;")
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestParseTrigger(t *testing.T) {
	tests := []struct {
		in   string
		want trigger
	}{
		{"2s", trigger{after: 2 * time.Second}},
		{"1500ms", trigger{after: 1500 * time.Millisecond}},
		{"0s", trigger{}},
		{"1500 requests", trigger{requests: 1500}},
		{"1 request", trigger{requests: 1}},
		{"20requests", trigger{requests: 20}},
	}
	for _, tt := range tests {
		got, err := parseTrigger(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "soon", "-2s", "0 requests", "2", "1.5 requests"} {
		_, err := parseTrigger(bad)
		assert.Error(t, err, "%q", bad)
	}
}
