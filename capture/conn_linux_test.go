//go:build linux

package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// labPair builds two namespaces joined by a veth pair: a0 (198.18.7.1) in
// a, b0 (198.18.7.2) in b.
func labPair(t testing.TB) (a, b *netnstest.NS) {
	t.Helper()
	a = netnstest.New(t, "cap-a")
	b = netnstest.New(t, "cap-b")
	netnstest.Veth(t, a, "a0", b, "b0")
	a.AddAddr(t, "a0", "198.18.7.1/24")
	b.AddAddr(t, "b0", "198.18.7.2/24")
	return a, b
}

var (
	labA = [4]byte{198, 18, 7, 1}
	labB = [4]byte{198, 18, 7, 2}
)

// listenIn opens a Conn inside the namespace; the socket stays there.
func listenIn(t testing.TB, ns *netnstest.NS, ifname string, cfg Config) *Conn {
	t.Helper()
	var c *Conn
	if err := ns.Do(func() (err error) {
		c, err = Listen(ifname, cfg)
		return err
	}); err != nil {
		t.Fatalf("Listen(%s): %v", ifname, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustFilter(t *testing.T, name string) Config {
	t.Helper()
	f, err := BuiltinFilter(name)
	if err != nil {
		t.Fatal(err)
	}
	return Config{Filter: f}
}

func TestLookupInterface(t *testing.T) {
	a, b := labPair(t)
	netnstest.Veth(t, a, "a1", b, "b1")
	a.LinkDown(t, "a1")
	wantMAC := a.HardwareAddr(t, "a0")
	tests := []struct {
		name    string
		wantErr error
	}{
		{"a0", nil},
		{"nosuch0", ErrNoInterface},
		{"", ErrNoInterface},
		{"averyveryverylongname", ErrNoInterface},
		{"lo", ErrNotEthernet},
		{"a1", ErrInterfaceDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				ifi  *net.Interface
				lerr error
				c    *Conn
			)
			if err := a.Do(func() error {
				ifi, lerr = LookupInterface(tt.name)
				c, err := Listen(tt.name, Config{})
				if err == nil {
					c.Close()
				}
				if !errors.Is(err, tt.wantErr) {
					return err
				}
				return nil
			}); err != nil {
				t.Errorf("Listen: %v, want %v", err, tt.wantErr)
			}
			_ = c
			if !errors.Is(lerr, tt.wantErr) {
				t.Fatalf("LookupInterface: %v, want %v", lerr, tt.wantErr)
			}
			if tt.wantErr == nil && !bytes.Equal(ifi.HardwareAddr, wantMAC) {
				t.Errorf("MAC %v, want %v", ifi.HardwareAddr, wantMAC)
			}
		})
	}
}

// TestHelperListenNoCapNetRaw is not a test: TestListenPermission runs it
// without CAP_NET_RAW.
func TestHelperListenNoCapNetRaw(t *testing.T) {
	ifname := os.Getenv(helperEnv)
	if ifname == "" {
		return // only a helper process, run by TestListenPermission
	}
	if _, err := LookupInterface(ifname); err != nil {
		t.Fatalf("LookupInterface needs no privilege: %v", err)
	}
	_, err := Listen(ifname, Config{})
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("Listen: %v, want os.ErrPermission", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("Listen: %v is not a *net.OpError", err)
	}
	_, err = NewRing(ifname, RingConfig{})
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("NewRing: %v, want os.ErrPermission", err)
	}
}

// TestListenPermission runs Listen and NewRing in a process whose bounding
// set lacks CAP_NET_RAW.
func TestListenPermission(t *testing.T) {
	a, _ := labPair(t)
	setpriv := requireTool(t, "setpriv")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := a.Command(ctx, setpriv, "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--",
		os.Args[0], "-test.run=^TestHelperListenNoCapNetRaw$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"=a0")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestHelperListenNoCapNetRaw")) {
		t.Fatalf("helper: %v\n%s", err, out)
	}
}

// arpRequest asks who has tpa, from sha/spa.
func arpRequestFrom(sha net.HardwareAddr, spa, tpa [4]byte) []byte {
	return arpFrame(0, 1, sha, spa, make([]byte, 6), tpa)
}

// readUntil reads frames until match accepts one or ctx ends.
func readUntil(ctx context.Context, t *testing.T, c *Conn, match func([]byte) bool) ([]byte, FrameInfo) {
	t.Helper()
	buf := make([]byte, 2048)
	for {
		n, info, err := c.ReadFrame(ctx, buf)
		if err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		if match(buf[:n]) {
			return append([]byte(nil), buf[:n]...), info
		}
	}
}

func isARPReply(from [4]byte, to net.HardwareAddr) func([]byte) bool {
	return func(f []byte) bool {
		off := 14
		if len(f) >= 18 && binary.BigEndian.Uint16(f[12:]) == 0x8100 {
			off = 18
		}
		return len(f) >= off+28 && binary.BigEndian.Uint16(f[off-2:]) == 0x0806 &&
			binary.BigEndian.Uint16(f[off+6:]) == 2 && bytes.Equal(f[off+14:off+18], from[:]) &&
			bytes.Equal(f[off+18:off+24], to)
	}
}

