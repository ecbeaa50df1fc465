package balancer

import (
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/sessionlab/sessionlab/harness/internal/tools"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// embeddedFS copies the embedded table into a map, to break one file of it at a time.
func embeddedFS(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	require.NoError(t, fs.WalkDir(tableFiles, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(tableFiles, p)
		m[p] = &fstest.MapFile{Data: data}
		return err
	}))
	return m
}

func TestEmbeddedTableDecodes(t *testing.T) {
	tb, err := loadTable(tableFiles)
	require.NoError(t, err)
	assert.Equal(t, []string{"nginx", "haproxy", "caddy", "traefik"}, tb.kindNames)
	assert.Equal(t, []string{"round-robin", "least-conn", "ip-hash", "hash-cookie", "learn-cookie", "cookie-insert", "cookie-balanced", "client-ip-sticky"}, tb.strategies)
	for _, name := range tb.kindNames {
		k := tb.kinds[name]
		assert.Len(t, k.cells, len(tb.strategies), name)
		assert.NotNil(t, k.template, name)
	}
}

// A malformed row or strategies.yaml is refused by name when the table is decoded (at init for the embedded one).
func TestMalformedTableIsRefused(t *testing.T) {
	nginx := "kinds/nginx/kind.yaml"
	tests := []struct {
		name      string
		file      string
		from, to  string // replace from with to in file; from "" writes to as the whole file
		wantError string
	}{
		{"unknown field", nginx, "binary: nginx", "binary: nginx\ncolour: red", "field colour not found"},
		{"strategy left out", nginx, "  least-conn: {runs: \"`least_conn`\"}\n", "", "strategies.least-conn is missing: say how nginx runs it (runs) or why it cannot (refused)"},
		{"unknown strategy", nginx, "  least-conn:", "  sticky: {runs: x}\n  least-conn:", `strategies: "sticky" is not a strategy (allowed: round-robin,`},
		{"both runs and refused", nginx, "least-conn: {runs: \"`least_conn`\"}", "least-conn: {runs: x, refused: y}", "strategies.least-conn: give one of runs and refused"},
		{"neither runs nor refused", nginx, "least-conn: {runs: \"`least_conn`\"}", "least-conn: {}", "strategies.least-conn: give one of runs and refused"},
		{"refused with settings", nginx, "least-conn: {runs: \"`least_conn`\"}", "least-conn: {refused: no, refused_settings: {a: b}}", "a refused strategy has no settings to refuse"},
		{"signal not known", nginx, "reload_signal: HUP", "reload_signal: KILL", `reload_signal: "KILL" is not a signal (allowed: HUP, QUIT, TERM, USR1, USR2)`},
		{"placeholder not known", nginx, `"{err_log}"]`, `"{errlog}"]`, `local_args: "{errlog}" holds a placeholder that is not {dir} or {conf} or {err_log}`},
		{"container placeholder not known", nginx, "container_args: [nginx, -c,", `container_args: [nginx, "{dir}", -c,`, `container_args: "{dir}" holds a placeholder that is not {conf}`},
		{"no command line", nginx, "container_args: [nginx, -c, \"{conf}\", -e, stderr]", "", "container_args is required"},
		{"name not the folder's", nginx, "name: nginx", "name: engine-x", `name "engine-x" is not its folder's (nginx)`},
		{"order taken", nginx, "order: 1", "order: 2", "order 2 is "},
		{"order missing", nginx, "order: 1", "", "order 0: give its place in Kinds, from 1"},
		{"install missing", nginx, "install: install the Debian package nginx (apt-get install nginx, or `make deps`)", "", "conf_file, binary, install, version and default_cookie are required"},
		{"setting read and refused", nginx, "settings: [max_fails, fail_timeout, next_upstream]", "settings: [max_fails]\nrefused_settings: {max_fails: why}", "settings: max_fails is read and refused at once"},
		{"template missing", "kinds/nginx/nginx.conf.tmpl", "", "", ""},
		{"template broken", "kinds/nginx/nginx.conf.tmpl", "", "{{if}}", "template: nginx.conf:1: missing value for if"},
		{"a file among the kinds", "kinds/README", "", "x", "kinds/README: not a folder"},
		{"strategies: unknown field", "strategies.yaml", "settings:", "colour: red\nsettings:", "field colour not found"},
		{"strategies: settings of no strategy", "strategies.yaml", "hash_type: [ip-hash]", "hash_type: [ip_hash]", `strategies.yaml: settings.hash_type: "ip_hash" is not a strategy`},
		{"strategies: listed twice", "strategies.yaml", "  - name: least-conn", "  - name: round-robin", "strategies.yaml: strategy round-robin is listed twice"},
		{"strategies: no description", "strategies.yaml", "    means: each request goes to the next replica in turn\n", "", `strategies.yaml: strategy "round-robin": name and means are required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := embeddedFS(t)
			switch {
			case tt.name == "template missing":
				delete(m, tt.file)
				tt.wantError = "kinds/nginx/nginx.conf.tmpl"
			case tt.from == "":
				m[tt.file] = &fstest.MapFile{Data: []byte(tt.to)}
			default:
				text := string(m[tt.file].Data)
				require.Contains(t, text, tt.from, "the case no longer matches the embedded file")
				m[tt.file] = &fstest.MapFile{Data: []byte(strings.Replace(text, tt.from, tt.to, 1))}
			}
			_, err := loadTable(m)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantError)
			assert.PanicsWithValue(t, "balancer: the embedded table: "+err.Error(), func() { mustLoadTable(m) })
		})
	}
}

// The rows say what the Go table said before them: the command lines, the signals, the cookies.
func TestRows(t *testing.T) {
	tests := []struct {
		kind                     string
		local, container         []string
		reload, stop             syscall.Signal
		confFile, binary, cookie string
		keys                     []string
	}{
		{"nginx", []string{"-p", "/r/", "-c", "/r/nginx.conf", "-e", "/r/error.log"}, []string{"nginx", "-c", "/c/nginx.conf", "-e", "stderr"},
			syscall.SIGHUP, syscall.SIGQUIT, "nginx.conf", "nginx", "INGRESSCOOKIE", []string{"max_fails", "fail_timeout", "next_upstream"}},
		{"haproxy", []string{"-W", "-db", "-f", "/r/haproxy.cfg"}, []string{"haproxy", "-W", "-db", "-f", "/c/haproxy.cfg"},
			syscall.SIGUSR2, syscall.SIGUSR1, "haproxy.cfg", "haproxy", "SERVERID", []string{"health_check", "redispatch", "retries", "stick_table", "stick_expire", "peers"}},
		{"caddy", []string{"run", "--config", "/r/Caddyfile", "--adapter", "caddyfile"}, []string{"caddy", "run", "--config", "/c/Caddyfile", "--adapter", "caddyfile"},
			syscall.SIGUSR1, syscall.SIGTERM, "Caddyfile", "caddy", "lb", []string{"max_fails", "fail_timeout", "cookie_secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			k, err := Lookup(tt.kind)
			require.NoError(t, err)
			assert.Equal(t, tt.local, k.LocalArgs("/r", "/r/"+tt.confFile, "/r/error.log", "127.0.0.1:18080"))
			assert.Equal(t, tt.container, k.ContainerArgs("/c/"+tt.confFile))
			assert.Equal(t, tt.reload, k.ReloadSignal)
			assert.Equal(t, tt.stop, k.StopSignal)
			assert.Equal(t, tt.confFile, k.ConfFile)
			assert.Equal(t, tt.binary, k.Binary)
			assert.Equal(t, tt.cookie, k.DefaultCookie)
			assert.Equal(t, tt.keys, k.Keys)
			assert.NotEmpty(t, k.Install)
		})
	}
	caddy, err := Lookup("caddy")
	require.NoError(t, err)
	pinned, err := tools.Lookup("caddy")
	require.NoError(t, err)
	assert.Contains(t, caddy.Install, "Caddy "+pinned.Version+" ", "kinds/caddy/kind.yaml's install names the version sessionlab install builds")
}

// Every refusal says what to use instead: a strategy the kind runs, or another kind.
func TestRefusalsNameWhatToUseInstead(t *testing.T) {
	for _, name := range Kinds {
		k := tbl.kinds[name]
		for _, strategy := range Strategies {
			why := k.cells[strategy].Refused
			if why == "" {
				continue
			}
			alternative := false
			for _, other := range Kinds {
				alternative = alternative || (other != name && strings.Contains(why, "kind: "+other))
			}
			for _, s := range Strategies {
				alternative = alternative || (k.cells[s].Refused == "" && strings.Contains(why, s))
			}
			assert.True(t, alternative, "%s %s: %q names neither a strategy %s runs nor another kind", name, strategy, why, name)
		}
	}
}

// Each kind names the log lines that say it ran out of what the harness sized, as the real programs write them,
// and no ordinary line of theirs.
func TestLimitLines(t *testing.T) {
	tests := []struct{ kind, line, limit string }{
		{"nginx", "2026/12/01 14:00:01 [alert] 4242#4242: 64 worker_connections are not enough", "worker_connections"},
		{"nginx", "2026/12/01 14:00:01 [alert] 4242#4242: *9 64 worker_connections are not enough while connecting to upstream", "worker_connections"},
		{"nginx", "2026/12/01 14:00:01 [crit] 4242#4242: accept4() failed (24: Too many open files)", "open_files"},
		{"nginx", "2026/12/01 14:00:01 [warn] 4242#4242: *7 upstream server temporarily disabled while connecting to upstream", ""},
		{"haproxy", "[ALERT]    (4242) : Proxy web reached process FD limit (maxsock=2048). Please check 'ulimit-n' and restart.", "open_files"},
		{"haproxy", "[ALERT]    (4242) : Proxy web reached the configured maximum connection limit. Please check the global 'maxconn' value.", "maxconn"},
		{"haproxy", "[WARNING]  (4242) : Server app/replica-2 is DOWN, reason: Layer4 connection problem", ""},
		{"caddy", `{"level":"debug","ts":1764597601.5,"logger":"http.stdlib","msg":"http: Accept error: accept tcp 127.0.0.1:8080: accept4: too many open files; retrying in 5ms"}`, "open_files"},
		{"caddy", `{"level":"error","ts":1764597601.5,"logger":"http.log.error","msg":"dial tcp 127.0.0.1:9001: connect: connection refused"}`, ""},
		{"traefik", `2026-12-01T14:00:01Z ERR error="accept tcp [::]:80: accept4: too many open files" entryPointName=web`, "open_files"},
	}
	for _, tt := range tests {
		k, err := Lookup(tt.kind)
		require.NoError(t, err)
		assert.Equal(t, tt.limit, k.LimitIn(tt.line), "%s: %s", tt.kind, tt.line)
	}
}

func TestARowWithoutLimitLinesIsRefused(t *testing.T) {
	m := embeddedFS(t)
	row := string(m["kinds/traefik/kind.yaml"].Data)
	m["kinds/traefik/kind.yaml"] = &fstest.MapFile{Data: []byte(row[:strings.Index(row, "limit_lines:")])}
	_, err := loadTable(m)
	require.ErrorContains(t, err, "kinds/traefik/kind.yaml: limit_lines is required")
	m["kinds/traefik/kind.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(row, `"(?i)too many open files"`, `"(unclosed"`, 1))}
	_, err = loadTable(m)
	require.ErrorContains(t, err, "limit_lines.open_files")
}
