//go:build linux

package arpscan

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// listenIn opens Sockets on ifname inside ns.
func listenIn(t *testing.T, ns *netnstest.NS, ifname string, cfg ListenConfig) *Sockets {
	t.Helper()
	var c *Sockets
	if err := ns.Do(func() (err error) { c, err = Listen(ifname, cfg); return err }); err != nil {
		t.Fatalf("listen on %s in %s: %v", ifname, ns.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSockets sends requests to a kernel through capture's sockets: only
// the replies pass the compiled filter (this host's own requests do not),
// with kernel timestamps; a read after the context ends returns; neither
// direction allocates per call once running.
func TestSockets(t *testing.T) {
	for name, cfg := range map[string]ListenConfig{"ring": {RingSize: 1 << 20}, "recvmmsg": {}} {
		t.Run(name, func(t *testing.T) { testSockets(t, cfg) })
	}
}

func testSockets(t *testing.T, cfg ListenConfig) {
	netnstest.Require(t)
	a, _ := netnstest.Pair(t, "aso", "198.18.3.1/24", "198.18.3.2/24")
	c := listenIn(t, a, "eth0", cfg)
	p := Packet{EthDst: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, Op: opRequest, SPA: [4]byte{198, 18, 3, 1}, TPA: [4]byte{198, 18, 3, 2}}
	copy(p.EthSrc[:], a.HardwareAddr(t, "eth0"))
	p.SHA = p.EthSrc
	frame := AppendFrame(nil, &p)
	frames := make([][]byte, 8)
	for i := range frames {
		frames[i] = slices.Clone(frame)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if n, err := c.WriteFrames(ctx, frames); err != nil || n != 8 {
		t.Fatalf("WriteFrames = %d, %v", n, err)
	}
	msgs := make([]capture.Msg, 16)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 128)
	}
	var q Packet
	for got := 0; got < 8; {
		n, err := c.ReadFrames(ctx, msgs)
		if err != nil {
			t.Fatalf("ReadFrames after %d replies: %v", got, err)
		}
		for _, m := range msgs[:n] {
			if err := DecodeFrame(m.Buf[:m.N], &q); err != nil || q.Op != opReply || q.SPA != p.TPA {
				t.Fatalf("frame % x (%v) passed the reply filter", m.Buf[:m.N], err)
			}
			if m.Info.VLAN || m.Info.Time.Before(start.Add(-time.Second)) || m.Info.Time.After(time.Now()) {
				t.Errorf("reply metadata: %+v", m.Info)
			}
			got++
		}
	}
	if a := testing.AllocsPerRun(20, func() {
		if _, err := c.WriteFrames(ctx, frames[:1]); err != nil {
			t.Fatal(err)
		}
		if n, err := c.ReadFrames(ctx, msgs[:1]); n != 1 || err != nil {
			t.Fatalf("ReadFrames = %d, %v", n, err)
		}
	}); a != 0 {
		t.Errorf("write, then wait for the reply: %v allocations per round", a)
	}
	done, stop := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, stop)
	if n, err := c.ReadFrames(done, msgs); err == nil {
		t.Errorf("ReadFrames with nothing to read returned %d frames and no error after its context ended", n)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
