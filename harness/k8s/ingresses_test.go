package k8s_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sessionlab/sessionlab/harness/k8s"
)

const traefikAnn = "traefik.ingress.kubernetes.io/service."

// jobArgs are the Job's pods' command line for rr-memory with sets, against target.
func jobArgs(target, attribution string, sets ...string) []string {
	return k8s.ShardArgs(target, "$(JOB_COMPLETION_INDEX)", 4, "/sessionlab/scenario.yaml", "/dev/stdout", "/tmp/report",
		"x-forwarded-for", attribution, sets)
}

// Each ingress, for cookie-insert and round-robin: what routes to the app, and where the Job's pods send the users.
func TestManifestsPerIngress(t *testing.T) {
	cookie := []string{"balancer.strategy=cookie-insert", "balancer.cookie={name: LB, max_age: 1h30m}"}
	sessionCookie := []string{"balancer.strategy=cookie-insert"}
	rr := []string{"balancer.strategy=round-robin"}

	t.Run("ingress-nginx cookie-insert", func(t *testing.T) {
		o, err := manifestsWith(t, k8s.Options{Ingress: "ingress-nginx"}, cookie...)
		require.NoError(t, err)
		require.Len(t, o.ingresses, 1)
		assert.Equal(t, "nginx", *o.ingresses[0].Spec.IngressClassName)
		assert.Equal(t, "persistent", o.ingresses[0].Annotations["nginx.ingress.kubernetes.io/affinity-mode"])
		assert.Equal(t, "5400", o.ingresses[0].Annotations["nginx.ingress.kubernetes.io/session-cookie-max-age"])
		assert.Empty(t, o.services["rr-memory-app"].Annotations)
		assert.Empty(t, o.gateways)
		assert.Equal(t, jobArgs("http://ingress-nginx-controller.ingress-nginx.svc.cluster.local", "target.affinity_cookie=LB", cookie...),
			o.jobs[0].Spec.Template.Spec.Containers[0].Args)
		def, err := manifests(t, cookie...)
		require.NoError(t, err)
		assert.Equal(t, def.text, o.text, "ingress-nginx is the default")
	})
	t.Run("ingress-nginx round-robin", func(t *testing.T) {
		o, err := manifestsWith(t, k8s.Options{Ingress: "ingress-nginx"}, rr...)
		require.NoError(t, err)
		require.Len(t, o.ingresses, 1)
		assert.Equal(t, map[string]string{"nginx.ingress.kubernetes.io/load-balance": "round_robin"}, o.ingresses[0].Annotations)
	})

	t.Run("traefik cookie-insert", func(t *testing.T) {
		o, err := manifestsWith(t, k8s.Options{Ingress: "traefik"}, cookie...)
		require.NoError(t, err)
		require.Len(t, o.ingresses, 1)
		ing := o.ingresses[0]
		assert.Equal(t, "traefik", *ing.Spec.IngressClassName)
		assert.Empty(t, ing.Annotations, "Traefik reads the strategy from the Service")
		assert.Equal(t, "rr-memory-app", ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name)
		assert.Equal(t, map[string]string{traefikAnn + "sticky.cookie": "true", traefikAnn + "sticky.cookie.name": "LB",
			traefikAnn + "sticky.cookie.httponly": "true", traefikAnn + "sticky.cookie.maxage": "5400"},
			o.services["rr-memory-app"].Annotations)
		assert.Empty(t, o.services["rr-memory-app"].Spec.SessionAffinity)
		assert.Contains(t, o.text, "# Traefik's Kubernetes Ingress provider (v3.6) reads the strategy from the app Service's annotations")
		assert.Equal(t, jobArgs("http://traefik.kube-system.svc.cluster.local", "target.affinity_cookie=LB", cookie...),
			o.jobs[0].Spec.Template.Spec.Containers[0].Args)
	})
	t.Run("traefik cookie-insert, a session cookie", func(t *testing.T) {
		o, err := manifestsWith(t, k8s.Options{Ingress: "traefik", IngressClass: "traefik-internal", IngressURL: "http://traefik.traefik"}, sessionCookie...)
		require.NoError(t, err)
		assert.Equal(t, "traefik-internal", *o.ingresses[0].Spec.IngressClassName)
		assert.Equal(t, map[string]string{traefikAnn + "sticky.cookie": "true", traefikAnn + "sticky.cookie.name": "INGRESSCOOKIE",
			traefikAnn + "sticky.cookie.httponly": "true"}, o.services["rr-memory-app"].Annotations,
			"the scenario's default cookie name, always given: Traefik's own default hashes a service name the Job cannot know")
		assert.Equal(t, "http://traefik.traefik", o.jobs[0].Spec.Template.Spec.Containers[0].Args[2])
	})
	t.Run("traefik round-robin", func(t *testing.T) {
		o, err := manifestsWith(t, k8s.Options{Ingress: "traefik"}, rr...)
		require.NoError(t, err)
		require.Len(t, o.ingresses, 1)
		assert.Equal(t, "traefik", *o.ingresses[0].Spec.IngressClassName)
		assert.Empty(t, o.ingresses[0].Annotations)
		assert.Empty(t, o.services["rr-memory-app"].Annotations, "wrr, Traefik's default")
		assert.Equal(t, jobArgs("http://traefik.kube-system.svc.cluster.local", "target.replica_header=X-Replica", rr...),
			o.jobs[0].Spec.Template.Spec.Containers[0].Args)
	})

	t.Run("gateway-api cookie-insert", func(t *testing.T) {
		o, err := manifestsWith(t, k8s.Options{Ingress: "gateway-api", GatewayClass: "eg"}, cookie...)
		require.NoError(t, err)
		assert.Empty(t, o.ingresses)
		assert.Empty(t, o.services["rr-memory-app"].Annotations)
		require.Len(t, o.gateways, 1)
		gw := o.gateways[0]
		assert.Equal(t, "rr-memory-gateway", gw.Name)
		assert.Equal(t, gatewayv1.ObjectName("eg"), gw.Spec.GatewayClassName)
		require.Len(t, gw.Spec.Listeners, 1)
		assert.Equal(t, gatewayv1.PortNumber(80), gw.Spec.Listeners[0].Port)
		assert.Equal(t, gatewayv1.HTTPProtocolType, gw.Spec.Listeners[0].Protocol)
		require.Len(t, o.httpRoutes, 1)
		route := o.httpRoutes[0]
		assert.Equal(t, gatewayv1.ObjectName("rr-memory-gateway"), route.Spec.ParentRefs[0].Name)
		require.Len(t, route.Spec.Rules, 1)
		rule := route.Spec.Rules[0]
		assert.Equal(t, gatewayv1.PathMatchPathPrefix, *rule.Matches[0].Path.Type)
		assert.Equal(t, "/", *rule.Matches[0].Path.Value)
		assert.Equal(t, gatewayv1.ObjectName("rr-memory-app"), rule.BackendRefs[0].Name)
		assert.Equal(t, gatewayv1.PortNumber(80), *rule.BackendRefs[0].Port)
		permanent, typ, name, timeout := gatewayv1.PermanentCookieLifetimeType, gatewayv1.CookieBasedSessionPersistence, "LB", gatewayv1.Duration("1h30m")
		assert.Equal(t, &gatewayv1.SessionPersistence{SessionName: &name, Type: &typ, AbsoluteTimeout: &timeout,
			CookieConfig: &gatewayv1.CookieConfig{LifetimeType: &permanent}}, rule.SessionPersistence)
		assert.Contains(t, o.text, "# sessionPersistence is in the Gateway API's experimental channel: install its experimental CRDs")
		assert.Contains(t, o.text, "Envoy Gateway, NGINX Gateway Fabric (NGINX Plus only) and kgateway")
		assert.NotContains(t, o.text, "REPLACE-ME", "the class was given")
		assert.Equal(t, jobArgs("http://rr-memory-gateway", "target.affinity_cookie=LB", cookie...),
			o.jobs[0].Spec.Template.Spec.Containers[0].Args)
	})
	t.Run("gateway-api cookie-insert, a session cookie", func(t *testing.T) {
		o, err := manifestsWith(t, k8s.Options{Ingress: "gateway-api", IngressURL: "http://gw.envoy-gateway-system"}, sessionCookie...)
		require.NoError(t, err)
		require.Len(t, o.gateways, 1)
		assert.Equal(t, gatewayv1.ObjectName("REPLACE-ME"), o.gateways[0].Spec.GatewayClassName)
		assert.Contains(t, o.text, "# gatewayClassName REPLACE-ME is a placeholder: set your cluster's GatewayClass")
		session, typ, name := gatewayv1.SessionCookieLifetimeType, gatewayv1.CookieBasedSessionPersistence, "INGRESSCOOKIE"
		assert.Equal(t, &gatewayv1.SessionPersistence{SessionName: &name, Type: &typ,
			CookieConfig: &gatewayv1.CookieConfig{LifetimeType: &session}}, o.httpRoutes[0].Spec.Rules[0].SessionPersistence)
		assert.Equal(t, "http://gw.envoy-gateway-system", o.jobs[0].Spec.Template.Spec.Containers[0].Args[2])
	})
	t.Run("gateway-api round-robin", func(t *testing.T) {
		o, err := manifestsWith(t, k8s.Options{Ingress: "gateway-api"}, rr...)
		require.NoError(t, err)
		require.Len(t, o.httpRoutes, 1)
		assert.Nil(t, o.httpRoutes[0].Spec.Rules[0].SessionPersistence)
		assert.Contains(t, o.text, "# No sessionPersistence: the implementation balances by its own default")
		assert.Equal(t, jobArgs("http://rr-memory-gateway", "target.replica_header=X-Replica", rr...),
			o.jobs[0].Spec.Template.Spec.Containers[0].Args)
	})
}

