package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// bare is the second reference, not a client: what a user of sessionlab's shape costs in Go before any of its work —
// a goroutine per user at once on one thread (sessionlab's default --procs), a connection of the user's own through Go's poller,
// and per request only a write of one prepared request and a read of the answer's status, headers and body. No jar,
// no login, no form, no redirect, no record: what is over it in sessionlab's row is what the journey does.
func bare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	base := fs.String("url", "", "the balancer")
	cookie := fs.String("cookie", "", "the session cookie every request carries (name=value)")
	users := fs.Int("users", 2000, "users")
	perUser := fs.Int("requests", 23, "requests per user, on the user's one connection")
	atOnce := fs.Int("concurrency", 50, "users at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: an http://host:port URL is asked", *base)
	}
	runtime.GOMAXPROCS(1)
	req := []byte("GET /page/1 HTTP/1.1\r\nHost: " + u.Host + "\r\nCookie: " + *cookie + "\r\n\r\n")
	var requests, failures atomic.Int64
	var first atomic.Pointer[error]
	next := make(chan struct{})
	var wg sync.WaitGroup
	for range *atOnce {
		wg.Go(func() {
			for range next {
				n, err := bareUser(u.Host, req, *perUser)
				requests.Add(int64(n))
				if err != nil {
					failures.Add(1)
					first.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	for range *users {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	if err := first.Load(); err != nil {
		// A client that fails its requests would look cheap: the row is not printed.
		return fmt.Errorf("%d users failed, the first: %w", failures.Load(), *err)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]int64{"requests": requests.Load()})
}

// bareUser opens a connection to addr and makes n exchanges of req on it; it returns the requests sent.
func bareUser(addr string, req []byte, n int) (sent int, err error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, 4096)
	for range n {
		if _, err := c.Write(req); err != nil {
			return sent, err
		}
		sent++
		if err := readBareAnswer(br); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

var errNotOK = errors.New("answer not 200")

// readBareAnswer reads a 200 answer with a Content-Length body, and discards the body.
func readBareAnswer(br *bufio.Reader) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("%w: %q", errNotOK, bytes.TrimSpace(line))
	}
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return fmt.Errorf("content-length %q: %w", value, err)
			}
		}
	}
	if length < 0 {
		return errors.New("an answer without Content-Length: the bare client reads no other body")
	}
	_, err = br.Discard(length)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}
