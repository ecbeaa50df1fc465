package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/k8s"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/reports"
)

// The command line the Job's pods run (k8s.ShardArgs), run here for each of four shards against one deployment,
// gives logs that `report --merge` joins into the single run's report. The deployment stands in for the cluster's
// ingress: started by the local runtime, reached as a live target with the PROXY protocol it listens with.
func TestShardCommandLinesMergeToTheSingleRun(t *testing.T) {
	skipShort(t)
	sets := []string{"balancer.strategy=ip-hash", "clients.users=60"}
	s, err := scenario.Load(rrMemory, sets...)
	require.NoError(t, err)
	dep, err := harness.Start(t.Context(), s)
	t.Cleanup(func() { assert.NoError(t, dep.Close(context.Background()), "close the stack") })
	require.NoError(t, err)
	url := "http://" + dep.Endpoint

	dir := t.TempDir()
	var logs []string
	for i := range 4 {
		logs = append(logs, filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", i)))
		args := k8s.ShardArgs(url, strconv.Itoa(i), 4, rrMemory, logs[i], filepath.Join(dir, "report-"+strconv.Itoa(i)),
			"proxy-protocol", "target.replica_header=X-Replica", sets)
		out, err := execute(t, args...)
		require.NoError(t, err, "shard %d", i)
		assert.Empty(t, out, "a shard writes nothing to stdout but its event log")
		assert.FileExists(t, filepath.Join(dir, "report-"+strconv.Itoa(i), "report.json"))
	}
	out, err := execute(t, append([]string{"report", "--merge", "--format", "json"}, logs...)...)
	require.NoError(t, err)
	var merged reports.Report
	require.NoError(t, json.Unmarshal([]byte(out), &merged))

	out, err = execute(t, "run", "--target", url, "--format", "json", "--set", "clients.identity=proxy-protocol",
		"--set", "target.replica_header=X-Replica", "--set", sets[0], "--set", sets[1], rrMemory)
	require.NoError(t, err)
	var single reports.Report
	require.NoError(t, json.Unmarshal([]byte(out), &single))
	assert.Equal(t, "target", single.Runtime)
	assert.Equal(t, single.Replicas, merged.Replicas, "per-replica counts, shares and users")
	// The shards run side by side, each with the scenario's users at once: their peaks add up, the single run's
	// does not.
	assert.Greater(t, merged.Totals.PeakUsersAtOnce, single.Totals.PeakUsersAtOnce)
	merged.Totals.PeakUsersAtOnce = single.Totals.PeakUsersAtOnce
	assert.Equal(t, single.Totals, merged.Totals)
	require.Len(t, merged.Replicas, 3)

	_, err = execute(t, append([]string{"report", "--merge"}, logs[:3]...)...)
	assert.ErrorContains(t, err, "shard 3/4 is missing")
}

// A scenario written for a live target behind an ingress (identity x-forwarded-for) is what `sessionlab k8s` turns
// into manifests, and its Job's pods send the addresses the same way.
func TestK8sTakesAScenarioForALiveTarget(t *testing.T) {
	out, err := execute(t, "k8s", "--set", "clients.identity=x-forwarded-for", "--set", "balancer.strategy=cookie-insert", rrMemory)
	require.NoError(t, err)
	assert.Contains(t, out, "kind: Job")
	assert.Contains(t, out, "clients.identity=x-forwarded-for")
	_, err = execute(t, "k8s", "--set", "clients.identity=bind", rrMemory)
	assert.ErrorContains(t, err, "clients.identity bind: the Job's pods cannot connect from the users' addresses")
}

// --ingress picks what routes to the app, --ingress-class and --gateway-class name its class; a strategy the ingress
// cannot express, and an ingress sessionlab does not write, are refused by name.
func TestK8sIngressFlags(t *testing.T) {
	out, err := execute(t, "k8s", "--ingress", "traefik", "--set", "balancer.strategy=cookie-insert", rrMemory)
	require.NoError(t, err)
	assert.Contains(t, out, "ingressClassName: traefik")
	assert.Contains(t, out, `traefik.ingress.kubernetes.io/service.sticky.cookie: "true"`)
	assert.NotContains(t, out, "nginx.ingress.kubernetes.io/")

	out, err = execute(t, "k8s", "--ingress", "traefik", "--ingress-class", "traefik-lab", rrMemory)
	require.NoError(t, err)
	assert.Contains(t, out, "ingressClassName: traefik-lab")

	out, err = execute(t, "k8s", "--ingress", "gateway-api", "--gateway-class", "eg", "--ingress-url", "http://gw.example",
		"--set", "balancer.strategy=cookie-insert", rrMemory)
	require.NoError(t, err)
	assert.Contains(t, out, "gatewayClassName: eg")
	assert.Contains(t, out, "kind: HTTPRoute")
	assert.Contains(t, out, "sessionPersistence:")
	assert.Contains(t, out, "http://gw.example")
	assert.NotContains(t, out, "kind: Ingress")

	_, err = execute(t, "k8s", "--ingress", "gateway-api", "--set", "balancer.strategy=ip-hash", rrMemory)
	assert.ErrorContains(t, err, "strategy ip-hash has no Gateway API form: the standard API cannot say an address hash")
	_, err = execute(t, "k8s", "--ingress", "haproxy-ingress", rrMemory)
	assert.ErrorContains(t, err, `ingress "haproxy-ingress": want ingress-nginx, traefik or gateway-api`)
}