// An address hash has no Gateway API form, consistent or not: it is refused by name, with what to use instead.
func TestGatewayAPIRefusesAnAddressHash(t *testing.T) {
	for _, hash := range []string{"map-based", "consistent"} {
		_, err := manifestsWith(t, k8s.Options{Ingress: "gateway-api"}, "balancer.strategy=ip-hash", "balancer.hash_type="+hash)
		require.Error(t, err, hash)
		assert.ErrorContains(t, err, "strategy ip-hash has no Gateway API form: the standard API cannot say an address hash", hash)
		assert.ErrorContains(t, err, "use cookie-insert (the route rule's sessionPersistence), or your implementation's own policy", hash)
	}
}

// What Traefik's Ingress provider or the Gateway API cannot say is refused by name, with what to use instead.
func TestManifestsRefusePerIngress(t *testing.T) {
	cases := []struct {
		ingress string
		sets    []string
		want    string
	}{
		{"traefik", []string{"balancer.strategy=ip-hash", "balancer.hash_type=consistent"}, "strategy ip-hash has no Traefik Ingress form: Traefik's hrw (rendezvous hashing of the client address) is set only by an IngressRoute's or a TraefikService's strategy"},
		{"traefik", []string{"balancer.strategy=least-conn"}, "strategy least-conn has no Traefik form: Traefik counts no connections"},
		{"traefik", []string{"balancer.strategy=hash-cookie"}, "strategy hash-cookie has no Traefik form: Traefik hashes no cookie"},
		{"traefik", []string{"balancer.strategy=learn-cookie", "balancer.kind=haproxy"}, "strategy learn-cookie has no Traefik form"},
		{"traefik", []string{"balancer.strategy=cookie-balanced"}, "strategy cookie-balanced has no Traefik form"},
		{"traefik", []string{"balancer.strategy=client-ip-sticky", "balancer.kind=haproxy"}, "strategy client-ip-sticky has no Traefik form"},
		{"traefik", []string{"balancer.strategy=cookie-insert", "balancer.cookie={change_on_failure: true}"}, "balancer.cookie.change_on_failure: Traefik retries no sticky request on another server"},
		{"gateway-api", []string{"balancer.strategy=hash-cookie"}, "strategy hash-cookie has no Gateway API form: the standard API cannot say a hash of the app's cookie"},
		{"gateway-api", []string{"balancer.strategy=learn-cookie", "balancer.kind=haproxy"}, "strategy learn-cookie has no Gateway API form: the standard API cannot say a table the balancer keeps"},
		{"gateway-api", []string{"balancer.strategy=cookie-balanced"}, "strategy cookie-balanced has no Gateway API form"},
		{"gateway-api", []string{"balancer.strategy=client-ip-sticky", "balancer.kind=haproxy"}, "strategy client-ip-sticky has no Gateway API form: the standard API cannot say a table the balancer keeps of client addresses"},
		{"gateway-api", []string{"balancer.strategy=least-conn"}, "strategy least-conn has no Gateway API form: the standard API names no balancing algorithm"},
		{"gateway-api", []string{"balancer.strategy=cookie-insert", "balancer.cookie={change_on_failure: true}"}, "balancer.cookie.change_on_failure: the Gateway API's sessionPersistence says nothing"},
		{"haproxy-ingress", nil, `ingress "haproxy-ingress": want ingress-nginx, traefik or gateway-api`},
	}
	for _, c := range cases {
		name := c.ingress + " " + strings.Join(c.sets, " ")
		_, err := manifestsWith(t, k8s.Options{Ingress: c.ingress}, c.sets...)
		assert.ErrorContains(t, err, c.want, name)
	}
	_, err := manifestsWith(t, k8s.Options{Ingress: "traefik", GatewayClass: "eg"})
	assert.ErrorContains(t, err, "gateway class eg: ingress traefik writes an Ingress, not a Gateway")
	_, err = manifestsWith(t, k8s.Options{Ingress: "gateway-api", IngressClass: "nginx"})
	assert.ErrorContains(t, err, "ingress class nginx: ingress gateway-api writes a Gateway, not an Ingress")
}
