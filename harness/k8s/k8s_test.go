package k8s_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/sessionlab/sessionlab/harness/k8s"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

// objects are the manifests, each decoded strictly (an unknown or misspelt field is an error) into its API type.
type objects struct {
	configMaps  []corev1.ConfigMap
	secrets     []corev1.Secret
	deployments map[string]appsv1.Deployment
	services    map[string]corev1.Service
	ingresses   []networkingv1.Ingress
	gateways    []gatewayv1.Gateway
	httpRoutes  []gatewayv1.HTTPRoute
	jobs        []batchv1.Job
	text        string // the YAML stream, comments and all
}

func manifests(t *testing.T, sets ...string) (objects, error) {
	t.Helper()
	return manifestsWith(t, k8s.Options{}, sets...)
}

// manifestsWith writes the manifests of rr-memory with sets, with o's fields besides the shards, scenario and sets.
func manifestsWith(t *testing.T, opts k8s.Options, sets ...string) (objects, error) {
	t.Helper()
	s, err := scenario.Load("../../scenarios/rr-memory.yaml", sets...)
	require.NoError(t, err)
	opts.Shards, opts.Scenario, opts.Sets = 4, []byte("name: rr-memory\n"), sets
	text, err := k8s.Manifests(s, opts)
	if err != nil {
		return objects{}, err
	}
	o := objects{deployments: map[string]appsv1.Deployment{}, services: map[string]corev1.Service{}, text: string(text)}
	for _, doc := range bytes.Split(text, []byte("---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct{ Kind string }
		require.NoError(t, yaml.Unmarshal(doc, &head))
		switch head.Kind {
		case "ConfigMap":
			o.configMaps = append(o.configMaps, strict[corev1.ConfigMap](t, doc))
		case "Secret":
			o.secrets = append(o.secrets, strict[corev1.Secret](t, doc))
		case "Deployment":
			d := strict[appsv1.Deployment](t, doc)
			o.deployments[d.Name] = d
		case "Service":
			svc := strict[corev1.Service](t, doc)
			o.services[svc.Name] = svc
		case "Ingress":
			o.ingresses = append(o.ingresses, strict[networkingv1.Ingress](t, doc))
		case "Gateway":
			o.gateways = append(o.gateways, strict[gatewayv1.Gateway](t, doc))
		case "HTTPRoute":
			o.httpRoutes = append(o.httpRoutes, strict[gatewayv1.HTTPRoute](t, doc))
		case "Job":
			o.jobs = append(o.jobs, strict[batchv1.Job](t, doc))
		default:
			t.Fatalf("unexpected kind %q", head.Kind)
		}
	}
	return o, nil
}

// strict decodes doc into its API type, refusing unknown fields.
func strict[T any](t *testing.T, doc []byte) T {
	t.Helper()
	var v T
	require.NoError(t, yaml.UnmarshalStrict(doc, &v), "%s", doc)
	return v
}

func TestManifestsPerStrategy(t *testing.T) {
	const a = "nginx.ingress.kubernetes.io/"
	cases := []struct {
		sets        []string
		annotations map[string]string
		attribution string
	}{
		{[]string{"balancer.strategy=round-robin"}, map[string]string{a + "load-balance": "round_robin"}, "target.replica_header=X-Replica"},
		{[]string{"balancer.strategy=ip-hash", "balancer.hash_type=consistent"}, map[string]string{a + "upstream-hash-by": "$remote_addr"}, "target.replica_header=X-Replica"},
		{[]string{"balancer.strategy=hash-cookie"}, map[string]string{a + "upstream-hash-by": "$cookie_sid"}, "target.replica_header=X-Replica"},
		{[]string{"balancer.strategy=cookie-insert", "balancer.cookie={name: INGRESSCOOKIE, max_age: 1h}"}, map[string]string{a + "affinity": "cookie",
			a + "affinity-mode": "persistent", a + "session-cookie-name": "INGRESSCOOKIE", a + "session-cookie-max-age": "3600",
			a + "session-cookie-change-on-failure": "false"}, "target.affinity_cookie=INGRESSCOOKIE"},
		{[]string{"balancer.strategy=cookie-balanced", "balancer.cookie={change_on_failure: true}"}, map[string]string{a + "affinity": "cookie",
			a + "affinity-mode": "balanced", a + "session-cookie-name": "INGRESSCOOKIE", a + "session-cookie-change-on-failure": "true"},
			"target.affinity_cookie=INGRESSCOOKIE"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.sets, " "), func(t *testing.T) {
			o, err := manifests(t, c.sets...)
			require.NoError(t, err)
			require.Len(t, o.ingresses, 1)
			assert.Equal(t, c.annotations, o.ingresses[0].Annotations)
			assert.Equal(t, "rr-memory-app", o.ingresses[0].Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name)
			app := o.deployments["rr-memory-app"]
			assert.Equal(t, int32(3), *app.Spec.Replicas)
			ctr := app.Spec.Template.Spec.Containers[0]
			assert.Contains(t, strings.Join(ctr.Args, " "), "-name $(POD_NAME)", "each pod names itself")
			assert.Contains(t, strings.Join(ctr.Args, " "), "-secret $(SESSIONLAB_SECRET)")
			assert.Empty(t, o.services["rr-memory-app"].Spec.SessionAffinity)
			require.Len(t, o.jobs, 1)
			job := o.jobs[0]
			assert.Equal(t, batchv1.IndexedCompletion, *job.Spec.CompletionMode)
			assert.Equal(t, int32(4), *job.Spec.Parallelism)
			assert.Equal(t, int32(4), *job.Spec.Completions)
			args := k8s.ShardArgs("http://ingress-nginx-controller.ingress-nginx.svc.cluster.local", "$(JOB_COMPLETION_INDEX)", 4, "/sessionlab/scenario.yaml",
				"/dev/stdout", "/tmp/report", "x-forwarded-for", c.attribution, c.sets)
			assert.Equal(t, args, job.Spec.Template.Spec.Containers[0].Args, "the Job's pods run the shard command line")
			assert.Empty(t, o.deployments["rr-memory-redis"].Name, "no Redis for memory sessions")
		})
	}
	t.Run("client-ip-sticky", func(t *testing.T) {
		o, err := manifests(t, "balancer.kind=haproxy", "balancer.strategy=client-ip-sticky", "balancer.stick_expire=10m")
		require.NoError(t, err)
		assert.Empty(t, o.ingresses, "ClientIP affinity holds only for traffic that reaches the Service itself")
		svc := o.services["rr-memory-app"]
		assert.Equal(t, corev1.ServiceAffinityClientIP, svc.Spec.SessionAffinity)
		assert.Equal(t, int32(600), *svc.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds)
		assert.Equal(t, "http://rr-memory-app", o.jobs[0].Spec.Template.Spec.Containers[0].Args[2], "the Job drives the Service")
	})
	t.Run("redis", func(t *testing.T) {
		o, err := manifests(t, "app.sessions=redis")
		require.NoError(t, err)
		assert.Equal(t, "sessionlab/redis:bookworm", o.deployments["rr-memory-redis"].Spec.Template.Spec.Containers[0].Image)
		assert.Contains(t, o.services, "rr-memory-redis")
		assert.Contains(t, strings.Join(o.deployments["rr-memory-app"].Spec.Template.Spec.Containers[0].Args, " "), "-redis rr-memory-redis:6379")
	})
	t.Run("your own image", func(t *testing.T) {
		o, err := manifests(t, `app.image={name: wakapi:local, port: 3000, env: {WAKAPI_COOKIE_KEY: "{{.Secret}}", WAKAPI_PORT: "{{.Port}}"}}`,
			"app.health={path: /api/health}")
		require.NoError(t, err)
		ctr := o.deployments["rr-memory-app"].Spec.Template.Spec.Containers[0]
		assert.Equal(t, "wakapi:local", ctr.Image)
		assert.Equal(t, "/api/health", ctr.ReadinessProbe.HTTPGet.Path)
		env := map[string]string{}
		for _, e := range ctr.Env {
			env[e.Name] = e.Value
		}
		assert.Equal(t, "$(SESSIONLAB_SECRET)", env["WAKAPI_COOKIE_KEY"], "one key for every pod, from the Secret")
		assert.Equal(t, "3000", env["WAKAPI_PORT"])
	})
}

