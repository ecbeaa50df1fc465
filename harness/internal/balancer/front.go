package balancer

import (
	"bytes"
	_ "embed"
	"fmt"
	"text/template"
)

// The tier's front: the stand-in for a cloud's L4 balancer (AWS NLB, GCP and Azure L4, kube-proxy), made of a real
// HAProxy in TCP mode. It passes the client's address on in a PROXY header, so that every instance sees the user's
// address as a lone balancer would.

// Front spreads.
const (
	// SpreadConnection sends each new connection to the next instance, as a flow hash spreads new connections.
	SpreadConnection = "connection"
	// SpreadSource keeps a client address on one instance: NLB source-IP stickiness, kube-proxy's ClientIP.
	SpreadSource = "source"
)

// FrontConfig is what the front's template receives.
type FrontConfig struct {
	Scenario string
	Listen   string // where clients connect: host:port, or 0.0.0.0:80 in a container
	// ProxyProtocol: clients open each connection with a PROXY header (accept-proxy); else their own source
	// address is the one passed on.
	ProxyProtocol bool
	Spread        string     // SpreadConnection | SpreadSource
	Instances     []Upstream // the tier's instances, in order (Name is the instance's)
	MaxConns      int
	ReadyPath     string
}

//go:embed front/haproxy-tcp.cfg.tmpl
var frontText string

var frontTemplate = template.Must(template.New("haproxy-tcp.cfg").Parse(frontText))

// FrontConfFile is the rendered front config's file name.
const FrontConfFile = "front.cfg"

// RenderFront renders the front's HAProxy config.
func RenderFront(c FrontConfig) ([]byte, error) {
	if c.Spread != SpreadConnection && c.Spread != SpreadSource {
		return nil, fmt.Errorf("front: spread %q is not allowed (allowed: %s, %s)", c.Spread, SpreadConnection, SpreadSource)
	}
	if len(c.Instances) == 0 {
		return nil, fmt.Errorf("front: no instance to send to")
	}
	var buf bytes.Buffer
	if err := frontTemplate.Execute(&buf, c); err != nil {
		return nil, fmt.Errorf("render the front's config: %w", err)
	}
	return buf.Bytes(), nil
}
