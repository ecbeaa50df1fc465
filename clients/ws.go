package clients

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/internal/contract"
)

// websocket opens the user's n-th connection, checks that the replica still holds the counter where the last
// connection left it (a reconnect elsewhere starts from zero), sends the increments and closes. It records one
// event: the upgrade exchange, with outcome ok, loss (the state was gone) or error.
func (j *Journey) websocket(ctx context.Context, b *browser, n int) {
	start := b.clock()
	b.sent.Add(1)
	ev := events.Event{User: b.user.ID, Addr: b.currentAddr(), Step: events.StepWS, Attempt: n, Method: http.MethodGet, Path: j.WSPath}
	up, err := b.websocket(ctx, j.WSPath, j.WSMessages)
	ev.Status, ev.Replica, ev.Instance, ev.Sent, ev.Set = up.status, up.replica, up.instance, up.sent, up.set
	switch {
	case errors.Is(err, errStateLost):
		ev.Outcome = events.OutcomeLoss
	case err != nil && ctx.Err() != nil:
		ev.Outcome, ev.Error = events.OutcomeInterrupted, err.Error() // cut by the interruption, not the replica's
	case err != nil:
		ev.Outcome, ev.Error = events.OutcomeError, err.Error()
	default:
		ev.Outcome = events.OutcomeOK
	}
	ev.TMs = int64(start / time.Millisecond)
	ev.LatencyUS = int64((b.clock() - start) / time.Microsecond)
	b.record(ev)
}

var errStateLost = errors.New("the replica did not have the WebSocket state")

// upgrade is what a WebSocket's event records of the upgrade's answer. The connection is one of its own, which the
// upgrade opens every time: the event has no Conn.
type upgrade struct {
	status            int
	replica, instance string
	sent, set         []string // the tags of the cookies the upgrade request carried and its answer set (Event.Sent, Set)
}

func (b *browser) websocket(ctx context.Context, path string, messages int) (up upgrade, err error) {
	// The page's URL, as net/http sees the request (the jar's cookies are those of an http URL); JoinPath leaves the
	// path of a base without one relative ("ws"), which matches no cookie's path.
	page := b.base.JoinPath(path)
	if !strings.HasPrefix(page.Path, "/") {
		page.Path = "/" + page.Path
	}
	u := *page
	u.Scheme = "ws"
	if b.base.Scheme == "https" {
		u.Scheme = "wss"
	}
	u.RawQuery = url.Values{"client": {b.user.name()}}.Encode()
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	// The cookies the upgrade request carries: net/http asks the jar for them (Cookies) as the request goes.
	if b.jar != nil {
		up.sent = b.jar.Sent(time.Now(), b.https, page.Host, page.Path)
	}
	// The same transport (PROXY header, the user's address) and jar; no client timeout, which the library refuses
	// in favour of the context.
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: b.httpClient()})
	if resp != nil {
		a := b.answerOfHTTP(resp)
		up.status, up.replica, up.instance = resp.StatusCode, b.replicaOf(a, b.affinityCookie(page)), a.instance
		up.set = setTags(a.setCookie, time.Now()) // net/http stores them in the jar (SetCookies)
	}
	if err != nil {
		return up, fmt.Errorf("websocket: %w", err)
	}
	defer conn.CloseNow()
	got, err := readCounter(ctx, conn)
	if err != nil {
		return up, err
	}
	// The state survived when the replica holds every increment this user made so far; a replica that saw only
	// some of them (an earlier connection) has lost the rest.
	lost := got != b.wsSent
	for range messages {
		if err := conn.Write(ctx, websocket.MessageText, []byte(contract.WSIncrement)); err != nil {
			return up, fmt.Errorf("websocket write: %w", err)
		}
		if _, err := readCounter(ctx, conn); err != nil {
			return up, err
		}
		b.wsSent++
	}
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		return up, fmt.Errorf("websocket close: %w", err)
	}
	if lost {
		return up, errStateLost
	}
	return up, nil
}

func readCounter(ctx context.Context, conn *websocket.Conn) (int, error) {
	_, msg, err := conn.Read(ctx)
	if err != nil {
		return 0, fmt.Errorf("websocket read: %w", err)
	}
	n, err := strconv.Atoi(string(msg))
	if err != nil {
		return 0, fmt.Errorf("websocket: %q is not a counter", msg)
	}
	return n, nil
}
