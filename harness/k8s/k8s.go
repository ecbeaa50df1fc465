// Package k8s writes the Kubernetes manifests that run a scenario on a cluster: the app's replicas (a Deployment of
// app.image, or of the fakeapp image), a Service, what routes to it with the strategy (an Ingress with ingress-nginx's
// annotations, an Ingress of class traefik with the Service annotations Traefik reads, a Gateway API Gateway and
// HTTPRoute, or a Service with ClientIP affinity), Redis when sessions live there, the scenario as a ConfigMap, and
// an Indexed Job whose pods run sessionlab in target mode, each on its own shard of the users. It starts nothing and
// needs no cluster: the manifests are YAML the user applies.
package k8s

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"

	"github.com/sessionlab/sessionlab/harness/scenario"

	"go.yaml.in/yaml/v3"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
)

// Options are what the manifests need besides the plan.
type Options struct {
	Shards      int    // pods of the Job, each running one shard; default 1
	Scenario    []byte // the scenario file, as the Job's pods read it
	Sets        []string
	AppImage    string // the fakeapp image, for the built-in app; default sessionlab/fakeapp:dev
	RedisImage  string // default sessionlab/redis:bookworm
	RunnerImage string // the sessionlab image the Job runs; default sessionlab/sessionlab:dev
	IngressURL  string // where the Job's pods reach the ingress controller; default ingress-nginx's Service
	// Identity is how users' addresses reach the ingress: x-forwarded-for, none or proxy-protocol; default the
	// scenario's clients.identity when it is x-forwarded-for or none, else x-forwarded-for (the controller's
	// use-forwarded-headers). bind is refused: a pod cannot connect from the users' addresses.
	Identity string
	// Ingress is what routes the users to the app: ingress-nginx (an Ingress with its annotations; the default),
	// traefik (an Ingress of class traefik, the strategy in the app Service's annotations that Traefik's Kubernetes
	// Ingress provider reads) or gateway-api (a Gateway and an HTTPRoute; cookie-insert is the route rule's
	// experimental sessionPersistence). A strategy the ingress cannot express is refused by name.
	Ingress      string
	IngressClass string // the Ingress's ingressClassName; default nginx, or traefik with Ingress traefik
	// GatewayClass is the Gateway's gatewayClassName (Ingress gateway-api): the cluster's GatewayClass; default
	// REPLACE-ME, a placeholder no GatewayClass is named (the manifests say so).
	GatewayClass string
}

// The ingresses Options.Ingress names.
const (
	ingressNGINX = "ingress-nginx"
	traefik      = "traefik"
	gatewayAPI   = "gateway-api"
)

