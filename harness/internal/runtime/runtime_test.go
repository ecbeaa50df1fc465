package runtime

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/sessionlab/sessionlab/fakeapp"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScrapeReadsTheAppMetrics(t *testing.T) {
	app := fakeapp.New(fakeapp.Config{Login: fakeapp.LoginFormCSRF})
	srv := httptest.NewServer(app)
	defer srv.Close()
	// A form post without the form's token: one refusal.
	resp, err := http.PostForm(srv.URL+"/login", url.Values{"username": {"user1"}, "password": {"secret"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	m, err := scrape(context.Background(), srv.URL+"/metrics")
	require.NoError(t, err)
	assert.Equal(t, 1.0, m[contract.MetricCSRFRefusals])
	assert.Equal(t, 0.0, m[contract.MetricSessionsCreated])
	assert.Contains(t, m, contract.MetricSessionsActive)

	_, err = scrape(context.Background(), srv.URL+"/nothing")
	assert.ErrorContains(t, err, "404")
}

func TestReplicaOfMapsEveryAddressOfTheRun(t *testing.T) {
	d, err := New("test", plan.Topology{Balancer: plan.BalancerSpec{Kind: "nginx"}})
	require.NoError(t, err)
	d.SetReplica(Endpoint{Name: "replica-1", Index: 1, Addr: "127.0.0.1:1001"})
	d.SetReplica(Endpoint{Name: "replica-2", Index: 2, Addr: "127.0.0.1:1002"})
	d.SetReplica(Endpoint{Name: "replica-2", Index: 2, Addr: "127.0.0.1:2002"}) // started again on another port
	assert.Equal(t, "replica-1", d.ReplicaOf("127.0.0.1:1001"))
	assert.Equal(t, "replica-2", d.ReplicaOf("127.0.0.1:1002"), "answers from before the restart keep their name")
	assert.Equal(t, "replica-2", d.ReplicaOf("127.0.0.1:2002"))
	assert.Empty(t, d.ReplicaOf("127.0.0.1:9"))
	assert.Equal(t, []Endpoint{{"replica-1", 1, "127.0.0.1:1001"}, {"replica-2", 2, "127.0.0.1:2002"}}, d.Replicas(), "one entry per replica, at its last address")
}