// TestConnARPExchange sends a hand-built ARP request to the peer's kernel
// and receives its reply through the "arp" filter; a "dhcp" socket on the
// same interface sees none of it. The exchange is recorded and checked
// with tshark.
func TestConnARPExchange(t *testing.T) {
	a, _ := labPair(t)
	c := listenIn(t, a, "a0", mustFilter(t, "arp"))
	quiet := listenIn(t, a, "a0", mustFilter(t, "dhcp"))
	mac := c.Interface().HardwareAddr

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := arpRequestFrom(mac, labA, labB)
	sent := time.Now()
	if err := c.WriteFrame(ctx, req); err != nil {
		t.Fatalf("WriteFrame: %v", err)
	}
	reply, info := readUntil(ctx, t, c, isARPReply(labB, mac))
	if info.Dir != Inbound || info.Type != PacketHost {
		t.Errorf("reply direction %v type %v, want in host", info.Dir, info.Type)
	}
	if info.Length != len(reply) {
		t.Errorf("reply length %d, read %d", info.Length, len(reply))
	}
	if d := info.Time.Sub(sent); d < 0 || d > 10*time.Second {
		t.Errorf("reply timestamp %v is %v after the send", info.Time, d)
	}

	// The "dhcp" socket must have received nothing.
	qctx, qcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer qcancel()
	if n, _, err := quiet.ReadFrame(qctx, make([]byte, 2048)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("dhcp socket: read %d bytes, err %v; want nothing until the deadline", n, err)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets < 1 {
		t.Errorf("stats %+v, want at least one packet", st)
	}

	p := filepath.Join(t.TempDir(), "arp.pcapng")
	r, err := CreateRecorder(p, RecorderOptions{Interface: "a0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []Record{
		{Time: sent, Data: req, Dir: Outbound, Comment: "who-has 198.18.7.2"},
		{Time: info.Time, Data: reply, Length: info.Length, Dir: info.Dir},
	} {
		if err := r.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	checkTshark(t, p, "Address Resolution Protocol (reply)", "Direction: Inbound", "who-has 198.18.7.2")
}

// TestConnICMPEcho sends a hand-built echo request and receives the
// peer's echo reply through the "icmp" filter.
func TestConnICMPEcho(t *testing.T) {
	a, b := labPair(t)
	c := listenIn(t, a, "a0", mustFilter(t, "icmp"))
	peer := b.HardwareAddr(t, "b0")
	frame := ipv4FrameBetween(c.Interface().HardwareAddr, peer, labA, labB, 1, icmpEcho(0x4242, 9))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WriteFrame(ctx, frame); err != nil {
		t.Fatal(err)
	}
	reply, info := readUntil(ctx, t, c, func(f []byte) bool {
		return len(f) >= 42 && f[23] == 1 && f[34] == 0 && binary.BigEndian.Uint16(f[38:]) == 0x4242 &&
			binary.BigEndian.Uint16(f[40:]) == 9
	})
	if info.Dir != Inbound || !bytes.Equal(reply[6:12], peer) {
		t.Errorf("echo reply from %v direction %v", net.HardwareAddr(reply[6:12]), info.Dir)
	}
}

// ipv4FrameBetween is ipv4Frame with explicit addresses.
func ipv4FrameBetween(src, dst net.HardwareAddr, sip, dip [4]byte, proto uint8, payload []byte) []byte {
	f := ipv4Frame(0, proto, 0x4000, nil, payload)
	copy(f[0:6], dst)
	copy(f[6:12], src)
	copy(f[26:30], sip[:])
	copy(f[30:34], dip[:])
	f[24], f[25] = 0, 0
	binary.BigEndian.PutUint16(f[24:], checksum(f[14:34], 0))
	return f
}

// TestConnVLAN sends an 802.1Q-tagged ARP request from b0 (read with
// recvmmsg and from a ring). The receiving
// kernel moves the tag out of the frame (skb_vlan_untag) before a0's
// packet sockets see it: the "arp" filter must still accept it, the
// auxiliary data must carry the tag, and InsertVLAN must give back the
// frame byte for byte.
func TestConnVLAN(t *testing.T) {
	for _, ringSize := range []int{0, 1 << 20} {
		t.Run(fmt.Sprintf("ring=%d", ringSize), func(t *testing.T) {
			a, b := labPair(t)
			tx := listenIn(t, b, "b0", Config{})
			cfg := mustFilter(t, "arp")
			cfg.RingSize = ringSize
			rx := listenIn(t, a, "a0", cfg)
			req := arpFrame(0x8100, 1, tx.Interface().HardwareAddr, labB, make([]byte, 6), labA)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tx.WriteFrame(ctx, req); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 2048)
			n, info, err := rx.ReadFrame(ctx, buf)
			if err != nil {
				t.Fatal(err)
			}
			if !info.VLAN || info.VLANTCI != 10 || info.VLANTPID != 0x8100 {
				t.Errorf("info %+v, want the tag 0x8100/10 out of band", info)
			}
			n = InsertVLAN(buf, n, info)
			if !bytes.Equal(buf[:n], req) {
				t.Errorf("restored frame\n% x\nwant\n% x", buf[:n], req)
			}
		})
	}
}

// TestConnReadDeadlines checks the context's deadline and cancellation,
// the socket's deadline and Close, for ReadFrame and ReadFrames, with
// recvmmsg and with a ring.
func TestConnReadDeadlines(t *testing.T) {
	readFrame := func(c *Conn, ctx context.Context, buf []byte) (int, FrameInfo, error) { return c.ReadFrame(ctx, buf) }
	readFrames := func(c *Conn, ctx context.Context, buf []byte) (int, FrameInfo, error) {
		msgs := []Msg{{Buf: buf}}
		n, err := c.ReadFrames(ctx, msgs)
		return n, msgs[0].Info, err
	}
	for _, ringSize := range []int{0, 1 << 20} {
		for name, read := range map[string]func(*Conn, context.Context, []byte) (int, FrameInfo, error){"ReadFrame": readFrame, "ReadFrames": readFrames} {
			t.Run(fmt.Sprintf("%s/ring=%d", name, ringSize), func(t *testing.T) {
				a, _ := labPair(t)
				cfg := mustFilter(t, "dhcp")
				cfg.RingSize = ringSize
				c := listenIn(t, a, "a0", cfg)
				buf := make([]byte, 2048)

				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				if _, _, err := read(c, ctx, buf); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("ctx deadline: %v, want context.DeadlineExceeded", err)
				}

				ctx, cancel = context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				if _, _, err := read(c, ctx, buf); !errors.Is(err, context.Canceled) {
					t.Errorf("cancel: %v, want context.Canceled", err)
				}

				if err := c.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
					t.Fatal(err)
				}
				_, _, err := read(c, context.Background(), buf)
				var nerr net.Error
				if !errors.As(err, &nerr) || !nerr.Timeout() {
					t.Errorf("socket deadline: %v, want a net.Error with Timeout()", err)
				}
				if err := c.SetReadDeadline(time.Time{}); err != nil {
					t.Fatal(err)
				}

				time.AfterFunc(50*time.Millisecond, func() { c.Close() })
				if _, _, err := read(c, context.Background(), buf); !errors.Is(err, net.ErrClosed) {
					t.Errorf("after Close: %v, want net.ErrClosed", err)
				}
				if err := c.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
			})
		}
	}
}

