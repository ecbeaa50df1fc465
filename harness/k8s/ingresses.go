package k8s

import (
	"fmt"
	"strconv"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
)

// traefikAnn prefixes the Service annotations of Traefik's Kubernetes Ingress provider (v3.6,
// pkg/provider/kubernetes/ingress/annotations.go: ServiceIng, whose only balancing field is sticky).
const traefikAnn = "traefik.ingress.kubernetes.io/service."

// traefikComment heads the Ingress of class traefik.
const traefikComment = `Traefik's Kubernetes Ingress provider (v3.6) reads the strategy from the app Service's annotations
(traefik.ingress.kubernetes.io/service.sticky.cookie*); without them it balances wrr, its round-robin.
`

// traefikRouting maps a strategy to the Service annotations Traefik's Kubernetes Ingress provider reads, or refuses
// it by name. That provider sets no balancing strategy (hrw, p2c and leasttime are an IngressRoute's or a
// TraefikService's, from its CRD provider): it is always wrr, sticky or not.
func traefikRouting(t plan.Topology) (route, error) {
	s := t.Balancer.Settings
	switch t.Balancer.Strategy {
	case "round-robin":
		return route{}, nil
	case "cookie-insert":
		if s.ChangeOnFailure {
			return route{}, fmt.Errorf("balancer.cookie.change_on_failure: Traefik retries no sticky request on another server (its sticky cookie moves a user only once the pod leaves the Service's endpoints); leave change_on_failure false, or use --ingress ingress-nginx")
		}
		// The cookie is always named: Traefik's default name hashes its own service name, which the Job cannot know.
		a := map[string]string{traefikAnn + "sticky.cookie": "true", traefikAnn + "sticky.cookie.name": s.CookieName,
			traefikAnn + "sticky.cookie.httponly": "true"}
		if s.CookieMaxAge > 0 {
			a[traefikAnn+"sticky.cookie.maxage"] = strconv.Itoa(s.CookieMaxAge)
		}
		return route{serviceAnnotations: a, cookie: s.CookieName}, nil
	case "ip-hash":
		return route{}, fmt.Errorf("strategy ip-hash has no Traefik Ingress form: Traefik's hrw (rendezvous hashing of the client address) is set only by an IngressRoute's or a TraefikService's strategy, and its Kubernetes Ingress provider reads no strategy from a Service; use cookie-insert (its sticky cookie), or --ingress ingress-nginx (upstream-hash-by)")
	case "least-conn":
		return route{}, fmt.Errorf("strategy least-conn has no Traefik form: Traefik counts no connections (p2c takes the fewer in-flight requests of two random servers, leasttime the fastest), and its Kubernetes Ingress provider sets no strategy; use round-robin (wrr)")
	case "hash-cookie":
		return route{}, fmt.Errorf("strategy hash-cookie has no Traefik form: Traefik hashes no cookie (hrw hashes the client address); use cookie-insert (its sticky cookie)")
	case "learn-cookie":
		return route{}, fmt.Errorf("strategy learn-cookie has no Traefik form: Traefik cannot learn the app's cookie from an answer; use cookie-insert (its sticky cookie)")
	case "cookie-balanced":
		return route{}, fmt.Errorf("strategy cookie-balanced has no Traefik form: Traefik's sticky cookie names a server (a hash of its URL), not a key placed on a hash ring; use cookie-insert")
	case "client-ip-sticky":
		return route{}, fmt.Errorf("strategy client-ip-sticky has no Traefik form: Traefik keeps no table of client addresses; use cookie-insert, or --ingress ingress-nginx (the Service's ClientIP affinity, which holds only for traffic that bypasses the ingress)")
	}
	return route{}, fmt.Errorf("strategy %s has no Traefik form", t.Balancer.Strategy)
}

// gatewayClassPlaceholder is the Gateway's class until the user names theirs: no GatewayClass can be named so
// (names are lowercase), so no controller takes the Gateway.
const gatewayClassPlaceholder = "REPLACE-ME"

func gatewayName(name string) string { return name + "-gateway" }