// A strategy with no Kubernetes form, and what a Deployment cannot express, are refused by name.
func TestManifestsRefuse(t *testing.T) {
	for sets, want := range map[string]string{
		"balancer.strategy=least-conn":                       "strategy least-conn has no Kubernetes form",
		"balancer.strategy=ip-hash":                          "strategy ip-hash (map-based) has no Kubernetes form",
		"app.secret=per-replica":                             "app.secret per-replica: a Deployment's pods share one environment",
		"faults=[{at: 1s, action: kill, target: replica-1}]": "faults: the Job's pods drive the app in target mode",
		"target.url=http://staging.example":                  "the scenario names a live target",
		"clients.identity=bind":                              "clients.identity bind: the Job's pods cannot connect from the users' addresses",
	} {
		_, err := manifests(t, sets)
		assert.ErrorContains(t, err, want, sets)
	}
}

// A scenario written for a live target behind an ingress — its users' addresses in X-Forwarded-For, or none — is
// what the Job runs: its identity goes to the pods' command line; proxy-protocol (the default) gives x-forwarded-for.
func TestManifestsTakeTheIdentitiesThatReachAnIngress(t *testing.T) {
	for set, want := range map[string]string{
		"clients.identity=x-forwarded-for": "clients.identity=x-forwarded-for",
		"clients.identity=none":            "clients.identity=none",
		"clients.identity=proxy-protocol":  "clients.identity=x-forwarded-for",
	} {
		o, err := manifests(t, set)
		require.NoError(t, err, set)
		require.Len(t, o.jobs, 1)
		assert.Contains(t, o.jobs[0].Spec.Template.Spec.Containers[0].Args, want, set)
	}
}
