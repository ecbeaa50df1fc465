package fakeapp

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/coder/websocket"
	"github.com/sessionlab/sessionlab/internal/contract"
)

// WebSocket messages: the client sends contract.WSIncrement, the replica answers with the counter's new value. On
// connect the replica first sends the value it holds for the client, which is 0 on a replica that never saw it.
// websocket serves GET /ws?client=ID: a counter per client kept in this replica's memory, like a chat room or a
// game state in a WebSocket app. A reconnect that lands on another replica starts from zero.
func (a *App) websocket(w http.ResponseWriter, r *http.Request) {
	client := r.URL.Query().Get("client")
	if client == "" {
		http.Error(w, "client is required: /ws?client=ID", http.StatusBadRequest)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the client
	}
	defer conn.CloseNow()
	a.m.wsConnections.Inc()
	ctx := r.Context()
	if err := conn.Write(ctx, websocket.MessageText, []byte(strconv.Itoa(a.ws.get(client)))); err != nil {
		return
	}
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure && !errors.Is(err, ctx.Err()) {
				a.cfg.Log.Debug("websocket ended", "client", client, "err", err)
			}
			return
		}
		if string(msg) != contract.WSIncrement {
			conn.Close(websocket.StatusUnsupportedData, "send "+contract.WSIncrement)
			return
		}
		if err := conn.Write(ctx, websocket.MessageText, []byte(strconv.Itoa(a.ws.inc(client)))); err != nil {
			return
		}
	}
}
