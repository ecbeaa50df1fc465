package wire

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fullListener is a listening socket that never accepts, with its backlog filled: a connect to it stays in progress
// (the kernel drops its SYN), as one to a far or loaded host does.
func fullListener(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	// A backlog of 0 holds one connection; a few more make sure the next SYN is dropped.
	for range 4 {
		d := net.Dialer{Timeout: 50 * time.Millisecond}
		if c, err := d.Dial("tcp", ap.String()); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return ap
}

func TestConnectInProgress(t *testing.T) {
	ap := fullListener(t)
	t.Run("the deadline ends it", func(t *testing.T) {
		start := time.Now()
		_, err := dialTCP(context.Background(), ap, netip.Addr{}, time.Now().Add(150*time.Millisecond))
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
		assert.Less(t, time.Since(start), time.Second)
	})
	t.Run("the context ends it", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := dialTCP(ctx, ap, netip.Addr{}, time.Time{})
		require.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), time.Second)
	})
	t.Run("a Client says it timed out", func(t *testing.T) {
		c := &Client{Addr: ap.String(), Timeout: 100 * time.Millisecond}
		var resp Response
		err := c.Do(context.Background(), get("/"), &resp)
		require.ErrorIs(t, err, ErrTimeout)
		assert.Contains(t, err.Error(), "dial "+ap.String())
	})
}

// A deadline earlier than the one the poller waits for is seen in time, and a later one does not wake anybody early.
func TestDeadlinesInAnyOrder(t *testing.T) {
	s := newRawServer(t, func(_ *rawServer, _ int, conn net.Conn) {
		_, _ = conn.Read(make([]byte, 1)) // never answers
	})
	ap := netip.MustParseAddrPort(s.addr)
	long, err := dialTCP(context.Background(), ap, netip.Addr{}, time.Time{})
	require.NoError(t, err)
	defer long.Close()
	short, err := dialTCP(context.Background(), ap, netip.Addr{}, time.Time{})
	require.NoError(t, err)
	defer short.Close()
	require.NoError(t, long.SetDeadline(time.Now().Add(600*time.Millisecond)))
	require.NoError(t, short.SetDeadline(time.Now().Add(100*time.Millisecond)))

	start := time.Now()
	_, err = short.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.Less(t, time.Since(start), time.Second, "the earlier deadline was not waited for")

	_, err = long.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), 550*time.Millisecond)
}

// A descriptor closed and made again for another connection: what the poller saw of the first wakes nobody on the
// second, and each connection's answers reach its own user.
func TestDescriptorReused(t *testing.T) {
	s := newRawServer(t, answering(func(_, _ int, _ *http.Request) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
	}))
	ap := netip.MustParseAddrPort(s.addr)
	seen := map[int]bool{}
	for range 20 {
		c, err := dialTCP(context.Background(), ap, netip.Addr{}, time.Now().Add(5*time.Second))
		require.NoError(t, err)
		seen[c.fd] = true
		_, err = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		require.NoError(t, err)
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		require.NoError(t, err)
		assert.Contains(t, string(buf[:n]), "200 OK")
		require.NoError(t, c.Close())
		require.ErrorIs(t, c.Close(), net.ErrClosed)
		_, err = c.Read(buf)
		require.ErrorIs(t, err, net.ErrClosed)
	}
	assert.Less(t, len(seen), 20, "the kernel gave a closed descriptor's number again")
}

// Many users at once, each on its own connection: every answer reaches its user, none waits for ever.
func TestManyConnectionsAtOnce(t *testing.T) {
	s := newRawServer(t, answering(func(_, _ int, _ *http.Request) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
	}))
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &Client{Addr: s.addr, Timeout: 10 * time.Second}
			defer c.Close()
			var resp Response
			for range 10 {
				if err := c.Do(context.Background(), get("/"), &resp); err != nil {
					errs <- err
					return
				}
				if resp.Status != 200 {
					errs <- errors.New("not 200")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
