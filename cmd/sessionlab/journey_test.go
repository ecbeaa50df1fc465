package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/sessionlab/sessionlab/cmd/internal/har"
	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/reports"
)

// journeyOf runs `sessionlab journey ARGS…` in-process and returns what it printed on stdout and on stderr.
func journeyOf(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"journey"}, args...))
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// splitDraft is the printed draft as the two --set values a run takes: the journey: section's YAML, and
// app.session_cookie.
func splitDraft(t *testing.T, printed string) (journey, cookie string) {
	t.Helper()
	var doc struct {
		App struct {
			SessionCookie string `yaml:"session_cookie"`
		} `yaml:"app"`
		Journey yaml.Node `yaml:"journey"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(printed), &doc), printed)
	text, err := yaml.Marshal(&doc.Journey)
	require.NoError(t, err)
	return string(text), doc.App.SessionCookie
}

func TestJourneyFromHARFixture(t *testing.T) {
	out, stderr, err := journeyOf(t, "--from-har", "../internal/har/testdata/form.har")
	require.NoError(t, err)
	assert.Regexp(t, `^sessionlab: \d+ thing\(s\) to review`, stderr, "the summary goes to stderr, the YAML alone to stdout")
	assert.NotContains(t, out, "hunter2-Sekret", "the recorded password")
	journey, cookie := splitDraft(t, out)
	assert.Equal(t, "sid", cookie)
	s, err := scenario.Load("../../scenarios/own-app-fakeapp.yaml", "journey="+journey, "app.session_cookie="+cookie)
	require.NoError(t, err, "the draft replaces the own-app scenario's journey:\n%s", journey)
	assert.Equal(t, []string{"/page/1", "/page/2"}, s.Journey.Pages)

	_, _, err = journeyOf(t)
	assert.ErrorContains(t, err, "--from-har FILE is required")
	_, _, err = journeyOf(t, "--from-har", "../internal/har/testdata/no-login.har")
	assert.ErrorContains(t, err, "no-login.har: no login in the recording")
	_, _, err = journeyOf(t, "--from-har", "journey_test.go")
	assert.ErrorContains(t, err, "journey_test.go: not a HAR file")
}

// A login and two pages of the fake app, recorded by headless Chromium into a HAR, give a journey that runs the
// own-app scenario as its hand-written journey does: no login failure behind cookie-insert, and under round-robin
// the login loop with the same figures as the hand-written journey on the same seed.
func TestJourneyFromChromiumRecording(t *testing.T) {
	skipShort(t)
	browser := chromium(t)
	fakeapp := filepath.Join(binDir, "fakeapp")
	base := startFakeApp(t, fakeapp)

	h := recordHAR(t, browser, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "user1"),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "secret"),
			chromedp.Click(chromedp.CSS("button"))); err != nil {
			return err
		}
		for { // the POST, its redirect to / and the page it ends on
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				return err
			}
			if u, _ := url.Parse(loc); u != nil && u.Path == "/" {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		return chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body")),
			chromedp.Navigate(base+"/page/1"), chromedp.WaitReady(chromedp.CSS("body")),
			chromedp.Navigate(base+"/page/2"), chromedp.WaitReady(chromedp.CSS("body")))
	})
	file := filepath.Join(t.TempDir(), "fakeapp.har")
	text, err := json.MarshalIndent(h, "", " ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, text, 0o644))
	require.Contains(t, string(text), "secret", "the recording holds the password typed")

	out, _, err := journeyOf(t, "--from-har", file)
	require.NoError(t, err)
	t.Logf("sessionlab journey --from-har %s:\n%s", file, out)
	assert.NotRegexp(t, `\bsecret\b`, out, "the password typed is not printed")
	journey, cookie := splitDraft(t, out)
	assert.Equal(t, "sid", cookie, "the fake app's session cookie")

	app := fmt.Sprintf(`app.command=[%q, "-listen={{.Addr}}", "-name={{.Name}}", "-users={{.Users}}", "-secret={{.Secret}}", "-no-replica-header"]`, fakeapp)
	drafted := []string{app, "journey=" + journey, "app.session_cookie=" + cookie, "journey.users.password=secret"}
	s, err := scenario.Load("../../scenarios/own-app-fakeapp.yaml", drafted...)
	require.NoError(t, err)
	j := s.Journey
	assert.Equal(t, scenario.Login{FormPath: "/login", Method: "POST", Path: "/login",
		Form: map[string]string{"username": "{{.User}}", "password": "{{.Password}}"}}, j.Login)
	assert.Equal(t, scenario.Success{Path: "/", Status: 200}, j.Success)
	assert.Equal(t, []string{"/page/1", "/page/2"}, j.Pages)
	assert.Equal(t, []string{"/login"}, j.LoggedOut.RedirectTo, "GET / answered 302 to /login before the login")
	assert.Equal(t, "user{{.ID}}", j.Users.Name)

	run := func(sets ...string) *reports.Report {
		t.Helper()
		s, err := scenario.Load("../../scenarios/own-app-fakeapp.yaml", sets...)
		require.NoError(t, err)
		rep, err := harness.Run(context.Background(), s, harness.WithRuntime(harness.Local()))
		require.NoError(t, err)
		require.NotNil(t, rep.Totals.LoginFailRate)
		return rep
	}
	t.Run("cookie-insert", func(t *testing.T) {
		rep := run(append(drafted, "balancer.strategy=cookie-insert")...)
		assert.Zero(t, *rep.Totals.LoginFailRate, "login_failure_rate: %v", rep.FailureCauses)
		assert.Zero(t, rep.Totals.SessionLosses)
		assert.Zero(t, rep.Totals.Errors)
	})
	t.Run("round-robin", func(t *testing.T) {
		rep := run(append(drafted, "balancer.strategy=round-robin")...)
		assert.Greater(t, *rep.Totals.LoginFailRate, 0.3, "round-robin bounces logins, as the own-app test asserts")
		assert.Positive(t, rep.FailureCauses["loop"], "the failures are login loops: %v", rep.FailureCauses)
		assert.Positive(t, rep.Totals.UsersInLoginLoop, "users in a login loop")
		// The hand-written journey on the same seed: the same figures, the pages' paths aside.
		own := run(app, "balancer.strategy=round-robin")
		assert.Equal(t, *own.Totals.LoginFailRate, *rep.Totals.LoginFailRate, "login_failure_rate")
		assert.Equal(t, own.FailureCauses, rep.FailureCauses)
		assert.Equal(t, own.Totals.Requests, rep.Totals.Requests)
		assert.Equal(t, own.Totals.UsersInLoginLoop, rep.Totals.UsersInLoginLoop)
	})
}

// startFakeApp runs one fake app replica (accounts user1..user3, password "secret") on a free port and returns its
// URL; the test's cleanup stops it.
func startFakeApp(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "-listen=127.0.0.1:0", "-name=replica-1", "-users=3")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addrs := make(chan string, 1)
	go func() {
		serving := regexp.MustCompile(`msg=serving .*addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1]
			}
		}
	}()
	select {
	case addr := <-addrs:
		base := "http://" + addr
		resp, err := http.Get(base + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		return base
	case <-time.After(10 * time.Second):
		t.Fatal("the fake app did not say where it serves")
		return ""
	}
}

