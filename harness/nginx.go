package harness

import (
	"fmt"
	"os/exec"
	"regexp"
	"text/template"
)

// templateFuncs are available to the built-in templates and to a user's balancer.config.
var templateFuncs = template.FuncMap{
	// regexQuote escapes an address for a PCRE (nginx map) or HAProxy regex.
	"regexQuote": regexp.QuoteMeta,
	// others lists every replica but r, for backup servers.
	"others": func(all []Upstream, r Upstream) []Upstream {
		var out []Upstream
		for _, u := range all {
			if u.Name != r.Name {
				out = append(out, u)
			}
		}
		return out
	},
}

// The nginx config for every strategy nginx runs (balancers.md has what each does, read from nginx's source):
//   - The upstream always has a zone, so every worker shares one round-robin position (without one each keeps its own).
//   - realip with real_ip_header proxy_protocol makes ip_hash and $remote_addr the simulated address: `listen …
//     proxy_protocol` alone does not change what ip_hash sees.
//   - hash-cookie is the naive fix: the login request has no cookie yet, so its empty key goes round-robin and the
//     new cookie then hashes to any replica.
//   - cookie-insert is ingress-nginx's `affinity: cookie` on nginx 1.22, which has no sticky directive: one upstream
//     per replica picked by a map over the route cookie (only listed values select one, so it is never an open
//     proxy), and the cookie set from $upstream_addr, so a request that fell over to a backup re-pins the user.
var nginxTemplate = template.Must(template.New("nginx.conf").Funcs(templateFuncs).Parse(`# Rendered by sessionlab for scenario {{.Scenario}}: nginx, strategy {{.Strategy}}, config {{.Generation}}.
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
{{- $s := .Settings}}

    # WebSocket upgrades pass through; other requests close the upstream connection as HTTP/1.0 proxying did.
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }

    upstream app {
        zone app 64k;
{{- if eq .Strategy "least-conn"}}
        least_conn;
{{- else if and (eq .Strategy "ip-hash") (eq $s.HashType "consistent")}}
        hash $remote_addr consistent;
{{- else if eq .Strategy "ip-hash"}}
        ip_hash;
{{- else if eq .Strategy "hash-cookie"}}
        hash $cookie_{{.AppCookie}} consistent;
{{- end}}
{{- range .Replicas}}
        server {{.Addr}} max_fails={{$s.MaxFails}} fail_timeout={{$s.FailTimeout}};
{{- end}}
    }
{{- if eq .Strategy "cookie-insert"}}
{{- $all := .Replicas}}
{{range .Replicas}}
    upstream route_{{.Index}} {
        zone route_{{.Index}} 64k;
        server {{.Addr}} max_fails={{$s.MaxFails}} fail_timeout={{$s.FailTimeout}};
{{- range others $all .}}
        server {{.Addr}} max_fails={{$s.MaxFails}} fail_timeout={{$s.FailTimeout}} backup;
{{- end}}
    }
{{- end}}

    map $cookie_{{$s.CookieName}} $route_pool {
        default app;
{{- range .Replicas}}
        {{.Name}} route_{{.Index}};
{{- end}}
    }

    # The replica that answered (the last address tried) names the route cookie; no answer, no cookie.
    map $upstream_addr $route_cookie {
        default "";
{{- range .Replicas}}
        "~(^|, ){{regexQuote .Addr}}$" "{{$s.CookieName}}={{.Name}}; Path=/; HttpOnly; SameSite=Lax{{if $s.CookieMaxAge}}; Max-Age={{$s.CookieMaxAge}}{{end}}";
{{- end}}
    }
{{- end}}

    server {
{{- if .ProxyProtocol}}
        listen {{.Listen}} proxy_protocol;
{{- range .TrustProxy}}
        set_real_ip_from {{.}};
{{- end}}
        real_ip_header proxy_protocol;
{{- else}}
        listen {{.Listen}};
{{- end}}

        location = {{.ReadyPath}} {
            access_log off;
            add_header X-Sessionlab-Config {{.Generation}} always;
            return 204;
        }

        location / {
{{- if eq .Strategy "cookie-insert"}}
            proxy_pass http://$route_pool;
            add_header Set-Cookie $route_cookie;
{{- else}}
            proxy_pass http://app;
{{- end}}
            # Which replica answered, without the app's help: the harness maps the address back to its name.
            add_header {{.UpstreamHeader}} $upstream_addr always;
            proxy_next_upstream {{$s.NextUpstream}};
            proxy_connect_timeout 2s;
            # The Host the browser sent, port included: an SSO app builds its callback URL from it.
            proxy_set_header Host $http_host;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $remote_addr;
        }
    }
}
`))

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
