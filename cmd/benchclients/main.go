// Command benchclients measures what the simulated users cost the machine they share with the system under test.
// It starts one stack — nginx (one worker) in front of three fakeapp replicas keeping sessions in sealed cookies — and
// drives it in turn with wrk (one cookie, no login, no jar), a naive Go client (net/http, a cookie jar and a
// Transport per user) and sessionlab in target mode, each a child process, and prints CPU per request, requests per
// second and peak memory per user at once, with the ratios to wrk. `make bench-clients` runs it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sessionlab/sessionlab/harness/runtime"
	"github.com/sessionlab/sessionlab/harness/runtime/local"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "naive" {
		if err := naive(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "benchclients naive:", err)
			os.Exit(1)
		}
		return
	}
	if err := bench(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchclients:", err)
		os.Exit(1)
	}
}

// result is one client's run.
type result struct {
	name     string
	requests int
	wall     time.Duration
	cpu      time.Duration // user + system time of the client process
	maxRSSKB int64
	atOnce   int // users (or connections) at once
}

func bench(args []string) error {
	fs := flag.NewFlagSet("benchclients", flag.ContinueOnError)
	users := fs.Int("users", 2000, "users for the naive client and sessionlab")
	pages := fs.Int("pages", 20, "protected pages each user opens after logging in")
	atOnce := fs.Int("concurrency", 50, "users (wrk: connections) at once")
	wrkTime := fs.Duration("wrk-duration", 10*time.Second, "how long wrk runs")
	sessionlab := fs.String("sessionlab", "bin/sessionlab", "the sessionlab binary to measure")
	scenarioFile := fs.String("scenario", "scenarios/rr-memory.yaml", "the scenario whose stack and journey are used")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The stack: sealed-cookie sessions with one key, so wrk's one cookie is good on every replica; clients connect
	// from their own addresses (no PROXY header), as wrk and a plain Go client do.
	s, err := scenario.Load(*scenarioFile, "app.sessions=cookie", "app.secret=shared", "balancer.kind=nginx",
		"balancer.strategy=round-robin", "balancer.workers=1", "clients.identity=bind", "clients.users="+strconv.Itoa(*users))
	if err != nil {
		return err
	}
	p, err := scenario.Compile(s)
	if err != nil {
		return err
	}
	dep, err := runtime.Start(ctx, local.New(), p.Topology)
	defer func() {
		if dep != nil {
			_ = dep.Close(context.Background())
		}
	}()
	if err != nil {
		return fmt.Errorf("start the stack: %w", err)
	}
	base := "http://" + dep.Endpoint
	cookie, err := loginCookie(base)
	if err != nil {
		return err
	}

	var results []result
	wrk, err := runWrk(ctx, base, cookie, *atOnce, *wrkTime)
	if err != nil {
		return err
	}
	results = append(results, wrk)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	n, err := measure(ctx, "naive Go client", *atOnce, self, "naive", "-url", base, "-users", strconv.Itoa(*users),
		"-pages", strconv.Itoa(*pages), "-concurrency", strconv.Itoa(*atOnce))
	if err != nil {
		return err
	}
	results = append(results, n)
	sl, err := measure(ctx, "sessionlab (target mode)", *atOnce, *sessionlab, "run", "--quiet", "--format", "json",
		"--target", base, "--set", "clients.users="+strconv.Itoa(*users), "--set", "clients.pages="+strconv.Itoa(*pages),
		"--set", "clients.concurrency="+strconv.Itoa(*atOnce), "--set", "clients.relogin=0", "--set", "clients.identity=x-forwarded-for",
		"--set", "expect={}", *scenarioFile)
	if err != nil {
		return err
	}
	results = append(results, sl)
	printResults(os.Stdout, results, *atOnce)
	return nil
}

