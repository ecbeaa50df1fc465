package harness

import (
	"bytes"
	"fmt"
	"os/exec"
	"text/template"
)

// nginxConfig is what the nginx template receives.
type nginxConfig struct {
	Scenario   string
	Dir        string   // pid and temp files live here
	ErrorLog   string   // a file, or /dev/stderr in a container
	AccessLog  string   // a file, or /dev/stdout in a container
	Listen     string   // host:port, a PROXY-protocol listener
	Workers    int      // worker_processes
	Strategy   string   // a supported strategy name
	Upstreams  []string // replica addresses, host:port, in replica order
	TrustProxy []string // addresses allowed to send the PROXY header (the clients connect from here)
}

// The upstream always has a zone so that every worker shares one round-robin position (without it each worker
// keeps its own). realip with real_ip_header proxy_protocol is what makes ip_hash hash the simulated address:
// `listen … proxy_protocol` alone does not change what ip_hash sees.
var nginxTemplate = template.Must(template.New("nginx.conf").Funcs(template.FuncMap{
	"readyPath": func() string { return readyPath },
}).Parse(`# Rendered by sessionlab for scenario {{.Scenario}}: strategy {{.Strategy}}.
daemon off;
master_process on;
worker_processes {{.Workers}};
pid {{.Dir}}/nginx.pid;
error_log {{.ErrorLog}} warn;

events {
    worker_connections 4096;
}

http {
    log_format sessionlab '$proxy_protocol_addr -> $realip_remote_addr "$request" $status upstream=$upstream_addr';
    access_log {{.AccessLog}} sessionlab;
    client_body_temp_path {{.Dir}}/client_body_temp;
    proxy_temp_path {{.Dir}}/proxy_temp;
    fastcgi_temp_path {{.Dir}}/fastcgi_temp;
    uwsgi_temp_path {{.Dir}}/uwsgi_temp;
    scgi_temp_path {{.Dir}}/scgi_temp;

    upstream app {
        zone app 64k;
{{- if eq .Strategy "ip-hash"}}
        ip_hash;
{{- end}}
{{- range .Upstreams}}
        server {{.}};
{{- end}}
    }

    server {
        listen {{.Listen}} proxy_protocol;
{{- range .TrustProxy}}
        set_real_ip_from {{.}};
{{- end}}
        real_ip_header proxy_protocol;

        location = {{ readyPath }} {
            access_log off;
            return 204;
        }

        location / {
            proxy_pass http://app;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $remote_addr;
        }
    }
}
`))

// nginxConfigFor fills what the topology decides; the runtime adds where nginx listens and writes.
func nginxConfigFor(t Topology, replicas []Endpoint) nginxConfig {
	c := nginxConfig{Scenario: t.Name, Workers: t.Balancer.Workers, Strategy: t.Balancer.Strategy}
	for _, r := range replicas {
		c.Upstreams = append(c.Upstreams, r.Addr)
	}
	return c
}

// renderNginx returns the config text for c.
func renderNginx(c nginxConfig) ([]byte, error) {
	switch c.Strategy {
	case "round-robin", "ip-hash":
	default:
		return nil, fmt.Errorf("nginx: strategy %q is not supported", c.Strategy)
	}
	var buf bytes.Buffer
	if err := nginxTemplate.Execute(&buf, c); err != nil {
		return nil, fmt.Errorf("render nginx config: %w", err)
	}
	return buf.Bytes(), nil
}

// findBinary looks a program up in PATH and then in the sbin directories Debian installs daemons in, which are not
// in an unprivileged user's PATH.
func findBinary(name, debianPackage string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := dir + "/" + name
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or /usr/sbin: install the Debian package %q (apt-get install %s, or `make deps`)", name, debianPackage, debianPackage)
}
