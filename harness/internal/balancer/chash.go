package balancer

import (
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
)

// nginxRing is nginx's `hash … consistent` ring (ngx_http_upstream_hash.c, ketama-compatible): each server of
// weight 1 puts 160 points on a 32-bit circle, point j being crc32(host "\0" port, the previous point's four
// little-endian bytes); a key goes to the server of the first point at or after crc32(key), wrapping.
type nginxRing struct {
	points []ringPoint
}

type ringPoint struct {
	hash   uint32
	server int // index into the upstream list
}

const nginxPointsPerWeight = 160

func newNginxRing(servers []Upstream) nginxRing {
	var r nginxRing
	for i, u := range servers {
		host, port := u.Addr, ""
		if j := strings.LastIndexByte(u.Addr, ':'); j >= 0 {
			host, port = u.Addr[:j], u.Addr[j+1:]
		}
		base := []byte(host + "\x00" + port)
		var prev [4]byte
		for range nginxPointsPerWeight {
			h := crc32.ChecksumIEEE(append(base[:len(base):len(base)], prev[:]...))
			r.points = append(r.points, ringPoint{hash: h, server: i})
			binary.LittleEndian.PutUint32(prev[:], h)
		}
	}
	// nginx sorts by hash and keeps the first of equal hashes; a stable sort keeps server order among them.
	slices.SortStableFunc(r.points, func(a, b ringPoint) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	r.points = slices.CompactFunc(r.points, func(a, b ringPoint) bool { return a.hash == b.hash })
	return r
}

// server is the index of the server key goes to while every server is up.
func (r nginxRing) server(key string) int {
	h := crc32.ChecksumIEEE([]byte(key))
	i, _ := slices.BinarySearchFunc(r.points, h, func(p ringPoint, h uint32) int {
		switch {
		case p.hash < h:
			return -1
		case p.hash > h:
			return 1
		}
		return 0
	})
	return r.points[i%len(r.points)].server
}

// fillRingKeys gives each upstream a key that nginx's consistent hash places on it while all are up, so that a
// balancer re-pinning a user to the replica that answered can write a key that leads there. The keys derive from
// the replica's name only, so the same topology always gets the same keys.
func fillRingKeys(ups []Upstream) {
	if len(ups) == 0 {
		return
	}
	ring := newNginxRing(ups)
	for i := range ups {
		for n := 0; ; n++ {
			key := ups[i].Name + "-" + strconv.Itoa(n)
			if ring.server(key) == i {
				ups[i].RingKey = key
				break
			}
		}
	}
}