// loginCookie logs user1 in and returns its session cookie (name=value).
func loginCookie(base string) (string, error) {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/login", url.Values{"username": {"user1"}, "password": {"secret"}})
	if err != nil {
		return "", fmt.Errorf("log in for wrk: %w", err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "sid" {
			return ck.Name + "=" + ck.Value, nil
		}
	}
	return "", fmt.Errorf("log in for wrk: no sid cookie in the answer (status %d)", resp.StatusCode)
}

var wrkRequests = regexp.MustCompile(`(\d+) requests in`)

func runWrk(ctx context.Context, base, cookie string, conns int, d time.Duration) (result, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return result{}, errors.New("wrk not found: install the Debian package wrk (`make bench-clients` does)")
	}
	r, out, err := run(ctx, "wrk", conns, bin, "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), "-H", "Cookie: "+cookie, base+"/page/1")
	if err != nil {
		return r, err
	}
	m := wrkRequests.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk printed no request count:\n%s", out)
	}
	r.requests, _ = strconv.Atoi(m[1])
	return r, nil
}

// measure runs a client that prints a JSON object with "requests" (the naive client) or a sessionlab report.
func measure(ctx context.Context, name string, atOnce int, bin string, args ...string) (result, error) {
	r, out, err := run(ctx, name, atOnce, bin, args...)
	if err != nil {
		return r, err
	}
	var rep struct {
		Requests int `json:"requests"`
		Totals   struct {
			Requests int `json:"requests"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		return r, fmt.Errorf("%s: read its output: %w\n%s", name, err, out)
	}
	r.requests = max(rep.Requests, rep.Totals.Requests)
	return r, nil
}

// run runs a client to its end and reads its CPU time and peak memory from the kernel's accounting of the child.
func run(ctx context.Context, name string, atOnce int, bin string, args ...string) (result, string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	start := time.Now()
	err := cmd.Run()
	r := result{name: name, wall: time.Since(start), atOnce: atOnce}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			r.maxRSSKB = ru.Maxrss
		}
	}
	if err != nil {
		return r, out.String(), fmt.Errorf("%s: %w", name, err)
	}
	return r, out.String(), nil
}

func printResults(w io.Writer, rs []result, atOnce int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "client\trequests\tCPU µs/request\t× wrk\treq/s\t÷ wrk\tpeak RSS MB\tKB per user at once\t")
	perReq := func(r result) float64 { return float64(r.cpu.Microseconds()) / float64(max(r.requests, 1)) }
	rate := func(r result) float64 { return float64(r.requests) / r.wall.Seconds() }
	wrk := rs[0]
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%.0f\t%.2f\t%.1f\t%.1f\t\n", r.name, r.requests, perReq(r), perReq(r)/perReq(wrk),
			rate(r), rate(r)/rate(wrk), float64(r.maxRSSKB)/1024, float64(r.maxRSSKB)/float64(max(atOnce, 1)))
	}
	_ = tw.Flush()
}

// counting counts every request the client sends, the redirects it follows included.
type counting struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (c counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// naive is the comparison client: what one writes first with net/http — a cookie jar and a Transport per user,
// the login form read and posted, then the pages — and nothing else.
func naive(args []string) error {
	fs := flag.NewFlagSet("naive", flag.ContinueOnError)
	base := fs.String("url", "", "the balancer")
	users := fs.Int("users", 2000, "users")
	pages := fs.Int("pages", 20, "pages per user")
	atOnce := fs.Int("concurrency", 50, "users at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var requests, failures atomic.Int64
	next := make(chan int)
	var wg sync.WaitGroup
	for range *atOnce {
		wg.Go(func() {
			for id := range next {
				jar, _ := cookiejar.New(nil)
				tr := &http.Transport{}
				c := &http.Client{Jar: jar, Transport: counting{tr, &requests}}
				do := func(resp *http.Response, err error) {
					if err != nil {
						failures.Add(1)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				do(c.Get(*base + "/login"))
				do(c.PostForm(*base+"/login", url.Values{"username": {"user" + strconv.Itoa(id)}, "password": {"secret"}}))
				for p := 1; p <= *pages; p++ {
					do(c.Get(*base + "/page/" + strconv.Itoa(p)))
				}
				tr.CloseIdleConnections()
			}
		})
	}
	for id := 1; id <= *users; id++ {
		next <- id
	}
	close(next)
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(map[string]int64{"requests": requests.Load(), "failures": failures.Load()})
}
