package fakeapp

import (
	"context"
	"net/http"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names only the fake app's own tests read; those the harness reads are in package contract.
const (
	metricWSConnections = "sessionlab_ws_connections_total"
	metricIdPLogins     = "sessionlab_idp_logins_total"
	metricIdPSilent     = "sessionlab_idp_silent_authorizations_total"
)

// metrics are one replica's counters, in a registry of its own so that several apps in one process (tests) do not
// share them.
type metrics struct {
	reg             *prometheus.Registry
	sessionsCreated prometheus.Counter
	logins          prometheus.Counter
	silentReauths   prometheus.Counter
	csrfRefusals    prometheus.Counter
	badCookies      prometheus.Counter
	wsConnections   prometheus.Counter
}

// newMetrics registers the counters; active, when not nil, counts the sessions the replica's store holds.
func newMetrics(active Store) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &metrics{
		reg:             prometheus.NewRegistry(),
		sessionsCreated: counter(contract.MetricSessionsCreated, "Logged-in sessions this replica issued (logins and silent re-authentications)."),
		logins:          counter(contract.MetricLogins, "Logins after the user typed a password (here, or at the identity provider)."),
		silentReauths:   counter(contract.MetricSilentReauths, "Sessions issued after the identity provider vouched for the user without a prompt."),
		csrfRefusals:    counter(contract.MetricCSRFRefusals, "Login submissions and SSO callbacks refused because this replica did not know their CSRF token or state."),
		badCookies:      counter(contract.MetricBadCookies, "session cookies this replica could not open (another secret, or tampered with)."),
		wsConnections:   counter(metricWSConnections, "WebSocket connections accepted."),
	}
	m.reg.MustRegister(m.sessionsCreated, m.logins, m.silentReauths, m.csrfRefusals, m.badCookies, m.wsConnections)
	if active != nil {
		m.reg.MustRegister(activeSessions{store: active, desc: prometheus.NewDesc(contract.MetricSessionsActive,
			"Sessions (pre-login ones included) held by this replica's store; with a shared store, by the shared store.", nil, nil)})
	}
	return m
}

// activeSessions asks the store at each scrape; a store that cannot answer makes the scrape fail rather than
// report a number it does not have.
type activeSessions struct {
	store Store
	desc  *prometheus.Desc
}

func (c activeSessions) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c activeSessions) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.store.Len(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
