package wire

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDialTCP(t *testing.T) {
	t.Run("addresses as the server sees them", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				accepted <- c
			}
		}()
		ap := netip.MustParseAddrPort(ln.Addr().String())
		conn, err := dialTCP(context.Background(), ap, netip.Addr{}, time.Now().Add(5*time.Second))
		require.NoError(t, err)
		defer conn.Close()
		server := <-accepted
		defer server.Close()
		assert.Equal(t, server.RemoteAddr().String(), conn.LocalAddr().String())
		assert.Equal(t, ln.Addr().String(), conn.RemoteAddr().String())

		_, err = conn.Write([]byte("ping"))
		require.NoError(t, err)
		buf := make([]byte, 4)
		_, err = server.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "ping", string(buf))
	})
	t.Run("from a given address", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		from := netip.MustParseAddr("127.0.0.5")
		for _, c := range []*Client{
			{Addr: ln.Addr().String(), From: func() netip.Addr { return from }},
			{Addr: "localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), From: func() netip.Addr { return from }}, // a name: net.Dialer
		} {
			go func() { _ = c.Do(context.Background(), get("/"), &Response{}) }()
			server, err := ln.Accept()
			require.NoError(t, err)
			assert.Equal(t, from.String(), server.RemoteAddr().(*net.TCPAddr).IP.String(), "dialled from %s", c.Addr)
			server.Close()
		}
	})
	t.Run("refused, named as net.Dialer names it", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		_, err = dialTCP(context.Background(), netip.MustParseAddrPort(addr), netip.Addr{}, time.Time{})
		require.ErrorIs(t, err, syscall.ECONNREFUSED)
		assert.Equal(t, "dial tcp "+addr+": connect: connection refused", err.Error())
	})
	t.Run("read errors named as a net.Conn's", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		conn, err := dialTCP(context.Background(), netip.MustParseAddrPort(ln.Addr().String()), netip.Addr{}, time.Time{})
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
		_, err = conn.Read(make([]byte, 1))
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		assert.Contains(t, err.Error(), "read tcp 127.0.0.1:")
	})
}
