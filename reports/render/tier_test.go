package render_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/reporttest"
	"github.com/sessionlab/sessionlab/reports/render"
)

func renderAs(t *testing.T, format string, r *reports.Report) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, render.Report(&buf, format, r))
	return buf.String()
}

// Every format shows the tier of reporttest.Tiered: its instances, the loss split, the connection causes, the
// connections closed per phase and the users sent back and forth during each fault.
func TestRenderTier(t *testing.T) {
	const (
		summary = "2 instances behind an L4 front spreading by connection (a real HAProxy in TCP mode, standing in for a cloud L4 balancer); 20 requests answered by no instance; 120 users answered by several instances"
		split   = "88 on another instance than the login's, 4 on the login's, 3 unattributed"
		conns   = "355 new connections: closed 12, error 3, first 300, keep-alive 40 (15 closed by the balancer's side)"
		flipped = "fault 2: scale-out at 4s (4000–4600 ms): 270 users across, 40 moved (0.148); 25 lost their session; " +
			"37 users sent back and forth between replicas while it lasted"
	)
	cases := []struct {
		format string
		want   []string
	}{
		{"text", []string{
			"tier: " + summary + "\n",
			"   instance  requests  share  users  errors  connections\n",
			"  haproxy-1      2000  0.515    250       2          190\n",
			"  haproxy-2      1880  0.485    170       3          165\n",
			"session losses by instance: " + split + "\n",
			"conns     " + conns + "\n",
			"conns closed",
			"  after kill-balancer balancer-2   2000–4000  1400      0 n/a       0 n/a         0           15      15            465/465/455\n",
			flipped + "\n",
			"fault 1: kill-balancer balancer-2 at 2s (2000–2000 ms): 280 users across, 60 moved (0.214); 70 lost their session; 0 users sent back",
		}},
		{"markdown", []string{
			"**Balancer tier**: " + summary + "; session losses " + split + "\n",
			"| instance | requests | share | users | errors | connections |\n",
			"| haproxy-1 | 2000 | 0.515 | 250 | 2 | 190 |\n",
			"| haproxy-2 | 1880 | 0.485 | 170 | 3 | 165 |\n",
			"| connections | " + conns + " |\n",
			"| phase | ms | requests | login fail | session loss | users lost | errors | conns closed | requests per replica |\n",
			"| after kill-balancer balancer-2 | 2000–4000 | 1400 | 0 (n/a) | 0 (n/a) | 0 | 15 | 15 | 465/465/455 |\n",
			"- " + flipped + "\n",
		}},
		{"html", []string{
			"<h2>Balancer tier</h2>", "<p class=\"meta\">" + summary + "</p>",
			"<tr><td>haproxy-1</td><td class=\"n\">2000</td><td class=\"n\">0.515</td><td class=\"n\">250</td><td class=\"n\">2</td><td class=\"n\">190</td></tr>",
			"<p class=\"meta\">session losses: 88 on another instance than the login&#39;s, 4 on the login&#39;s, 3 unattributed</p>",
			"<td>connections closed</td><td class=\"n\">15</td><td class=\"note\">355 new connections: closed 12, error 3, first 300, keep-alive 40 (15 closed by the balancer&#39;s side)</td>",
			"<th class=\"n\">conns closed</th>", "<td class=\"n\">15</td><td class=\"n\">465/465/455</td>",
			"37 users sent back and forth between replicas while it lasted",
			"<h2>Figures</h2>",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			out := renderAs(t, tc.format, reporttest.Tiered())
			for _, want := range tc.want {
				assert.Contains(t, out, want)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var doc struct {
			Tier   reports.Tier   `json:"tier"`
			Totals reports.Totals `json:"totals"`
			Phases []reports.Phase
			Faults []reports.FaultResult
		}
		require.NoError(t, json.Unmarshal([]byte(renderAs(t, "json", reporttest.Tiered())), &doc))
		assert.Equal(t, *reporttest.Tiered().Tier, doc.Tier)
		assert.Equal(t, 12, doc.Totals.Connections["closed"])
		assert.Equal(t, 15, doc.Phases[2].ConnectionsClosed)
		require.NotNil(t, doc.Faults[1].FlippedUsers)
		assert.Equal(t, 37, *doc.Faults[1].FlippedUsers)
	})
}

// One balancer, and a log that does not say why connections opened: no tier, no connection figures, and fault
// lines as before.
func TestRenderWithoutTier(t *testing.T) {
	r := reporttest.Looping()
	r.Faults[0].FlippedUsers = new(12)
	for _, format := range []string{"text", "markdown", "html", "json"} {
		t.Run(format, func(t *testing.T) {
			out := renderAs(t, format, r)
			for _, absent := range []string{"tier", "instance", "conns", "connections closed", "back and forth"} {
				assert.NotContains(t, out, absent)
			}
		})
	}
}
