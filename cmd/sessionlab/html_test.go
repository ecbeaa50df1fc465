package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds Debian's chromium (make deps installs it); the check is part of the suite, so its absence fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("no chromium binary: install Debian's chromium package (make deps does)")
	return ""
}

// requestsOf opens the file in headless Chromium and returns every URL the page asked for, the page included.
func requestsOf(t *testing.T, browser, file string) []string {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]), chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()))
	// No timeout on the browser's own context: it would stop the browser; each step gets one below.
	allocCtx, stopBrowser := chromedp.NewExecAllocator(context.Background(), opts...)
	defer stopBrowser() // kills chromium and waits for it
	tabCtx, closeTab := chromedp.NewContext(allocCtx)
	defer closeTab()

	var mu sync.Mutex
	var urls []string
	_, err := chromedp.Call(tabCtx, network.Enable, network.EnableParams{})
	require.NoError(t, err, "start chromium")
	require.NoError(t, chromedp.Listen(tabCtx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL)
			mu.Unlock()
		}
	}))
	stepCtx, cancel := context.WithTimeout(tabCtx, time.Minute)
	defer cancel()
	require.NoError(t, chromedp.Do(stepCtx, chromedp.Navigate("file://"+file), chromedp.WaitReady("body"),
		chromedp.Sleep(500*time.Millisecond))) // room for a late fetch (a lazy image, a font) to show up
	title, err := chromedp.Run(stepCtx, chromedp.Title())
	require.NoError(t, err)
	assert.NotEmpty(t, title)
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(urls)
}

func TestHTMLReportMakesNoRequestInChromium(t *testing.T) {
	skipShort(t)
	browser := chromium(t)
	dir := t.TempDir()

	// The checker sees fetches: a page with an image, a stylesheet background and a script asks for all three.
	control := filepath.Join(dir, "control.html")
	require.NoError(t, os.WriteFile(control, []byte(`<!doctype html><html><head><title>control</title>
<style>body{background:url(http://127.0.0.1:9/bg.png)}</style></head>
<body><img src="http://127.0.0.1:9/x.png"><script src="http://127.0.0.1:9/x.js"></script></body></html>`), 0o644))
	got := requestsOf(t, browser, control)
	assert.Contains(t, got, "http://127.0.0.1:9/x.png")
	assert.Contains(t, got, "http://127.0.0.1:9/x.js")
	assert.Contains(t, got, "http://127.0.0.1:9/bg.png")

	// A run with a fault (shaded on the plot) and a comparison: each page is the only thing requested.
	runDir, cmpDir := filepath.Join(dir, "run"), filepath.Join(dir, "compare")
	_, err := execute(t, "run", "--quiet", "--format", "html", "--out", runDir, "../../scenarios/kill-replica.yaml",
		"--set", "clients.users=60", "--set", "clients.concurrency=60", "--set", "clients.pages=10")
	if err != nil {
		var unmet unmetError
		require.ErrorAs(t, err, &unmet, "the run itself must finish")
	}
	_, err = execute(t, "compare", "--quiet", "--format", "html", "--out", cmpDir, "--strategies", "round-robin,ip-hash,cookie-insert",
		rrMemory, "--set", "clients.users=30")
	require.NoError(t, err)
	for _, page := range []string{filepath.Join(runDir, "report.html"), filepath.Join(cmpDir, "report.html")} {
		assert.Equal(t, []string{"file://" + page}, requestsOf(t, browser, page), "%s asks for nothing but itself", page)
	}
}