// TestConnWriteAllocs checks that the send path allocates nothing.
func TestConnWriteAllocs(t *testing.T) {
	a, _ := labPair(t)
	c := listenIn(t, a, "a0", mustFilter(t, "dhcp"))
	frame := arpRequestFrom(c.Interface().HardwareAddr, labA, labB)
	ctx := context.Background()
	if n := testing.AllocsPerRun(50, func() {
		if err := c.WriteFrame(ctx, frame); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per WriteFrame, want 0", n)
	}
}

// pingFrom runs ping(8) in a namespace: count echo requests, bounded.
func pingFrom(t *testing.T, ns *netnstest.NS, count string, dst string) {
	t.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skipf("ping: %v", err)
	}
	ns.Exec(t, "ping", "-n", "-q", "-c", count, "-i", "0.05", "-W", "2", dst)
}

// TestConnPacketConn uses the Conn as a net.PacketConn: WriteTo an ARP
// request, ReadFrom the reply with the peer's MAC as the address, with
// recvmmsg and with a ring.
func TestConnPacketConn(t *testing.T) {
	for _, ringSize := range []int{0, 1 << 20} {
		t.Run(fmt.Sprintf("ring=%d", ringSize), func(t *testing.T) {
			a, b := labPair(t)
			cfg := mustFilter(t, "arp")
			cfg.RingSize = ringSize
			c := listenIn(t, a, "a0", cfg)
			var pc net.PacketConn = c
			peer := b.HardwareAddr(t, "b0")
			mac := c.Interface().HardwareAddr
			if _, err := pc.WriteTo(arpRequestFrom(mac, labA, labB), &net.IPAddr{}); err != nil {
				t.Fatal(err)
			}
			if err := pc.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 2048)
			match := isARPReply(labB, mac)
			for {
				n, addr, err := pc.ReadFrom(buf)
				if err != nil {
					t.Fatal(err)
				}
				if !match(buf[:n]) {
					continue
				}
				if addr.String() != peer.String() || addr.Network() != "packet" {
					t.Errorf("ReadFrom address %v (%s), want %v", addr, addr.Network(), peer)
				}
				return
			}
		})
	}
}

// TestConnReadAllocs checks that a read loop with a cancellable context
// allocates nothing per frame.
func TestConnReadAllocs(t *testing.T) {
	a, b := labPair(t)
	rx := listenIn(t, a, "a0", Config{})
	tx := listenIn(t, b, "b0", Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	frame := udpFrameTo(tx.Interface().HardwareAddr, rx.Interface().HardwareAddr)
	const runs = 100
	for range runs + 1 {
		if err := tx.WriteFrame(ctx, frame); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	allocs := testing.AllocsPerRun(runs, func() {
		if _, _, err := rx.ReadFrame(ctx, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per ReadFrame, want 0", allocs)
	}
}
