package reports

import "net/netip"

// overTime is Report.OverTime.
func (a *Accumulator) overTime() OverTime {
	width, buckets := a.series.Buckets()
	ot := OverTime{BucketMs: width, Buckets: make([]Bucket, len(buckets))}
	for i, b := range buckets {
		ot.Buckets[i] = Bucket(b)
	}
	return ot
}

// Total is the number of exchanges the bucket counts.
func (b Bucket) Total() int {
	return b.OK + b.Reauth + b.Loss + b.Loop + b.CSRF + b.Rejected + b.RateLimited + b.Error + b.HarnessLimit + b.Interrupted
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
