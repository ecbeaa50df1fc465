package fakeapp

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRate(t *testing.T) {
	n, w, err := parseRate("10/1m")
	require.NoError(t, err)
	assert.Equal(t, 10, n)
	assert.Equal(t, time.Minute, w)
	for _, bad := range []string{"10", "x/1m", "10/forever", "0/1m", "5/-1s"} {
		_, _, err := parseRate(bad)
		assert.ErrorContains(t, err, "is not a rate", bad)
	}
}

func TestServeDrainsInFlightRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	entered := make(chan struct{})
	var finished atomic.Bool
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		time.Sleep(300 * time.Millisecond)
		finished.Store(true)
		_, _ = io.WriteString(w, "drained")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, slow, slog.New(slog.DiscardHandler)) }()

	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{status: resp.StatusCode, body: string(b), err: err}
	}()

	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the request never reached the handler")
	}
	cancel() // SIGTERM while the request is in flight

	a := <-answered
	require.NoError(t, a.err)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "drained", a.body)
	select {
	case err := <-served:
		require.NoError(t, err)
		assert.True(t, finished.Load(), "Serve returned before the in-flight request finished")
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Serve did not return after draining")
	}
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err, "a drained replica must stop accepting connections")
}

func TestServeReportsAListenerThatFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	err = serve(context.Background(), ln, http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "serve: ")
}