// gatewayRouting maps a strategy to the HTTPRoute rule's sessionPersistence, or refuses it by name: the standard
// API says a cookie or a header that leads back to a backend, never an address hash, a hash of the app's cookie,
// or a table the balancer keeps.
func gatewayRouting(t plan.Topology) (route, error) {
	s := t.Balancer.Settings
	const instead = "use cookie-insert (the route rule's sessionPersistence), or your implementation's own policy"
	switch t.Balancer.Strategy {
	case "round-robin":
		return route{}, nil
	case "cookie-insert":
		if s.ChangeOnFailure {
			return route{}, fmt.Errorf("balancer.cookie.change_on_failure: the Gateway API's sessionPersistence says nothing of a request whose backend fails; leave change_on_failure false, or use --ingress ingress-nginx")
		}
		p := map[string]any{"type": "Cookie", "sessionName": s.CookieName, "cookieConfig": map[string]any{"lifetimeType": "Session"}}
		if s.CookieMaxAge > 0 {
			d, err := gatewayDuration(s.CookieMaxAge)
			if err != nil {
				return route{}, err
			}
			p["cookieConfig"] = map[string]any{"lifetimeType": "Permanent"}
			p["absoluteTimeout"] = d
		}
		return route{persistence: p, cookie: s.CookieName}, nil
	case "ip-hash":
		return route{}, fmt.Errorf("strategy ip-hash has no Gateway API form: the standard API cannot say an address hash; %s (Envoy Gateway: a BackendTrafficPolicy, loadBalancer type ConsistentHash on SourceIP)", instead)
	case "hash-cookie":
		return route{}, fmt.Errorf("strategy hash-cookie has no Gateway API form: the standard API cannot say a hash of the app's cookie; %s (Envoy Gateway: a BackendTrafficPolicy, loadBalancer type ConsistentHash on a Cookie)", instead)
	case "learn-cookie":
		return route{}, fmt.Errorf("strategy learn-cookie has no Gateway API form: the standard API cannot say a table the balancer keeps of the app's cookie; %s", instead)
	case "cookie-balanced":
		return route{}, fmt.Errorf("strategy cookie-balanced has no Gateway API form: the standard API cannot say a cookie placed by a consistent hash (its sessionPersistence cookie leads to one backend); %s", instead)
	case "client-ip-sticky":
		return route{}, fmt.Errorf("strategy client-ip-sticky has no Gateway API form: the standard API cannot say a table the balancer keeps of client addresses; %s, or --ingress ingress-nginx (the Service's ClientIP affinity)", instead)
	case "least-conn":
		return route{}, fmt.Errorf("strategy least-conn has no Gateway API form: the standard API names no balancing algorithm; use round-robin, or your implementation's own policy (Envoy Gateway: a BackendTrafficPolicy, loadBalancer type LeastRequest, its default)")
	}
	return route{}, fmt.Errorf("strategy %s has no Gateway API form", t.Balancer.Strategy)
}

// gatewayDuration writes seconds as a Gateway API Duration (GEP-2257: at most five digits a unit), such as 1h30m.
func gatewayDuration(seconds int) (string, error) {
	h, m, s := seconds/3600, seconds%3600/60, seconds%60
	if h > 99999 {
		return "", fmt.Errorf("balancer.cookie.max_age %ds: longer than a Gateway API Duration can say (99999h)", seconds)
	}
	d := ""
	for _, u := range []struct {
		n    int
		unit string
	}{{h, "h"}, {m, "m"}, {s, "s"}} {
		if u.n > 0 {
			d += strconv.Itoa(u.n) + u.unit
		}
	}
	return d, nil
}

// gateway is the Gateway of class o.GatewayClass that the HTTPRoute attaches to: one HTTP listener on port 80.
func gateway(name string, o Options) commented {
	comment := ""
	if o.GatewayClass == gatewayClassPlaceholder {
		comment = "gatewayClassName " + gatewayClassPlaceholder + " is a placeholder: set your cluster's GatewayClass (kubectl get gatewayclass),\n" +
			"or give sessionlab k8s --gateway-class.\n"
	}
	comment += "The Job's pods reach this Gateway at " + o.IngressURL + " (--ingress-url): set it to the Service your\n" +
		"implementation provisions for the Gateway (kubectl get gateway " + gatewayName(name) + " shows its address).\n"
	return commented{comment, obj{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": meta(gatewayName(name), nil),
		"spec": obj{"gatewayClassName": o.GatewayClass, "listeners": []any{obj{"name": "http", "port": 80, "protocol": "HTTP"}}}}}
}

// httpRoute routes every path on the Gateway to the app's Service, with the strategy's sessionPersistence.
func httpRoute(name string, r route) commented {
	rule := obj{"matches": []any{obj{"path": obj{"type": "PathPrefix", "value": "/"}}},
		"backendRefs": []any{obj{"name": name + "-app", "port": 80}}}
	comment := "No sessionPersistence: the implementation balances by its own default, not necessarily round-robin\n" +
		"(Envoy Gateway's is LeastRequest).\n"
	if r.persistence != nil {
		rule["sessionPersistence"] = r.persistence
		comment = "sessionPersistence is in the Gateway API's experimental channel: install its experimental CRDs (the standard\n" +
			"ones do not have the field). Honoured by Envoy Gateway, NGINX Gateway Fabric (NGINX Plus only) and kgateway;\n" +
			"not by Istio or Traefik.\n"
	}
	return commented{comment, obj{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta(name+"-app", nil),
		"spec": obj{"parentRefs": []any{obj{"name": gatewayName(name)}}, "rules": []any{rule}}}}
}
