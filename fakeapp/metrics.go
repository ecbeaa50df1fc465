package fakeapp

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names on GET /metrics; the harness reads them after a run.
const (
	MetricSessionsActive  = "sessionlab_sessions_active"
	MetricSessionsCreated = "sessionlab_sessions_created_total"
	MetricLogins          = "sessionlab_logins_total"
	MetricSilentReauths   = "sessionlab_silent_reauths_total"
	MetricCSRFRefusals    = "sessionlab_csrf_refusals_total"
	MetricBadCookies      = "sessionlab_bad_cookies_total"
	MetricWSConnections   = "sessionlab_ws_connections_total"
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
		sessionsCreated: counter(MetricSessionsCreated, "Logged-in sessions this replica issued (logins and silent re-authentications)."),
		logins:          counter(MetricLogins, "Logins after the user typed a password (here, or at the identity provider)."),
		silentReauths:   counter(MetricSilentReauths, "Sessions issued after the identity provider vouched for the user without a prompt."),
		csrfRefusals:    counter(MetricCSRFRefusals, "Login submissions and SSO callbacks refused because this replica did not know their CSRF token or state."),
		badCookies:      counter(MetricBadCookies, "Session cookies this replica could not open (another secret, or tampered with)."),
		wsConnections:   counter(MetricWSConnections, "WebSocket connections accepted."),
	}
	m.reg.MustRegister(m.sessionsCreated, m.logins, m.silentReauths, m.csrfRefusals, m.badCookies, m.wsConnections)
	if active != nil {
		m.reg.MustRegister(activeSessions{store: active, desc: prometheus.NewDesc(MetricSessionsActive,
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