// hop is one request of a recording: a redirect is a hop of the request it redirects.
type hop struct {
	id          network.RequestID
	kind        network.ResourceType
	req         *network.Request
	resp        *network.Response
	reqHeaders  network.Headers // the raw headers, cookies included (requestWillBeSentExtraInfo)
	respHeaders network.Headers // the raw headers, Set-Cookie included (responseReceivedExtraInfo)
	body        string
	started     time.Time
}

// recordHAR runs steps in headless Chromium and returns the HAR of its network traffic, built from the CDP
// network events as the devtools build theirs: a request and its redirects (one entry per hop), the raw headers
// of the extra-info events (the Cookie and Set-Cookie headers), post data, and each response's body.
func recordHAR(t *testing.T, browser string, steps func(ctx context.Context) error) *har.HAR {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]), chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()))
	allocCtx, stopBrowser := chromedp.NewExecAllocator(context.Background(), opts...)
	defer stopBrowser()
	tabCtx, closeTab := chromedp.NewContext(allocCtx)
	defer closeTab()
	_, err := chromedp.Call(tabCtx, network.Enable, network.EnableParams{})
	require.NoError(t, err, "start chromium")

	var (
		mu                  sync.Mutex
		hops                []*hop
		byID                = map[network.RequestID][]*hop{}
		reqExtra, respExtra = map[network.RequestID][]network.Headers{}, map[network.RequestID][]network.Headers{}
		bodies              sync.WaitGroup
	)
	last := func(id network.RequestID) *hop {
		if hs := byID[id]; len(hs) > 0 {
			return hs[len(hs)-1]
		}
		return nil
	}
	require.NoError(t, chromedp.Listen(tabCtx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if h := last(e.RequestID); h != nil && e.RedirectResponse != nil {
				h.resp = e.RedirectResponse
			}
			h := &hop{id: e.RequestID, kind: e.Type, req: e.Request, started: time.Now()}
			hops = append(hops, h)
			byID[e.RequestID] = append(byID[e.RequestID], h)
		case *network.EventRequestWillBeSentExtraInfo:
			reqExtra[e.RequestID] = append(reqExtra[e.RequestID], e.Headers)
		case *network.EventResponseReceivedExtraInfo:
			respExtra[e.RequestID] = append(respExtra[e.RequestID], e.Headers)
		case *network.EventResponseReceived:
			if h := last(e.RequestID); h != nil {
				h.resp, h.kind = e.Response, e.Type
			}
		case *network.EventLoadingFinished:
			h := last(e.RequestID)
			if h == nil {
				return
			}
			bodies.Add(1)
			go func() { // not in the listener: a command waits for the loop that calls it
				defer bodies.Done()
				res, err := chromedp.Call(tabCtx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: e.RequestID})
				if err == nil {
					mu.Lock()
					h.body = string(res.Body)
					mu.Unlock()
				}
			}()
		}
	}))
	stepCtx, cancel := context.WithTimeout(tabCtx, time.Minute)
	defer cancel()
	require.NoError(t, steps(stepCtx))
	time.Sleep(300 * time.Millisecond) // the last events
	bodies.Wait()

	mu.Lock()
	defer mu.Unlock()
	for id, hs := range byID { // the k-th extra info of a request is its k-th hop's
		for k, h := range hs {
			if k < len(reqExtra[id]) {
				h.reqHeaders = reqExtra[id][k]
			}
			if k < len(respExtra[id]) {
				h.respHeaders = respExtra[id][k]
			}
		}
	}
	out := &har.HAR{Log: har.Log{Version: "1.2", Creator: har.Creator{Name: "sessionlab test (chromedp)", Version: "1"}}}
	for _, h := range hops {
		if h.resp == nil || !strings.HasPrefix(h.req.URL, "http") {
			continue
		}
		out.Log.Entries = append(out.Log.Entries, h.entry())
	}
	return out
}

