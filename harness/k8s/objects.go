package k8s

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
)

// The manifests are plain maps in the shape of the Kubernetes API objects: the binary links no Kubernetes library
// (the tests decode them strictly into the API types).

type obj = map[string]any

// container is what a Deployment runs.
type container struct {
	name   string
	image  string
	port   int
	args   []string
	env    map[string]string
	health string // readiness path; "" for none
}

// appContainer is the replicas' container: the fakeapp image with its command line, or the user's app.image, each
// replica told its pod's name.
func appContainer(t plan.Topology, o Options) (container, error) {
	switch {
	case t.SecretPerReplica:
		return container{}, fmt.Errorf("app.secret per-replica: a Deployment's pods share one environment; for an app that makes up its own key, leave the key out of app.image.env and use app.secret: shared")
	case t.CookiePerReplica:
		return container{}, fmt.Errorf("app.cookie_name per-replica: a Deployment's pods share one command line")
	case t.App.NeedsIdP():
		return container{}, fmt.Errorf("app.login sso: the identity provider the users' browsers reach is not in the manifests")
	}
	store := ""
	if t.App.NeedsStore() {
		store = t.Name + "-redis:6379"
	}
	pod := plan.ReplicaSpec{Name: "$(POD_NAME)", CookieName: "sid", Secret: "$(SESSIONLAB_SECRET)"}
	if t.SessionCookie != "" {
		pod.CookieName = t.SessionCookie
	}
	if t.Own == nil {
		return container{name: "app", image: o.AppImage, port: 8080, health: "/healthz",
			args: t.FakeAppArgs(pod, "0.0.0.0:8080", store, "")}, nil
	}
	if t.Own.Image == nil {
		return container{}, fmt.Errorf("app.command: a cluster runs images; give app.image")
	}
	port := t.Own.Image.Port
	v := vocab.AppVars{Name: pod.Name, Host: "0.0.0.0", Port: port, Addr: "0.0.0.0:" + strconv.Itoa(port), DataDir: "/sessionlab/data",
		SharedDir: "/sessionlab/shared", Secret: pod.Secret, Store: store, Users: t.Users, Seed: t.Seed}
	args, env, err := t.Own.ContainerCommand(v)
	if err != nil {
		return container{}, err
	}
	return container{name: "app", image: t.Own.Image.Name, port: port, args: args, env: env, health: t.Own.Health.Path}, nil
}

func meta(name string, labels map[string]string) obj {
	m := obj{"name": name}
	if labels != nil {
		m["labels"] = labels
	}
	return m
}

func configMap(name string, data map[string]string) obj {
	return obj{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, nil), "data": data}
}

func secret(name string, data map[string]string) obj {
	return obj{"apiVersion": "v1", "kind": "Secret", "metadata": meta(name, nil), "type": "Opaque", "stringData": data}
}

func deployment(name string, replicas int, c container) obj {
	labels := map[string]string{"app.kubernetes.io/name": name}
	env := []any{
		obj{"name": "POD_NAME", "valueFrom": obj{"fieldRef": obj{"fieldPath": "metadata.name"}}},
	}
	if c.name == "app" {
		env = append(env, obj{"name": "SESSIONLAB_SECRET", "valueFrom": obj{"secretKeyRef": obj{"name": secretName(name), "key": "secret"}}})
	}
	for _, k := range slices.Sorted(maps.Keys(c.env)) {
		env = append(env, obj{"name": k, "value": c.env[k]})
	}
	ctr := obj{"name": c.name, "image": c.image, "env": env, "ports": []any{obj{"containerPort": c.port}}}
	if len(c.args) > 0 {
		ctr["args"] = c.args
	}
	if c.health != "" {
		ctr["readinessProbe"] = obj{"httpGet": obj{"path": c.health, "port": c.port}, "periodSeconds": 2}
	}
	return obj{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, labels),
		"spec": obj{"replicas": replicas, "selector": obj{"matchLabels": labels},
			"template": obj{"metadata": obj{"labels": labels}, "spec": obj{"containers": []any{ctr}}}}}
}

// secretName is the run's Secret, named from the app's Deployment (NAME-app -> NAME-secret).
func secretName(deployment string) string {
	return deployment[:len(deployment)-len("-app")] + "-secret"
}

func service(name, selects string, port, targetPort int, extra map[string]any, annotations map[string]string) obj {
	spec := obj{"selector": map[string]string{"app.kubernetes.io/name": selects},
		"ports": []any{obj{"port": port, "targetPort": targetPort}}}
	for k, v := range extra {
		spec[k] = v
	}
	m := meta(name, nil)
	if len(annotations) > 0 {
		m["annotations"] = annotations
	}
	return obj{"apiVersion": "v1", "kind": "Service", "metadata": m, "spec": spec}
}

func ingress(name, class, svc string, annotations map[string]string) obj {
	m := meta(name, nil)
	if len(annotations) > 0 {
		m["annotations"] = annotations
	}
	return obj{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": m,
		"spec": obj{"ingressClassName": class, "rules": []any{obj{"http": obj{"paths": []any{obj{
			"path": "/", "pathType": "Prefix",
			"backend": obj{"service": obj{"name": svc, "port": obj{"number": 80}}}}}}}}}}
}

// job is the Indexed Job whose pods each run one shard; a pod's log is its shard's event log.
func job(name string, o Options, args []string, scenarioConfig string) obj {
	ctr := obj{"name": "sessionlab", "image": o.RunnerImage, "args": args,
		"volumeMounts": []any{obj{"name": "scenario", "mountPath": scenarioPath, "subPath": "scenario.yaml"}}}
	return obj{"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(name, nil), "spec": obj{
		"completionMode": "Indexed", "completions": o.Shards, "parallelism": o.Shards, "backoffLimitPerIndex": 0,
		"template": obj{"spec": obj{"restartPolicy": "Never", "containers": []any{ctr}, "volumes": []any{
			obj{"name": "scenario", "configMap": obj{"name": scenarioConfig}},
		}}}}}
}
