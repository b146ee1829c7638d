package arpscan

import (
	"math"
	"time"

	"github.com/rawlab/rawlab/craft"
)

// DefaultBandwidth is arp-scan's default outgoing bandwidth, in bit/s.
const DefaultBandwidth = 256000

// RateForBandwidth converts a bandwidth in bit/s into ARP requests per
// second, costing each frame craft.ARPFrameBits(vlan) as arp-scan does: 256,000 bit/s
// gives 500 frames/s.
func RateForBandwidth(bitsPerSecond float64, vlan bool) float64 {
	return bitsPerSecond / float64(craft.ARPFrameBits(vlan))
}

// bucket is a token bucket in integer nanoseconds: tokens accrue at rate per
// second up to capacity. The sender asks how many frames it may send now and,
// when none, how long until a whole batch is available, so it sleeps once per
// batch rather than once per frame.
type bucket struct {
	rate     float64 // tokens per second; +Inf = unlimited
	capacity float64
	tokens   float64
	last     int64 // ns of the last refill
}

// newBucket returns a bucket for rate frames/s that starts with one token
// (the first frame leaves at once) and holds at most burst tokens.
func newBucket(rate float64, burst int, now int64) *bucket {
	if math.IsInf(rate, 1) {
		return &bucket{rate: rate}
	}
	// Room for a second of frames: a wake-up that comes late (a busy
	// machine can leave a process unscheduled for tens or hundreds of
	// milliseconds) is made up for, as arp-scan makes up its cumulative
	// timing error, so that the average rate holds; a longer stall is not
	// turned into a flood. Never less than a batch.
	c := max(1, float64(burst), math.Min(rate, 65536))
	return &bucket{rate: rate, capacity: c, tokens: 1, last: now}
}

// take returns how many of want frames may leave at now and removes their
// tokens.
func (b *bucket) take(now int64, want int) int {
	if math.IsInf(b.rate, 1) {
		return want
	}
	if now > b.last {
		b.tokens = math.Min(b.capacity, b.tokens+float64(now-b.last)*b.rate/1e9)
		b.last = now
	}
	n := min(want, int(b.tokens))
	b.tokens -= float64(n)
	return n
}

// wait returns how long from now until want tokens (at most the capacity)
// are available.
func (b *bucket) wait(now int64, want int) time.Duration {
	if math.IsInf(b.rate, 1) {
		return 0
	}
	need := math.Min(float64(want), math.Floor(b.capacity)) - b.tokens
	if now > b.last {
		need -= float64(now-b.last) * b.rate / 1e9
	}
	if need <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(need * 1e9 / b.rate))
}

// batchFor returns how many frames to gather per send at rate: about a
// millisecond's worth, between 1 and max.
func batchFor(rate float64, maxBatch int) int {
	if math.IsInf(rate, 1) {
		return maxBatch
	}
	return max(1, min(maxBatch, int(rate/1000)))
}

// rttEstimator keeps the smoothed round-trip time and its variation as
// RFC 6298 section 2 defines them (alpha 1/8, beta 1/4).
type rttEstimator struct {
	srtt, rttvar int64 // ns; srtt == 0 means no sample yet
}

func (e *rttEstimator) add(sample int64) {
	if sample <= 0 {
		sample = 1
	}
	if e.srtt == 0 {
		e.srtt = sample
		e.rttvar = sample / 2
		return
	}
	d := e.srtt - sample
	if d < 0 {
		d = -d
	}
	e.rttvar = (3*e.rttvar + d) / 4
	e.srtt = (7*e.srtt + sample) / 8
}

// rto returns SRTT + 4*RTTVAR kept within [floor, ceil], or ceil before the
// first sample.
func (e *rttEstimator) rto(floor, ceil time.Duration) time.Duration {
	if e.srtt == 0 {
		return ceil
	}
	d := time.Duration(e.srtt + 4*e.rttvar)
	return min(max(d, floor), ceil)
}

// TryTimeout returns how long the scanner waits after the try-th request to
// a host (try counts from 1) before the next one, or before giving up after
// the last: base times backoff^(try-1), as arp-scan's --timeout and
// --backoff define it.
func TryTimeout(base time.Duration, backoff float64, try int) time.Duration {
	return time.Duration(float64(base) * math.Pow(backoff, float64(try-1)))
}
