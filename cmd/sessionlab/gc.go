package main

import (
	"os"
	"runtime/debug"
)

// The heap a run holds grows with its users at once (about 6 KiB each, over a base of a few MiB), and Go's default
// lets it grow by as much again before it collects: a few users at once collect often in a small heap, tens of
// thousands hold twice what they need. The run's collector is paced to a headroom of about gcHeadroom instead,
// within [gcPercentMin, gcPercentMax] of the live heap (docs/performance.md, "What the users cost").
const (
	gcBaseHeap    = 8 << 20
	gcHeapPerUser = 6 << 10
	gcHeadroom    = 24 << 20
	gcPercentMin  = 50
	gcPercentMax  = 400
)

// gcPercent is the GOGC for a run with atOnce users at once.
func gcPercent(atOnce int) int {
	live := gcBaseHeap + int64(max(atOnce, 0))*gcHeapPerUser
	return int(min(max(100*gcHeadroom/live, gcPercentMin), gcPercentMax))
}

// setGC paces the collector for atOnce users at once, unless $GOGC says otherwise; restore puts back what was
// there, for a command run inside another program (the tests).
func setGC(atOnce int) (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	prev := debug.SetGCPercent(gcPercent(atOnce))
	return func() { debug.SetGCPercent(prev) }
}
