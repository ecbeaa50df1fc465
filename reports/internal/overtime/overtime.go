// Package overtime counts a run's exchanges by outcome in stretches of the time their answers arrived, in memory
// that does not grow with the run: what package reports turns into Report.OverTime, the plot of the run.
package overtime

import "github.com/sessionlab/sessionlab/clients/events"

// maxBuckets bounds the buckets: a plot of the run stays readable however long the run was.
const maxBuckets = 120

// sliceMs is the finest resolution a Series keeps; Buckets merges slices into wider buckets.
const sliceMs = 100

// maxSlices caps the series at a day: a log with a stray huge t_ms counts it in the last slice rather than
// growing the series without bound.
const maxSlices = 24 * 3600 * 1000 / sliceMs

// bucketWidths are the widths Buckets may use, narrowest first, so that axis ticks fall on round numbers.
var bucketWidths = []int64{100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000}

// Series counts exchanges by outcome in slices of sliceMs. It keeps only the slices that count something, so that a
// stray huge t_ms in a damaged log costs one slice, not a day of them. Its zero value is empty and ready.
type Series struct {
	slices map[int64]*Bucket
	last   int64 // the highest slice index counted
}

// Bucket is one stretch of the run, from FromMs on, and its exchanges by outcome; it has reports.Bucket's fields, so
// that reports converts it as it is.
type Bucket struct {
	FromMs                                                     int64
	OK, Reauth, Loss, Loop, CSRF, Rejected, RateLimited, Error int
	HarnessLimit, Interrupted                                  int
}

// sliceOf is the slice an exchange's answer arrived in, clamped to the series' span; negative times are 0.
func sliceOf(e events.Event) int64 {
	const span = maxSlices * sliceMs
	t := min(max(e.TMs, 0), span) + min(max(e.LatencyUS/1000, 0), span)
	return min(t/sliceMs, maxSlices-1)
}

// Add counts an exchange in the slice its answer arrived in.
func (s *Series) Add(e events.Event) {
	i := sliceOf(e)
	if s.slices == nil {
		s.slices = map[int64]*Bucket{}
	}
	b := s.slices[i]
	if b == nil {
		b = &Bucket{}
		s.slices[i] = b
		s.last = max(s.last, i)
	}
	switch e.Outcome {
	case events.OutcomeOK:
		b.OK++
	case events.OutcomeReauth:
		b.Reauth++
	case events.OutcomeLoss:
		b.Loss++
	case events.OutcomeLoop:
		b.Loop++
	case events.OutcomeCSRF:
		b.CSRF++
	case events.OutcomeRejected:
		b.Rejected++
	case events.OutcomeRateLimited:
		b.RateLimited++
	case events.OutcomeHarnessLimit:
		b.HarnessLimit++
	case events.OutcomeInterrupted:
		b.Interrupted++
	default:
		b.Error++
	}
}

// Buckets merges the slices into the narrowest bucket width that gives at most maxBuckets buckets; every bucket
// from the run's start to its last answer is there, empty or not.
func (s *Series) Buckets() (widthMs int64, buckets []Bucket) {
	if len(s.slices) == 0 {
		return bucketWidths[0], []Bucket{}
	}
	n := s.last + 1
	widthMs = bucketWidths[len(bucketWidths)-1]
	for _, w := range bucketWidths {
		if n*sliceMs <= w*maxBuckets {
			widthMs = w
			break
		}
	}
	per := widthMs / sliceMs
	buckets = make([]Bucket, s.last/per+1)
	for j := range buckets {
		buckets[j].FromMs = int64(j) * widthMs
	}
	for i, sl := range s.slices {
		b := &buckets[i/per]
		b.OK += sl.OK
		b.Reauth += sl.Reauth
		b.Loss += sl.Loss
		b.Loop += sl.Loop
		b.CSRF += sl.CSRF
		b.Rejected += sl.Rejected
		b.RateLimited += sl.RateLimited
		b.Error += sl.Error
		b.HarnessLimit += sl.HarnessLimit
		b.Interrupted += sl.Interrupted
	}
	return widthMs, buckets
}
