package harness

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// probe reports nil once a part answers as ready.
type probe func(ctx context.Context) error

// waitReady polls probe until it passes, the process exits, or timeout passes.
func waitReady(ctx context.Context, p *process, timeout time.Duration, ready probe, extraLogs ...string) error {
	exited := func() error {
		if p.exited() {
			return p.exitError(extraLogs...)
		}
		return nil
	}
	err := poll(ctx, timeout, ready, exited)
	switch {
	case err == nil:
		return nil
	case exited() != nil:
		return exited()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s not ready: %w", p.name, ctx.Err())
	}
	return fmt.Errorf("%s not ready after %s: %w%s", p.name, timeout, err, p.output(extraLogs...))
}

// poll calls ready every 20 ms until it passes (nil), gone (when given) reports that the part ended (its error),
// or timeout passes (the last probe's error).
func poll(ctx context.Context, timeout time.Duration, ready probe, gone func() error) error {
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

// httpProbe wants a 2xx from GET url.
func httpProbe(url string) probe {
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

// readyPath is answered by the balancer itself (never proxied), so that probing it leaves round-robin positions and
// connection counts untouched.
const readyPath = "/__sessionlab/ready"

// balancerProbe asks a PROXY-protocol listener for readyPath. With gen > 0 it wants a 2xx that reports config
// generation gen (the built-in templates do); with gen == 0 (a user's template) any HTTP answer means it is up.
func balancerProbe(addr string, gen int, proxyHeader bool) probe {
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		if dl, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(dl)
		}
		header := ""
		if proxyHeader {
			header = "PROXY TCP4 127.0.0.1 127.0.0.1 1 1\r\n"
		}
		_, err = fmt.Fprintf(conn, "%sGET %s HTTP/1.0\r\nHost: sessionlab\r\n\r\n", header, readyPath)
		if err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return fmt.Errorf("read answer: %w", err)
		}
		resp.Body.Close()
		if gen == 0 {
			return nil
		}
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("GET %s: %s", readyPath, resp.Status)
		}
		if got := resp.Header.Get(readyHeader); got != strconv.Itoa(gen) {
			return fmt.Errorf("GET %s: config %q answers, want %d", readyPath, got, gen)
		}
		return nil
	}
}
