package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
)

// Probe reports nil once a part answers as ready.
type Probe func(ctx context.Context) error

// Poll calls ready every 20 ms until it passes (nil), gone (when given) reports that the part ended (its error),
// or timeout passes (the last probe's error).
func Poll(ctx context.Context, timeout time.Duration, ready Probe, gone func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if gone != nil {
			if err := gone(); err != nil {
				return err
			}
		}
		attempt, cancelAttempt := context.WithTimeout(ctx, time.Second)
		last := ready(attempt)
		cancelAttempt()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return last
		case <-tick.C:
		}
	}
}

// HTTPProbe wants a 2xx from GET url.
func HTTPProbe(url string) Probe {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// BalancerProbe asks a balancer listener (with a PROXY header when proxyHeader) for balancer.ReadyPath. With gen > 0 it wants a 2xx that reports config
// generation gen (the built-in templates do); with gen == 0 (a user's template) any HTTP answer means it is up.
func BalancerProbe(addr string, gen int, proxyHeader bool) Probe {
	return func(ctx context.Context) error {
		src := ""
		if proxyHeader {
			src = "127.0.0.1"
		}
		resp, err := balancerGet(ctx, addr, src, balancer.ReadyPath, "")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if gen == 0 {
			return nil
		}
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("GET %s: %s", balancer.ReadyPath, resp.Status)
		}
		if got := resp.Header.Get(balancer.ReadyHeader); got != strconv.Itoa(gen) {
			return fmt.Errorf("GET %s: config %q answers, want %d", balancer.ReadyPath, got, gen)
		}
		return nil
	}
}

// balancerGet sends GET target (HTTP/1.0, with the header lines extra) to a balancer listener on a connection of its
// own, opened with a PROXY header announcing the client address src ("": none), within ctx's deadline. Closing the
// answer's body closes the connection.
func balancerGet(ctx context.Context, addr, src, target, extra string) (*http.Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	header := ""
	if src != "" {
		header = "PROXY TCP4 " + src + " 127.0.0.1 1 1\r\n"
	}
	if _, err := fmt.Fprintf(conn, "%sGET %s HTTP/1.0\r\nHost: sessionlab\r\n%s\r\n", header, target, extra); err != nil {
		conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read answer: %w", err)
	}
	resp.Body = connBody{resp.Body, conn}
	return resp, nil
}

// connBody is an answer's body that closes its connection with it.
type connBody struct {
	io.ReadCloser
	conn net.Conn
}

func (b connBody) Close() error { return errors.Join(b.ReadCloser.Close(), b.conn.Close()) }

// RedisProbe is ready when Redis at addr answers PING.
func RedisProbe(addr string) Probe {
	return func(ctx context.Context) error {
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		defer rdb.Close()
		return rdb.Ping(ctx).Err()
	}
}
