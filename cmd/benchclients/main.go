// Command benchclients measures what the simulated users cost the machine they share with the system under test.
// It starts one stack — nginx (one worker) in front of three fakeapp replicas keeping sessions in sealed cookies — and
// drives it in turn with wrk (one cookie, no login, no jar), a naive Go client (net/http, a cookie jar and a
// Transport per user) and sessionlab in target mode, each a child process, and prints CPU per request, requests per
// second and peak memory per user at once, with the ratios to wrk. `make bench-clients` runs it.
//
// Two last rows are labelled as references, not clients. One is wrk again with a new connection for each user's
// worth of requests (every Nth request asks the server to close, N being sessionlab's requests per user): what the
// kernel's connection set-up alone, which each user pays and wrk's kept connections do not, adds to a request. The
// other is a bare Go client (bare) with sessionlab's shape and none of its work: a goroutine and a connection per
// user on one thread, N prepared requests on it, the answers read and dropped.
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

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

func main() {
	if len(os.Args) > 1 {
		var client func([]string) error
		switch os.Args[1] {
		case "naive":
			client = naive
		case "bare":
			client = bare
		}
		if client != nil {
			if err := client(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "benchclients %s: %v\n", os.Args[1], err)
				os.Exit(1)
			}
			return
		}
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
	// memKB is the peak RSS of the memory run, in which memAtOnce users (wrk: connections) are there at once.
	memKB     int64
	memAtOnce int
	// peakAtOnce is the users at once a sessionlab report counted (totals.peak_users_at_once).
	peakAtOnce int
}

