//go:build linux

package arpscan

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// dialIn opens a PacketConn on ifname inside ns.
func dialIn(t *testing.T, ns *netnstest.NS, ifname string, cfg DialConfig) *PacketConn {
	t.Helper()
	var c *PacketConn
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		c, err = Dial(ifi, cfg)
		return err
	})
	if err != nil {
		t.Fatalf("dial %s in %s: %v", ifname, ns.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPacketConn sends requests to a kernel through the real sockets: the
// replies come back with kernel timestamps; a past deadline still returns
// what is queued, then times out; neither direction allocates per call.
func TestPacketConn(t *testing.T) {
	for name, cfg := range map[string]DialConfig{"ring": {}, "recvmmsg": {RingSize: -1}} {
		t.Run(name, func(t *testing.T) { testPacketConn(t, cfg) })
	}
}

func testPacketConn(t *testing.T, cfg DialConfig) {
	netnstest.Require(t)
	a, b := netnstest.Pair(t, "apc", "198.18.3.1/24", "198.18.3.2/24")
	c := dialIn(t, a, "eth0", cfg)
	p := Packet{EthDst: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, VLAN: -1, Op: opRequest, SPA: [4]byte{198, 18, 3, 1}, TPA: [4]byte{198, 18, 3, 2}}
	copy(p.EthSrc[:], c.Interface().HardwareAddr)
	p.SHA = p.EthSrc
	frame := AppendFrame(nil, &p)
	frames := make([][]byte, 8)
	for i := range frames {
		frames[i] = slices.Clone(frame)
	}
	start := time.Now()
	if n, err := c.WriteFrames(frames); err != nil || n != 8 {
		t.Fatalf("WriteFrames = %d, %v", n, err)
	}
	msgs := make([]Msg, 16)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 128)
	}
	got := 0
	var q Packet
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for got < 8 {
		n, err := c.ReadFrames(msgs)
		if err != nil {
			t.Fatalf("ReadFrames after %d replies: %v", got, err)
		}
		for _, m := range msgs[:n] {
			if err := DecodeFrame(m.Buf[:m.N], &q); err != nil || q.Op != opReply || q.SPA != p.TPA {
				t.Fatalf("unexpected frame % x (%v)", m.Buf[:m.N], err)
			}
			if m.VLAN != -1 || m.Time.Before(start.Add(-time.Second)) || m.Time.After(time.Now()) {
				t.Errorf("reply metadata: vlan %d time %v", m.VLAN, m.Time)
			}
			got++
		}
	}
	// Queued frames are returned even after the deadline.
	if _, err := c.WriteFrames(frames[:1]); err != nil {
		t.Fatal(err)
	}
	netnstest.WaitFor(t, 5*time.Second, "the reply to be queued", func() bool {
		rx, _, err := c.Stats()
		return err == nil && rx > 0
	})
	c.SetReadDeadline(time.Unix(1, 0))
	if n, err := c.ReadFrames(msgs); n != 1 || err != nil {
		t.Errorf("past deadline with a reply queued: ReadFrames = %d, %v; want 1, nil", n, err)
	}
	if n, err := c.ReadFrames(msgs); n != 0 || !timeout(err) {
		t.Errorf("past deadline, nothing queued: ReadFrames = %d, %v; want a timeout", n, err)
	}
	_ = b

	// Allocations per call, on the real sockets.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if a := testing.AllocsPerRun(50, func() {
		if _, err := c.WriteFrames(frames); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("WriteFrames: %v allocations per call", a)
	}
	if a := testing.AllocsPerRun(50, func() { // 51 reads of 2 from 408 queued replies
		if _, err := c.ReadFrames(msgs[:2]); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("ReadFrames: %v allocations per call", a)
	}
	// Waiting for a frame allocates nothing either: each read below finds
	// nothing ready and waits in the poller until its reply arrives.
	c.SetReadDeadline(time.Unix(1, 0))
	for { // drain
		if _, err := c.ReadFrames(msgs); err != nil {
			break
		}
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if a := testing.AllocsPerRun(20, func() {
		if _, err := c.WriteFrames(frames[:1]); err != nil {
			t.Fatal(err)
		}
		if n, err := c.ReadFrames(msgs[:1]); n != 1 || err != nil {
			t.Fatalf("ReadFrames = %d, %v", n, err)
		}
	}); a != 0 {
		t.Errorf("write, then wait for the reply: %v allocations per round", a)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