// entry is the hop as a HAR entry.
func (h *hop) entry() har.Entry {
	reqH := harHeaders(h.reqHeaders, h.req.Headers)
	respH := harHeaders(h.respHeaders, h.resp.Headers)
	e := har.Entry{
		StartedDateTime: h.started.UTC().Format(time.RFC3339Nano),
		ResourceType:    strings.ToLower(string(h.kind)),
		Request: har.Request{Method: h.req.Method, URL: h.req.URL, HTTPVersion: "HTTP/1.1", Headers: reqH,
			Cookies: []har.Cookie{}, QueryString: []har.NameValue{}, HeadersSize: -1, BodySize: -1},
		Response: har.Response{Status: int(h.resp.Status), StatusText: h.resp.StatusText, HTTPVersion: "HTTP/1.1",
			Headers: respH, Cookies: []har.Cookie{}, HeadersSize: -1, BodySize: -1,
			Content: har.Content{Size: len(h.body), MimeType: h.resp.MimeType, Text: h.body}},
	}
	if u, err := url.Parse(h.req.URL); err == nil {
		for k, vs := range u.Query() {
			for _, v := range vs {
				e.Request.QueryString = append(e.Request.QueryString, har.NameValue{Name: k, Value: v})
			}
		}
	}
	for _, nv := range reqH {
		if strings.EqualFold(nv.Name, "Cookie") {
			if cs, err := http.ParseCookie(nv.Value); err == nil {
				for _, c := range cs {
					e.Request.Cookies = append(e.Request.Cookies, har.Cookie{Name: c.Name, Value: c.Value})
				}
			}
		}
	}
	for _, nv := range respH {
		switch {
		case strings.EqualFold(nv.Name, "Set-Cookie"):
			if c, err := http.ParseSetCookie(nv.Value); err == nil {
				e.Response.Cookies = append(e.Response.Cookies, har.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, HTTPOnly: c.HttpOnly, Secure: c.Secure})
			}
		case strings.EqualFold(nv.Name, "Location"):
			e.Response.RedirectURL = nv.Value
		}
	}
	if h.req.HasPostData {
		var text strings.Builder
		for _, p := range h.req.PostDataEntries {
			text.Write(p.Bytes)
		}
		mime := ""
		for _, nv := range reqH {
			if strings.EqualFold(nv.Name, "Content-Type") {
				mime = nv.Value
			}
		}
		e.Request.PostData = &har.PostData{MimeType: mime, Text: text.String()} // the text alone: HAR's params are optional
	}
	return e
}

// harHeaders are CDP headers as HAR headers, one per line (CDP joins repeated headers with "\n"), sorted by name;
// raw, when the network stack sent them, else the page's view.
func harHeaders(raw, fallback network.Headers) []har.NameValue {
	hs := raw
	if len(hs) == 0 {
		hs = fallback
	}
	out := []har.NameValue{}
	for k, v := range hs {
		s, _ := v.(string)
		for _, line := range strings.Split(s, "\n") {
			out = append(out, har.NameValue{Name: k, Value: line})
		}
	}
	slices.SortStableFunc(out, func(a, b har.NameValue) int { return strings.Compare(a.Name, b.Name) })
	return out
}