func bench(args []string) error {
	fs := flag.NewFlagSet("benchclients", flag.ContinueOnError)
	users := fs.Int("users", 2000, "users for the naive client and sessionlab")
	pages := fs.Int("pages", 20, "protected pages each user opens after logging in")
	atOnce := fs.Int("concurrency", 50, "users (wrk: connections) at once")
	memUsers := fs.Int("memory-users", 5000, "users (wrk: connections) at once in the memory run")
	memThink := fs.Duration("memory-think", 3*time.Second, "the pause before each page in the memory run, which keeps its users there at once")
	memRamp := fs.Duration("memory-ramp", 2*time.Second, "how long the memory run's users take to arrive, evenly spread")
	wrkTime := fs.Duration("wrk-duration", 10*time.Second, "how long wrk runs")
	sessionlab := fs.String("sessionlab", "bin/sessionlab", "the sessionlab binary to measure")
	scenarioFile := fs.String("scenario", "scenarios/rr-memory.yaml", "the scenario whose stack and journey are used")
	serve := fs.Bool("serve", false, "start the stack, print its address and keep it until interrupted, to profile a client against it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The stack: sealed-cookie sessions with one key, so wrk's one cookie is good on every replica; clients connect
	// from their own addresses (no PROXY header), as wrk and a plain Go client do.
	s, err := scenario.Load(*scenarioFile, "app.sessions=cookie", "app.secret=shared", "balancer.kind=nginx",
		"balancer.strategy=round-robin", "balancer.workers=1", "clients.identity=bind", "clients.users="+strconv.Itoa(max(*users, *memUsers)),
		"clients.concurrency="+strconv.Itoa(max(*atOnce, *memUsers)))
	if err != nil {
		return err
	}
	// The replicas are the measured sessionlab binary's own fake app.
	dep, err := harness.Start(ctx, s, harness.WithRuntime(harness.Local(harness.WithFakeApp(*sessionlab, "fakeapp"))))
	defer func() { _ = dep.Close(context.Background()) }()
	if err != nil {
		return fmt.Errorf("start the stack: %w", err)
	}
	base := "http://" + dep.Endpoint
	cookie, err := loginCookie(base)
	if err != nil {
		return err
	}
	if *serve {
		fmt.Printf("%s\nCookie: %s\n", base, cookie)
		<-ctx.Done()
		return nil
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	naiveArgs := func(users, atOnce, pages int, think, ramp time.Duration) []string {
		return []string{"naive", "-url", base, "-users", strconv.Itoa(users), "-pages", strconv.Itoa(pages),
			"-concurrency", strconv.Itoa(atOnce), "-think", think.String(), "-ramp", ramp.String()}
	}
	sessionlabArgs := func(users, atOnce, pages int, think, ramp time.Duration) []string {
		args := []string{"run", "--quiet", "--format", "json", "--target", base, "--set", "clients.users=" + strconv.Itoa(users),
			"--set", "clients.pages=" + strconv.Itoa(pages), "--set", "clients.concurrency=" + strconv.Itoa(atOnce),
			"--set", "clients.relogin=0", "--set", "clients.identity=x-forwarded-for", "--set", "expect={}"}
		if think > 0 {
			args = append(args, "--set", "clients.think.kind=constant", "--set", "clients.think.mean="+think.String())
		}
		if ramp > 0 {
			rate := float64(users) / ramp.Seconds()
			args = append(args, "--set", "clients.arrival.kind=fixed", "--set", "clients.arrival.rate="+strconv.FormatFloat(rate, 'f', 1, 64))
		}
		return append(args, *scenarioFile)
	}
	// The CPU run: the clients as fast as the stack answers, a few users at once.
	var results []result
	wrk, err := runWrk(ctx, "wrk", base, cookie, *atOnce, *wrkTime)
	if err != nil {
		return err
	}
	results = append(results, wrk)
	n, err := measure(ctx, "naive Go client", *atOnce, self, naiveArgs(*users, *atOnce, *pages, 0, 0)...)
	if err != nil {
		return err
	}
	results = append(results, n)
	sl, err := measure(ctx, "sessionlab (target mode)", *atOnce, *sessionlab, sessionlabArgs(*users, *atOnce, *pages, 0, 0)...)
	if err != nil {
		return err
	}
	results = append(results, sl)
	// The reference: wrk paying for a connection per user's worth of requests, as sessionlab's users do.
	perUser := max(1, (sl.requests+*users/2)/max(*users, 1))
	floor, err := runWrkClosingEvery(ctx, base, cookie, *atOnce, *wrkTime, perUser)
	if err != nil {
		return err
	}
	// And Go with sessionlab's shape: the users' goroutines and connections of their own, doing nothing else.
	bareGo, err := measure(ctx, "reference: bare Go, a goroutine and a connection per user", *atOnce, self, "bare", "-url", base,
		"-cookie", cookie, "-users", strconv.Itoa(*users), "-requests", strconv.Itoa(perUser), "-concurrency", strconv.Itoa(*atOnce))
	if err != nil {
		return err
	}
	// The memory run: memUsers users arriving over memRamp, each pausing between a few pages, so that all of them
	// are there at once; wrk holds as many connections. Peak memory over users at once is what one user costs.
	pagesMem := 4
	memWrk, err := runWrk(ctx, "wrk", base, cookie, *memUsers, 3*time.Second)
	if err != nil {
		return err
	}
	memNaive, err := measure(ctx, "naive Go client", *memUsers, self, naiveArgs(*memUsers, *memUsers, pagesMem, *memThink, *memRamp)...)
	if err != nil {
		return err
	}
	memSL, err := measure(ctx, "sessionlab", *memUsers, *sessionlab, sessionlabArgs(*memUsers, *memUsers, pagesMem, *memThink, *memRamp)...)
	if err != nil {
		return err
	}
	for i, m := range []result{memWrk, memNaive, memSL} {
		results[i].memKB, results[i].memAtOnce = m.maxRSSKB, *memUsers
		if m.peakAtOnce > 0 { // sessionlab's report says how many were there at once
			results[i].memAtOnce = m.peakAtOnce
		}
	}
	printResults(os.Stdout, results, []result{floor, bareGo}, *atOnce)
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

// closeEvery is a wrk script whose every Nth request (N its one argument) asks the server to close the connection:
// wrk then opens a new one. The two requests are put together once; calling the script costs wrk a little per
// request, which makes this reference a little dearer than a wrk that could be told to reconnect.
const closeEvery = `local every, n, plain, closing = 1, 0, nil, nil
function init(args)
  every = tonumber(args[1])
  plain = wrk.format()
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  h["Connection"] = "close"
  closing = wrk.format(nil, nil, h)
end
function request()
  n = n + 1
  if n % every == 0 then return closing end
  return plain
end
`

// runWrkClosingEvery runs wrk with a new connection every perConn requests (closeEvery).
func runWrkClosingEvery(ctx context.Context, base, cookie string, conns int, d time.Duration, perConn int) (result, error) {
	dir, err := os.MkdirTemp("", "benchclients-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	script := dir + "/close-every.lua"
	if err := os.WriteFile(script, []byte(closeEvery), 0o644); err != nil {
		return result{}, err
	}
	name := fmt.Sprintf("reference: wrk, a connection per %d requests", perConn)
	return runWrk(ctx, name, base, cookie, conns, d, "-s", script, base+"/page/1", "--", strconv.Itoa(perConn))
}

// runWrk runs wrk for d on conns connections, on base's first page or with the arguments given instead.
func runWrk(ctx context.Context, name, base, cookie string, conns int, d time.Duration, args ...string) (result, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return result{}, errors.New("wrk not found: install the Debian package wrk (`make bench-clients` does)")
	}
	if len(args) == 0 {
		args = []string{base + "/page/1"}
	}
	r, out, err := run(ctx, name, conns, bin, append([]string{"-t1", "-c" + strconv.Itoa(conns), "-d" + d.String(), "-H", "Cookie: " + cookie}, args...)...)
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
			Requests        int `json:"requests"`
			PeakUsersAtOnce int `json:"peak_users_at_once"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		return r, fmt.Errorf("%s: read its output: %w\n%s", name, err, out)
	}
	r.requests = max(rep.Requests, rep.Totals.Requests)
	r.peakAtOnce = rep.Totals.PeakUsersAtOnce
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

// printResults prints the clients' rows (wrk, the naive client, sessionlab) and the references', then what sessionlab
// costs over each reference.
func printResults(w io.Writer, rs []result, references []result, atOnce int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "client\trequests\tCPU µs/request\t× wrk\t× naive\treq/s\t÷ wrk\tpeak RSS MB (%d at once)\tKB per user at once (%d at once)\t× wrk\t\n",
		atOnce, rs[0].memAtOnce)
	perReq := func(r result) float64 { return float64(r.cpu.Microseconds()) / float64(max(r.requests, 1)) }
	rate := func(r result) float64 { return float64(r.requests) / r.wall.Seconds() }
	perUser := func(r result) float64 { return float64(r.memKB) / float64(max(r.memAtOnce, 1)) }
	wrk, naive, sl := rs[0], rs[1], rs[2]
	for _, r := range append(rs, references...) {
		mem := "–\t–" // a row without a memory run (a reference)
		if r.memAtOnce > 0 {
			mem = fmt.Sprintf("%.1f\t%.2f", perUser(r), perUser(r)/perUser(wrk))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%.2f\t%.0f\t%.2f\t%.1f\t%s\t\n", r.name, r.requests, perReq(r),
			perReq(r)/perReq(wrk), perReq(r)/perReq(naive), rate(r), rate(r)/rate(wrk), float64(r.maxRSSKB)/1024, mem)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, ref := range references {
		fmt.Fprintf(w, "sessionlab costs %.2f× %q per request.\n", perReq(sl)/perReq(ref), ref.name)
	}
	fmt.Fprintln(w, "Over the references is what sessionlab's users do besides sending on connections of their own: a jar, a login form, redirects, the records of the report.")
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
	think := fs.Duration("think", 0, "the pause before each page")
	ramp := fs.Duration("ramp", 0, "how long the users take to arrive, evenly spread")
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
					time.Sleep(*think)
					do(c.Get(*base + "/page/" + strconv.Itoa(p)))
				}
				tr.CloseIdleConnections()
			}
		})
	}
	start := time.Now()
	for id := 1; id <= *users; id++ {
		time.Sleep(time.Until(start.Add(time.Duration(id-1) * *ramp / time.Duration(*users))))
		next <- id
	}
	close(next)
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(map[string]int64{"requests": requests.Load(), "failures": failures.Load()})
}
