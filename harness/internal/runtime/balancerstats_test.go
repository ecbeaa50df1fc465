package runtime

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNginxDisabledCountsPerUpstream(t *testing.T) {
	log := strings.Join([]string{
		`2026/11/28 11:20:00 [error] 12#12: *3 connect() failed (111: Connection refused) while connecting to upstream, client: 198.18.0.4, server: , request: "GET /page/1 HTTP/1.1", upstream: "http://127.0.0.1:40001/page/1", host: "x"`,
		`2026/11/28 11:20:00 [warn] 12#12: *3 upstream server temporarily disabled while connecting to upstream, client: 198.18.0.4, server: , request: "GET /page/1 HTTP/1.1", upstream: "http://127.0.0.1:40001/page/1", host: "x"`,
		`2026/11/28 11:20:11 [warn] 12#12: *9 upstream server temporarily disabled while connecting to upstream, client: 198.18.0.9, server: , request: "POST /login HTTP/1.1", upstream: "http://127.0.0.1:40001/login", host: "x"`,
		`2026/11/28 11:20:12 [warn] 12#12: *11 upstream server temporarily disabled while reading response header from upstream, client: 198.18.0.2, server: , request: "GET / HTTP/1.1", upstream: "http://[::1]:40002/", host: "x"`,
		`2026/11/28 11:20:13 [notice] 1#1: signal process started`,
	}, "\n")
	assert.Equal(t, map[string]int{"127.0.0.1:40001": 2, "[::1]:40002": 1}, nginxDisabled(log))
}

func TestParseHAProxyCSV(t *testing.T) {
	csv := "# pxname,svname,qcur,econ,wretr,wredis,status,chkdown\n" +
		"sessionlab,FRONTEND,,,,,OPEN,\n" +
		"app,replica-1,0,3,2,7,DOWN,1\n" +
		"app,replica-2,0,0,0,0,UP,0\n" +
		"app,BACKEND,0,3,2,7,UP,0\n"
	got, err := parseHAProxyCSV(strings.NewReader(csv))
	require.NoError(t, err)
	assert.Equal(t, []haproxyServer{{"replica-1", 7, 1}, {"replica-2", 0, 0}}, got)

	_, err = parseHAProxyCSV(strings.NewReader("# pxname,svname\napp,replica-1\n"))
	assert.ErrorContains(t, err, "wredis")
}
