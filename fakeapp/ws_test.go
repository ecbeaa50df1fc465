package fakeapp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp"
)

func startApp(t *testing.T, app *fakeapp.App) string {
	t.Helper()
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return srv.URL
}

// wsSession connects to serverURL as client, checks the counter the replica greets it with, sends incs and checks
// each reply, then closes normally.
func wsSession(t *testing.T, serverURL, client string, greeting int, incs int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(serverURL, "http")+"/ws?client="+client, nil)
	require.NoError(t, err)
	defer conn.CloseNow()

	read := func() string {
		typ, msg, err := conn.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, websocket.MessageText, typ)
		return string(msg)
	}
	assert.Equal(t, strconv.Itoa(greeting), read(), "the first message is the counter the replica holds")
	for i := 1; i <= incs; i++ {
		require.NoError(t, conn.Write(ctx, websocket.MessageText, []byte(contract.WSIncrement)))
		assert.Equal(t, strconv.Itoa(greeting+i), read())
	}
	require.NoError(t, conn.Close(websocket.StatusNormalClosure, ""))
}

func TestWebSocketCounter(t *testing.T) {
	a := fakeapp.New(fakeapp.Config{Name: "replica-a"})
	b := fakeapp.New(fakeapp.Config{Name: "replica-b"})
	aURL, bURL := startApp(t, a), startApp(t, b)

	wsSession(t, aURL, "u1", 0, 3)
	wsSession(t, aURL, "u1", 3, 1) // a reconnect to the same replica picks up where it was
	wsSession(t, aURL, "u2", 0, 0) // counters are per client
	wsSession(t, bURL, "u1", 0, 2) // the other replica never saw u1
	wsSession(t, aURL, "u1", 4, 0)

	assert.Equal(t, 4.0, metric(t, a, "sessionlab_ws_connections_total"))
	assert.Equal(t, 1.0, metric(t, b, "sessionlab_ws_connections_total"))
}

func TestWebSocketRefuses(t *testing.T) {
	app := fakeapp.New(fakeapp.Config{})
	resp := serve(t, app, http.MethodGet, "/ws", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, bodyOf(t, resp), "client is required")

	resp = serve(t, app, http.MethodGet, "/ws?client=u1", nil) // not an upgrade
	assert.Equal(t, http.StatusUpgradeRequired, resp.StatusCode)
	assert.Equal(t, 0.0, metric(t, app, "sessionlab_ws_connections_total"))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(startApp(t, app), "http")+"/ws?client=u1", nil)
	require.NoError(t, err)
	defer conn.CloseNow()
	_, msg, err := conn.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "0", string(msg))
	require.NoError(t, conn.Write(ctx, websocket.MessageText, []byte("dec")))
	_, _, err = conn.Read(ctx)
	assert.Equal(t, websocket.StatusUnsupportedData, websocket.CloseStatus(err), "anything but %q is refused", contract.WSIncrement)
}
