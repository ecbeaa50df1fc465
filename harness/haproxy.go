package harness

import "text/template"

// The HAProxy config for every strategy (balancers.md has what each does, read from HAProxy's source):
//   - accept-proxy makes the PROXY-protocol source the address everywhere one is used (balance source, src).
//   - ip-hash is `balance source`: map-based by default (address mod N for equal weights), or hash-type consistent.
//   - hash-cookie learns the app's own cookie from the login answer (stick store-response), so unlike nginx's
//     hash it keeps the login's replica.
//   - cookie-insert sets and strips HAProxy's own cookie; client-ip-sticky is a stick table on the source address,
//     of type ipv6 by default because a type ip table does not stick IPv6 clients at all.
//
// Master-worker mode (-W) lets SIGUSR2 load a new config without dropping the listener.
var haproxyTemplate = template.Must(template.New("haproxy.cfg").Funcs(templateFuncs).Parse(`# Rendered by sessionlab for scenario {{.Scenario}}: haproxy, strategy {{.Strategy}}, config {{.Generation}}.
{{- $s := .Settings}}
global
    nbthread {{.Workers}}
    maxconn 4096
    log stderr format raw local0 warning

defaults
    mode http
    log global
    option dontlognull
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    retries {{$s.Retries}}
{{- if $s.Redispatch}}
    option redispatch
{{- end}}

frontend sessionlab
    bind {{.Listen}}{{if .ProxyProtocol}} accept-proxy{{end}}
    http-request return status 204 hdr X-Sessionlab-Config {{.Generation}} if { path {{.ReadyPath}} }
    default_backend app

backend app
{{- if eq .Strategy "least-conn"}}
    balance leastconn
{{- else if eq .Strategy "ip-hash"}}
    balance source
    hash-type {{$s.HashType}}
{{- else}}
    balance roundrobin
{{- end}}
{{- if eq .Strategy "cookie-insert"}}
    cookie {{$s.CookieName}} insert indirect nocache httponly{{if $s.CookieMaxAge}} attr "Max-Age={{$s.CookieMaxAge}}"{{end}}
{{- else if eq .Strategy "client-ip-sticky"}}
    stick-table type {{$s.StickTable}} size 1m expire {{$s.StickExpire}}
    stick on src
{{- else if eq .Strategy "hash-cookie"}}
    stick-table type string len 128 size 1m expire {{$s.StickExpire}}
    stick on req.cook({{.AppCookie}})
    stick store-response res.cook({{.AppCookie}})
{{- end}}
{{- if $s.HealthCheck}}
    option httpchk GET {{$s.CheckPath}}
{{- end}}
    # Which replica answered, without the app's help: the harness maps the address back to its name.
    http-response set-header {{.UpstreamHeader}} %si:%sp
{{- range .Replicas}}
    server {{.Name}} {{.Addr}}{{if eq $.Strategy "cookie-insert"}} cookie {{.Name}}{{end}}{{if $s.HealthCheck}} check inter {{$s.CheckInter}} fall {{$s.CheckFall}} rise {{$s.CheckRise}}{{end}}
{{- end}}
`))
