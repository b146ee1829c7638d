package arpscan

import (
	"math"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	const ms = int64(time.Millisecond)
	b := newBucket(500, 1, 0) // arp-scan's default: one frame per 2 ms
	if n := b.take(0, 1); n != 1 {
		t.Fatalf("first frame: take = %d, want 1 (it leaves at once)", n)
	}
	if n := b.take(ms, 1); n != 0 {
		t.Errorf("after 1 ms: take = %d, want 0", n)
	}
	if w := b.wait(ms, 1); w != time.Millisecond {
		t.Errorf("after 1 ms: wait = %v, want 1ms", w)
	}
	if n := b.take(2*ms, 1); n != 1 {
		t.Errorf("after 2 ms: take = %d, want 1", n)
	}
	// A late wake-up keeps the average rate: the 5 frames owed after a
	// 10 ms oversleep leave at once...
	if n := b.take(12*ms, 10); n != 5 {
		t.Errorf("after a 10 ms oversleep: take = %d, want 5", n)
	}
	// ...but no more than a second's worth (500 frames) after a long stall.
	if n := b.take(3012*ms, 1000); n != 500 {
		t.Errorf("after a 3 s stall: take = %d, want 500 (capacity)", n)
	}

	// 100,000 frames/s over one simulated second, asking for batches of
	// 64 whenever the bucket says so: the count is the rate, the number of
	// waits is about one per batch, not one per frame.
	b = newBucket(100000, 64, 0)
	now, sent, waits := int64(0), 0, 0
	for now < int64(time.Second) {
		sent += b.take(now, 64)
		w := b.wait(now, 64)
		if w <= 0 {
			t.Fatalf("wait %v after taking everything", w)
		}
		waits++
		now += int64(w)
	}
	if sent < 99900 || sent > 100064 {
		t.Errorf("sent %d in a second at 100000/s", sent)
	}
	if waits > 100000/64+2 {
		t.Errorf("%d waits for %d frames: more than one per batch", waits, sent)
	}

	inf := newBucket(math.Inf(1), 64, 0)
	if n := inf.take(0, 64); n != 64 || inf.wait(0, 64) != 0 {
		t.Errorf("unlimited bucket: take %d, wait %v", n, inf.wait(0, 64))
	}
}

func TestBatchFor(t *testing.T) {
	tests := []struct {
		rate float64
		want int
	}{{500, 1}, {1000, 1}, {20000, 20}, {250000, 64}, {math.Inf(1), 64}}
	for _, tt := range tests {
		if got := batchFor(tt.rate, 64); got != tt.want {
			t.Errorf("batchFor(%v) = %d, want %d", tt.rate, got, tt.want)
		}
	}
}

func TestTryTimeout(t *testing.T) {
	// arp-scan's defaults: 500 ms, then 750, then 1125.
	want := []time.Duration{500 * time.Millisecond, 750 * time.Millisecond, 1125 * time.Millisecond}
	for i, w := range want {
		if got := TryTimeout(DefaultTimeout, DefaultBackoff, i+1); got != w {
			t.Errorf("TryTimeout(try %d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestRTTEstimator(t *testing.T) {
	var e rttEstimator
	floor, ceil := 10*time.Millisecond, 500*time.Millisecond
	if got := e.rto(floor, ceil); got != ceil {
		t.Errorf("before any sample: %v, want the ceiling %v", got, ceil)
	}
	e.add(int64(100 * time.Microsecond))
	if e.srtt != int64(100*time.Microsecond) || e.rttvar != int64(50*time.Microsecond) {
		t.Errorf("first sample: srtt %v rttvar %v, want 100µs and 50µs (RFC 6298 2.2)", time.Duration(e.srtt), time.Duration(e.rttvar))
	}
	if got := e.rto(floor, ceil); got != floor {
		t.Errorf("fast LAN: %v, want the floor %v", got, floor)
	}
	e.add(int64(100 * time.Millisecond)) // rttvar = 3/4*50µs + 1/4*99.9ms; srtt = 7/8*100µs + 1/8*100ms
	wantSRTT := (7*int64(100*time.Microsecond) + int64(100*time.Millisecond)) / 8
	wantVar := (3*int64(50*time.Microsecond) + int64(100*time.Millisecond) - int64(100*time.Microsecond)) / 4
	if e.srtt != wantSRTT || e.rttvar != wantVar {
		t.Errorf("second sample: srtt %v rttvar %v, want %v %v", time.Duration(e.srtt), time.Duration(e.rttvar), time.Duration(wantSRTT), time.Duration(wantVar))
	}
	if got, want := e.rto(floor, ceil), time.Duration(wantSRTT+4*wantVar); got != want {
		t.Errorf("rto = %v, want %v", got, want)
	}
	e.add(int64(10 * time.Second))
	if got := e.rto(floor, ceil); got != ceil {
		t.Errorf("slow sample: %v, want the ceiling", got)
	}
}

func TestEstimate(t *testing.T) {
	c := Config{}
	// 256 targets, 2 tries at 500/s = 1.024 s of sending; waits 0.5+0.75.
	if got := c.Estimate(256); got != 1250*time.Millisecond {
		t.Errorf("Estimate(256) = %v, want 1.25s", got)
	}
	if got := c.Estimate(65536); got != time.Duration(float64(65536*2)/500*1e9) {
		t.Errorf("Estimate(65536) = %v", got)
	}
}
