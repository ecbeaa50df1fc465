package reports

import (
	"net/netip"

	"github.com/sessionlab/sessionlab/clients/events"
)

// maxBuckets bounds OverTime: a plot of the run stays readable however long the run was.
const maxBuckets = 120

// sliceMs is the finest resolution the accumulator keeps; Report merges slices into wider buckets.
const sliceMs = 100

// maxSlices caps the series at a day: a log with a stray huge t_ms counts it in the last slice rather than
// growing the series without bound.
const maxSlices = 24 * 3600 * 1000 / sliceMs

// bucketWidths are the widths OverTime may use, narrowest first, so that axis ticks fall on round numbers.
var bucketWidths = []int64{100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000}

// series counts exchanges by outcome in slices of sliceMs. It keeps only the slices that count something, so that a
// stray huge t_ms in a damaged log costs one slice, not a day of them.
type series struct {
	slices map[int64]*Bucket
	last   int64 // the highest slice index counted
}

// sliceOf is the slice an exchange's answer arrived in, clamped to the series' span; negative times are 0.
func sliceOf(e events.Event) int64 {
	const span = maxSlices * sliceMs
	t := min(max(e.TMs, 0), span) + min(max(e.LatencyUS/1000, 0), span)
	return min(t/sliceMs, maxSlices-1)
}

func (s *series) add(e events.Event) {
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
	case events.OutcomeInterrupted:
		b.Interrupted++
	default:
		b.Error++
	}
}

// overTime merges the slices into the narrowest bucket width that gives at most maxBuckets buckets; every bucket
// from the run's start to its last answer is there, empty or not.
func (s *series) overTime() OverTime {
	out := OverTime{BucketMs: bucketWidths[0], Buckets: []Bucket{}}
	if len(s.slices) == 0 {
		return out
	}
	n := s.last + 1
	out.BucketMs = bucketWidths[len(bucketWidths)-1]
	for _, w := range bucketWidths {
		if n*sliceMs <= w*maxBuckets {
			out.BucketMs = w
			break
		}
	}
	per := out.BucketMs / sliceMs
	out.Buckets = make([]Bucket, s.last/per+1)
	for j := range out.Buckets {
		out.Buckets[j].FromMs = int64(j) * out.BucketMs
	}
	for i, sl := range s.slices {
		b := &out.Buckets[i/per]
		b.OK += sl.OK
		b.Reauth += sl.Reauth
		b.Loss += sl.Loss
		b.Loop += sl.Loop
		b.CSRF += sl.CSRF
		b.Rejected += sl.Rejected
		b.RateLimited += sl.RateLimited
		b.Error += sl.Error
		b.Interrupted += sl.Interrupted
	}
	return out
}

// Total is the number of exchanges the bucket counts.
func (b Bucket) Total() int {
	return b.OK + b.Reauth + b.Loss + b.Loop + b.CSRF + b.Rejected + b.RateLimited + b.Error + b.Interrupted
}

// addresses collects the distinct client addresses for Report.Network.
type addresses map[string]struct{}

func (a addresses) network() Network {
	keys := make(map[netip.Addr]struct{}, len(a))
	for s := range a {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			keys[netip.Addr{}] = struct{}{} // not an address: all such count as one key
			continue
		}
		if ip = ip.Unmap(); ip.Is4() {
			b := ip.As4()
			b[3] = 0
			ip = netip.AddrFrom4(b)
		}
		keys[ip] = struct{}{}
	}
	return Network{Addresses: len(a), HashKeys: len(keys)}
}
