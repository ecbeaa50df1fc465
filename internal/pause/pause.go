// Package pause waits for a while unless a context ends first: the users' think times and the nemesis's and the
// runtimes' waits, written once for the clients and the harness.
package pause

import (
	"context"
	"time"
)

// Sleep waits d, or less when ctx ends first; it reports whether the whole pause passed with ctx still live.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
