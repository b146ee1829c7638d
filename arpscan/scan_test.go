package arpscan

import (
	"context"
	"errors"
	"fmt"
	"github.com/rawlab/rawlab/craft"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func mustTargets(t testing.TB, specs ...string) *Targets {
	t.Helper()
	ts, err := ParseTargets(specs, nil, TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

var scannerMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}

func macN(n int) [6]byte { return [6]byte{0x02, 0xaa, 0, 0, byte(n >> 8), byte(n)} }

func runScan(t *testing.T, c *fakeConn, ts *Targets, cfg Config) *Report {
	t.Helper()
	if cfg.SrcMAC == nil {
		cfg.SrcMAC = scannerMAC
	}
	if !cfg.SenderIP.IsValid() {
		cfg.SenderIP = mustAddr("198.18.0.1")
	}
	s, err := NewScanner(c, ts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := s.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// summary is the comparable part of a Host.
type summary struct {
	IP, MAC, EthSrc string
	Flags           string
	Replies         int
	Requests        int
	VLAN            int
}

func summarize(hs []Host) []summary {
	var out []summary
	for _, h := range hs {
		s := summary{IP: h.IP.String(), MAC: h.MAC.String(), Flags: h.Flags.String(), Replies: h.Replies, Requests: h.Requests}
		if h.Tagged {
			s.VLAN = int(h.VLAN.ID)
		}
		if h.EthSrc != nil {
			s.EthSrc = h.EthSrc.String()
		}
		out = append(out, s)
	}
	return out
}

func TestScanResults(t *testing.T) {
	otherSrc := [6]byte{0x02, 0xbb, 0, 0, 0, 9}
	spa := [4]byte{198, 18, 9, 9}
	tests := []struct {
		name      string
		targets   []string
		hosts     map[string][]*fakeHost
		cfg       Config
		untag     int
		want      []summary
		wantUnexp []summary
		wantSent  int
	}{
		{
			name:    "all answer once",
			targets: []string{"198.18.0.1-198.18.0.3"},
			hosts: map[string][]*fakeHost{
				"198.18.0.1": {{mac: macN(1)}}, "198.18.0.3": {{mac: macN(3)}},
			},
			cfg: Config{Rate: 10000, Timeout: 30 * time.Millisecond},
			want: []summary{
				{IP: "198.18.0.1", MAC: "02:aa:00:00:00:01", Replies: 1, Requests: 1},
				{IP: "198.18.0.3", MAC: "02:aa:00:00:00:03", Replies: 1, Requests: 1},
			},
			wantSent: 1 + 2 + 1, // .2 twice
		},
		{
			name:    "conflict lists every MAC",
			targets: []string{"198.18.0.5"},
			hosts:   map[string][]*fakeHost{"198.18.0.5": {{mac: macN(1)}, {mac: macN(2)}}},
			cfg:     Config{Rate: 10000, Timeout: 30 * time.Millisecond},
			want: []summary{
				{IP: "198.18.0.5", MAC: "02:aa:00:00:00:01", Flags: "CONFLICT", Replies: 1, Requests: 1},
				{IP: "198.18.0.5", MAC: "02:aa:00:00:00:02", Flags: "CONFLICT", Replies: 1, Requests: 1},
			},
			wantSent: 1,
		},
		{
			name:    "dup when a MAC answers one request twice",
			targets: []string{"198.18.0.5"},
			hosts:   map[string][]*fakeHost{"198.18.0.5": {{mac: macN(1), copies: 2}}},
			cfg:     Config{Rate: 10000, Timeout: 30 * time.Millisecond},
			want: []summary{
				{IP: "198.18.0.5", MAC: "02:aa:00:00:00:01", Flags: "DUP", Replies: 2, Requests: 1},
			},
			wantSent: 1,
		},
		{
			name:    "mismatch keeps the Ethernet source",
			targets: []string{"198.18.0.5"},
			hosts:   map[string][]*fakeHost{"198.18.0.5": {{mac: macN(1), ethSrc: &otherSrc}}},
			cfg:     Config{Rate: 10000, Timeout: 30 * time.Millisecond},
			want: []summary{
				{IP: "198.18.0.5", MAC: "02:aa:00:00:00:01", EthSrc: "02:bb:00:00:00:09", Flags: "MISMATCH", Replies: 1, Requests: 1},
			},
			wantSent: 1,
		},
		{
			name:    "lost first request found on the retry",
			targets: []string{"198.18.0.5"},
			hosts:   map[string][]*fakeHost{"198.18.0.5": {{mac: macN(1), drop: 1}}},
			cfg:     Config{Rate: 10000, Timeout: 20 * time.Millisecond},
			want: []summary{
				{IP: "198.18.0.5", MAC: "02:aa:00:00:00:01", Replies: 1, Requests: 2},
			},
			wantSent: 2,
		},
		{
			name:    "untargeted sender reported apart",
			targets: []string{"198.18.0.5"},
			hosts:   map[string][]*fakeHost{"198.18.0.5": {{mac: macN(1), spa: &spa}}},
			cfg:     Config{Rate: 10000, Timeout: 20 * time.Millisecond, Retry: 1},
			wantUnexp: []summary{
				{IP: "198.18.9.9", MAC: "02:aa:00:00:00:01", Replies: 1},
			},
			wantSent: 1,
		},
		{
			name:    "tagged requests, replies untagged by the kernel",
			targets: []string{"198.18.0.5"},
			hosts:   map[string][]*fakeHost{"198.18.0.5": {{mac: macN(1)}}},
			cfg:     Config{Rate: 10000, Tagged: true, VLAN: craft.VLAN{ID: 42}},
			untag:   42,
			want: []summary{
				{IP: "198.18.0.5", MAC: "02:aa:00:00:00:01", Replies: 1, Requests: 1, VLAN: 42},
			},
			wantSent: 1,
		},
		{
			name:    "tagged replies",
			targets: []string{"198.18.0.5"},
			hosts:   map[string][]*fakeHost{"198.18.0.5": {{mac: macN(1)}}},
			cfg:     Config{Rate: 10000, Tagged: true, VLAN: craft.VLAN{ID: 7}},
			untag:   -1,
			want: []summary{
				{IP: "198.18.0.5", MAC: "02:aa:00:00:00:01", Replies: 1, Requests: 1, VLAN: 7},
			},
			wantSent: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeConn()
			c.untag = tt.untag
			if tt.untag == 0 {
				c.untag = -1
			}
			for ip, hs := range tt.hosts {
				for _, h := range hs {
					c.add(ip, h)
				}
			}
			r := runScan(t, c, mustTargets(t, tt.targets...), tt.cfg)
			if diff := cmp.Diff(tt.want, summarize(r.Hosts)); diff != "" {
				t.Errorf("hosts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantUnexp, summarize(r.Unsolicited)); diff != "" {
				t.Errorf("unexpected (-want +got):\n%s", diff)
			}
			if r.Sent != tt.wantSent {
				t.Errorf("sent %d frames, want %d", r.Sent, tt.wantSent)
			}
			if r.Responded != len(tt.hosts) && tt.wantUnexp == nil {
				t.Errorf("responded %d, want %d", r.Responded, len(tt.hosts))
			}
		})
	}
}

func TestScanRequestFrame(t *testing.T) {
	c := newFakeConn()
	cfg := Config{
		Rate: 1000, Retry: 1, Timeout: 5 * time.Millisecond,
		DstMAC:    net.HardwareAddr{0x02, 0xdd, 0, 0, 0, 1},
		SenderMAC: net.HardwareAddr{0x02, 0x5a, 0, 0, 0, 1},
		TargetMAC: net.HardwareAddr{0x02, 0x7a, 0, 0, 0, 1},
		SenderIP:  mustAddr("198.18.7.7"),
	}
	runScan(t, c, mustTargets(t, "198.18.0.9"), cfg)
	if len(c.sent) != 1 {
		t.Fatalf("sent %d frames, want 1", len(c.sent))
	}
	var p Packet
	if err := DecodeFrame(c.sent[0].frame, &p); err != nil {
		t.Fatal(err)
	}
	want := Packet{
		EthDst: [6]byte{0x02, 0xdd, 0, 0, 0, 1}, EthSrc: [6]byte(scannerMAC), Op: opRequest,
		SHA: [6]byte{0x02, 0x5a, 0, 0, 0, 1}, THA: [6]byte{0x02, 0x7a, 0, 0, 0, 1},
		SPA: [4]byte{198, 18, 7, 7}, TPA: [4]byte{198, 18, 0, 9}, HType: 1, PType: 0x0800, HLen: 6, PLen: 4,
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if len(c.sent[0].frame) != 60 {
		t.Errorf("frame is %d bytes, want 60", len(c.sent[0].frame))
	}
}

// TestScanRetrySchedule checks arp-scan's schedule with fixed timeouts: each
// silent host gets Retry tries, the k-th wait is Timeout*Backoff^(k-1), and
// the scan ends after the last wait, not before.
func TestScanRetrySchedule(t *testing.T) {
	c := newFakeConn()
	cfg := Config{Rate: 100000, Retry: 3, Timeout: 20 * time.Millisecond, Backoff: 2}
	start := time.Now()
	r := runScan(t, c, mustTargets(t, "198.18.0.1", "198.18.0.2"), cfg)
	elapsed := time.Since(start)
	if r.Sent != 6 || r.Responded != 0 {
		t.Fatalf("sent %d responded %d, want 6 and 0", r.Sent, r.Responded)
	}
	for _, ip := range []string{"198.18.0.1", "198.18.0.2"} {
		ts := c.sentTo(ip)
		if len(ts) != 3 {
			t.Fatalf("%s: %d tries, want 3", ip, len(ts))
		}
		for k := 1; k < len(ts); k++ {
			want := TryTimeout(cfg.Timeout, cfg.Backoff, k)
			if gap := ts[k].Sub(ts[k-1]); gap < want {
				t.Errorf("%s: try %d came %v after try %d, before its %v timeout", ip, k+1, gap, k, want)
			}
		}
	}
	// 20 + 40 + 80 ms of waits.
	if min := 140 * time.Millisecond; elapsed < min {
		t.Errorf("scan ended after %v, before the last wait (%v)", elapsed, min)
	}
	// The send side was released once the last tries had gone out, not
	// after the last wait.
	last := c.sent[len(c.sent)-1].at
	if c.closedWrite.IsZero() || c.closedWrite.Before(last) || c.closedWrite.Sub(last) > 40*time.Millisecond {
		t.Errorf("CloseWrite at %v, last request at %v: want it right after the last request", c.closedWrite, last)
	}
}

// TestScanAdaptiveEndsEarly: with replies coming at once, the adaptive wait
// falls to its floor, so silent hosts are given up long before the fixed
// timeout would allow.
func TestScanAdaptiveEndsEarly(t *testing.T) {
	c := newFakeConn()
	for i := 1; i <= 20; i++ {
		c.add(fmt.Sprintf("198.18.0.%d", i), &fakeHost{mac: macN(i)})
	}
	cfg := Config{Rate: 100000, Timeout: 2 * time.Second, MinTimeout: 5 * time.Millisecond, Fast: true}
	start := time.Now()
	r := runScan(t, c, mustTargets(t, "198.18.0.0/27"), cfg)
	if r.Responded != 20 {
		t.Errorf("responded %d, want 20", r.Responded)
	}
	if elapsed := time.Since(start); elapsed >= cfg.Timeout {
		t.Errorf("adaptive scan took %v, not less than the %v ceiling", elapsed, cfg.Timeout)
	}
	if !r.Fast || r.GaveUpEarly != 12 {
		t.Errorf("report fast %v gave up early on %d, want true and 12", r.Fast, r.GaveUpEarly)
	}
	if r.Sent != 20+2*12 {
		t.Errorf("sent %d, want %d", r.Sent, 20+2*12)
	}
}

func TestScanLimitAndCancel(t *testing.T) {
	t.Run("limit", func(t *testing.T) {
		c := newFakeConn()
		for i := 0; i < 256; i++ {
			c.add(fmt.Sprintf("198.18.0.%d", i), &fakeHost{mac: macN(i)})
		}
		r := runScan(t, c, mustTargets(t, "198.18.0.0/24"), Config{Rate: 2000, Limit: 3})
		if r.Responded != 3 || len(r.Hosts) != 3 || !r.LimitReached || r.Sent >= 256 {
			t.Errorf("responded %d (%d hosts, limit %v) after %d sent; want exactly 3 and an early stop", r.Responded, len(r.Hosts), r.LimitReached, r.Sent)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		c := newFakeConn()
		s, err := NewScanner(c, mustTargets(t, "198.18.0.0/24"), Config{SrcMAC: scannerMAC, Rate: 100})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		r, err := s.Run(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if r == nil || r.Sent == 0 || r.Sent > 10 || !r.Interrupted || r.Asked != r.Sent {
			t.Errorf("partial report %+v: want a few frames sent", r)
		}
	})
	t.Run("write error", func(t *testing.T) {
		c := newFakeConn()
		c.writeErr = errors.New("boom")
		s, err := NewScanner(c, mustTargets(t, "198.18.0.1"), Config{SrcMAC: scannerMAC})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(context.Background()); err == nil {
			t.Fatal("Run succeeded over a failing connection")
		}
	})
}

func TestScanRandomOrder(t *testing.T) {
	order := func(seed uint64) []netip.Addr {
		ts := mustTargets(t, "198.18.0.0/28")
		ts.Shuffle(seed)
		c := newFakeConn()
		runScan(t, c, ts, Config{Rate: 100000, Retry: 1, Timeout: time.Millisecond})
		var got []netip.Addr
		for _, s := range c.sent {
			got = append(got, netip.AddrFrom4(s.tpa))
		}
		return got
	}
	a, b, c := order(7), order(7), order(8)
	if diff := cmp.Diff(a, b, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
		t.Errorf("same seed, different order (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, c, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })) {
		t.Error("seeds 7 and 8 gave the same order")
	}
	if len(a) != 16 {
		t.Errorf("sent %d, want 16", len(a))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{SrcMAC: scannerMAC}, true},
		{"no source MAC", Config{}, false},
		{"short dst", Config{SrcMAC: scannerMAC, DstMAC: net.HardwareAddr{1, 2}}, false},
		{"ipv6 sender", Config{SrcMAC: scannerMAC, SenderIP: mustAddr("2001:db8::1")}, false},
		{"vlan too big", Config{SrcMAC: scannerMAC, Tagged: true, VLAN: craft.VLAN{ID: 4096}}, false},
		{"backoff below 1", Config{SrcMAC: scannerMAC, Backoff: 0.5}, false},
		{"negative rate", Config{SrcMAC: scannerMAC, Rate: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestScanWindow: with MaxPending 4 and nobody answering, the sender never
// has more than 4 targets outstanding: 16 targets go out in 4 waves, each
// after the previous wave's wait.
func TestScanWindow(t *testing.T) {
	c := newFakeConn()
	cfg := Config{Rate: RateMax, Retry: 1, Timeout: 20 * time.Millisecond, MaxPending: 4}
	r := runScan(t, c, mustTargets(t, "198.18.0.0/28"), cfg)
	if r.Sent != 16 {
		t.Fatalf("sent %d, want 16", r.Sent)
	}
	for i := 4; i < len(c.sent); i++ {
		if gap := c.sent[i].at.Sub(c.sent[i-4].at); gap < cfg.Timeout {
			t.Errorf("request %d went out %v after request %d: more than 4 outstanding", i, gap, i-4)
		}
	}
}

// goneConn takes frames and fails every read, as a socket whose interface
// was deleted does.
type goneConn struct{ nopConn }

func (goneConn) ReadFrames(context.Context, []Msg) (int, error) {
	return 0, errors.New("fake: the interface disappeared")
}

// TestScanStopsWhenReceiveFails: a receive error ends the scan at once with
// that error, rather than after every wait.
func TestScanStopsWhenReceiveFails(t *testing.T) {
	s, err := NewScanner(goneConn{}, mustTargets(t, "198.18.0.0/24"), Config{SrcMAC: scannerMAC, Rate: 100, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r, err := s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "disappeared") || r == nil {
		t.Fatalf("Run = %v, %v; want the receive error", r, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v after the receiver failed", d)
	}
}