func (o *Options) defaults(name string) error {
	o.Shards = max(o.Shards, 1)
	o.AppImage = or(o.AppImage, "sessionlab/fakeapp:dev")
	o.RedisImage = or(o.RedisImage, "sessionlab/redis:bookworm")
	o.RunnerImage = or(o.RunnerImage, "sessionlab/sessionlab:dev")
	o.Ingress = or(o.Ingress, ingressNGINX)
	switch o.Ingress {
	case ingressNGINX, traefik:
		if o.GatewayClass != "" {
			return fmt.Errorf("gateway class %s: ingress %s writes an Ingress, not a Gateway; give an ingress class, or ingress gateway-api", o.GatewayClass, o.Ingress)
		}
	case gatewayAPI:
		if o.IngressClass != "" {
			return fmt.Errorf("ingress class %s: ingress gateway-api writes a Gateway, not an Ingress; give a gateway class", o.IngressClass)
		}
	default:
		return fmt.Errorf("ingress %q: want ingress-nginx, traefik or gateway-api", o.Ingress)
	}
	switch o.Ingress {
	case ingressNGINX:
		o.IngressURL = or(o.IngressURL, "http://ingress-nginx-controller.ingress-nginx.svc.cluster.local")
		o.IngressClass = or(o.IngressClass, "nginx")
	case traefik:
		o.IngressURL = or(o.IngressURL, "http://traefik.kube-system.svc.cluster.local") // k3s's Traefik
		o.IngressClass = or(o.IngressClass, "traefik")
	case gatewayAPI:
		o.IngressURL = or(o.IngressURL, "http://"+gatewayName(name)) // a placeholder: the implementation names the Service
		o.GatewayClass = or(o.GatewayClass, gatewayClassPlaceholder)
	}
	return nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

const (
	// scenarioPath is where the Job's pods find the scenario (the ConfigMap).
	scenarioPath = "/sessionlab/scenario.yaml"
	// shardIndex is the Job's completion index, as the pod's command line reads it.
	shardIndex = "$(JOB_COMPLETION_INDEX)"
)

// ShardArgs is the command line (after the program's name) that runs shard index of count against target: a
// target-mode run of the scenario at scenario, writing its event log to events and its report, as JSON, to dir, and
// nothing else to stdout. The Job's pods run it with index shardIndex, events /dev/stdout (so that a pod's log is
// its shard's log: `kubectl logs`) and dir /tmp/report.
func ShardArgs(target, index string, count int, scenario, events, dir, identity, attribution string, sets []string) []string {
	args := []string{"run", "--target", target, "--shard", index + "/" + strconv.Itoa(count), "--quiet",
		"--events", events, "--format", "json", "--out", dir, "--set", "clients.identity=" + identity}
	if attribution != "" {
		args = append(args, "--set", attribution)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return append(args, scenario)
}

// Manifests writes every manifest of the scenario s, as one YAML stream.
func Manifests(s *scenario.Scenario, o Options) ([]byte, error) {
	p, err := plan.Compile(s)
	if err != nil {
		return nil, err
	}
	t := p.Topology
	if err := o.defaults(t.Name); err != nil {
		return nil, err
	}
	if t.Target != nil {
		return nil, fmt.Errorf("the scenario names a live target (%s): the manifests start the app themselves", t.Target.URL)
	}
	if len(p.Faults) > 0 {
		return nil, fmt.Errorf("faults: the Job's pods drive the app in target mode, which has no faults; remove them")
	}
	if o.Identity == "" {
		o.Identity = vocab.IdentityForwardedFor
		if id := s.Clients.Identity; id == vocab.IdentityNone || id == vocab.IdentityForwardedFor {
			o.Identity = id
		}
	}
	if t.Bind() || o.Identity == vocab.IdentityBind {
		return nil, fmt.Errorf("clients.identity bind: the Job's pods cannot connect from the users' addresses (bind connects from loopback addresses of this machine); use x-forwarded-for or proxy-protocol")
	}
	route, err := routing(t, o.Ingress)
	if err != nil {
		return nil, err
	}
	app, err := appContainer(t, o)
	if err != nil {
		return nil, err
	}
	name := t.Name
	var docs []any
	docs = append(docs, configMap(name+"-scenario", map[string]string{"scenario.yaml": string(o.Scenario)}))
	docs = append(docs, secret(name+"-secret", map[string]string{"secret": plan.DerivedSecret(t.Seed, "shared")}))
	if t.App.NeedsStore() {
		docs = append(docs, deployment(name+"-redis", 1, container{name: "redis", image: o.RedisImage, port: 6379,
			args: append([]string{"redis-server"}, "--protected-mode", "no", "--save", "", "--appendonly", "no")}),
			service(name+"-redis", name+"-redis", 6379, 6379, nil, nil))
	}
	docs = append(docs, deployment(name+"-app", len(t.Replicas), app),
		service(name+"-app", name+"-app", 80, app.port, route.service, route.serviceAnnotations))
	target := o.IngressURL
	switch {
	case route.direct:
		target = "http://" + name + "-app" // ClientIP affinity holds only for traffic that reaches the Service itself
	case o.Ingress == gatewayAPI:
		docs = append(docs, gateway(name, o), httpRoute(name, route))
	case o.Ingress == traefik:
		docs = append(docs, commented{traefikComment, ingress(name+"-app", o.IngressClass, name+"-app", route.annotations)})
	default:
		docs = append(docs, ingress(name+"-app", o.IngressClass, name+"-app", route.annotations))
	}
	attribution := ""
	switch {
	case route.cookie != "":
		attribution = "target.affinity_cookie=" + route.cookie
	case t.Own == nil:
		attribution = "target.replica_header=X-Replica" // the fakeapp names its pod
	}
	docs = append(docs, job(name+"-users", o, ShardArgs(target, shardIndex, o.Shards, scenarioPath, "/dev/stdout", "/tmp/report", o.Identity, attribution, o.Sets), name+"-scenario"))
	var buf bytes.Buffer
	for _, d := range docs {
		buf.WriteString("---\n")
		if c, ok := d.(commented); ok {
			for line := range strings.Lines(c.comment) {
				buf.WriteString("# " + line)
			}
			d = c.obj
		}
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// commented is a manifest written after a YAML comment, one line of the comment per line of its text.
type commented struct {
	comment string
	obj     obj
}

// route is how the strategy is expressed: the Ingress's annotations, the app Service's (Traefik reads them there),
// the HTTPRoute's sessionPersistence, or the Service's ClientIP affinity.
type route struct {
	direct             bool              // no Ingress or Gateway: the Job drives the Service
	annotations        map[string]string // the Ingress's
	serviceAnnotations map[string]string // the app Service's
	service            map[string]any    // added to the Service's spec
	persistence        map[string]any    // the HTTPRoute rule's sessionPersistence; nil for none
	cookie             string            // the affinity cookie, which names the replica (persistent mode)
}

const ann = "nginx.ingress.kubernetes.io/"

// routing maps a strategy to its form on the ingress, or refuses it by name.
func routing(t plan.Topology, ingress string) (route, error) {
	switch ingress {
	case traefik:
		return traefikRouting(t)
	case gatewayAPI:
		return gatewayRouting(t)
	}
	return nginxRouting(t)
}

// nginxRouting maps a strategy to ingress-nginx's annotations, or the Service's ClientIP affinity.
func nginxRouting(t plan.Topology) (route, error) {
	s := t.Balancer.Settings
	switch t.Balancer.Strategy {
	case "round-robin":
		return route{annotations: map[string]string{ann + "load-balance": "round_robin"}}, nil
	case "ip-hash":
		if s.HashType != "consistent" {
			return route{}, fmt.Errorf("strategy ip-hash (map-based) has no Kubernetes form: ingress-nginx hashes the whole address consistently (upstream-hash-by: $remote_addr), not its /24; set balancer.hash_type: consistent")
		}
		return route{annotations: map[string]string{ann + "upstream-hash-by": "$remote_addr"}}, nil
	case "hash-cookie":
		cookie := "sid"
		if len(t.Replicas) > 0 {
			cookie = t.Replicas[0].CookieName
		}
		return route{annotations: map[string]string{ann + "upstream-hash-by": "$cookie_" + cookie}}, nil
	case "cookie-insert", "cookie-balanced":
		mode := map[string]string{"cookie-insert": "persistent", "cookie-balanced": "balanced"}[t.Balancer.Strategy]
		a := map[string]string{ann + "affinity": "cookie", ann + "affinity-mode": mode, ann + "session-cookie-name": s.CookieName,
			ann + "session-cookie-change-on-failure": strconv.FormatBool(s.ChangeOnFailure)}
		if s.CookieMaxAge > 0 {
			a[ann+"session-cookie-max-age"] = strconv.Itoa(s.CookieMaxAge)
		}
		return route{annotations: a, cookie: s.CookieName}, nil
	case "client-ip-sticky":
		timeout, _ := strconv.Atoi(strings.TrimSuffix(s.StickExpire, "s"))
		return route{direct: true, service: map[string]any{"sessionAffinity": "ClientIP",
			"sessionAffinityConfig": map[string]any{"clientIP": map[string]any{"timeoutSeconds": timeout}}}}, nil
	case "learn-cookie":
		return route{}, fmt.Errorf("strategy learn-cookie has no Kubernetes form: ingress-nginx cannot learn the app's cookie from an answer; hash-cookie (upstream-hash-by) or cookie-insert (affinity: cookie)")
	case "least-conn":
		return route{}, fmt.Errorf("strategy least-conn has no Kubernetes form: ingress-nginx balances round_robin or ewma, never by connection count")
	}
	return route{}, fmt.Errorf("strategy %s has no Kubernetes form", t.Balancer.Strategy)
}
