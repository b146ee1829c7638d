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
	"testing"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// discardFilter accepts IPv4 UDP frames to port 9 (discard), untagged:
// the frames the batch tests send, and nothing the namespaces' kernels
// send on their own (IPv6 router solicitations, ARP).
func discardFilter(t testing.TB) []bpf.RawInstruction {
	t.Helper()
	raw, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x0800, SkipTrue: 5},
		bpf.LoadAbsolute{Off: 23, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 17, SkipTrue: 3},
		bpf.LoadAbsolute{Off: 36, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 9, SkipTrue: 1},
		bpf.RetConstant{Val: AcceptLength},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// numbered returns count copies of frame, each carrying its index in its
// last four bytes.
func numbered(frame []byte, count int) [][]byte {
	frames := make([][]byte, count)
	for i := range frames {
		f := append([]byte(nil), frame...)
		binary.BigEndian.PutUint32(f[len(f)-4:], uint32(i))
		frames[i] = f
	}
	return frames
}

// TestConnBatch sends numbered frames from b0 with WriteFrames and reads
// them on a0 with ReadFrames, for each way of sending (ordinary, send-only
// with qdisc bypass) and of receiving (recvmmsg, ring): every frame must
// come out once, in order, with its length and direction, and reads must
// return more than one frame at a time.
func TestConnBatch(t *testing.T) {
	for _, tt := range []struct {
		name string
		tx   Config
		rx   Config
	}{
		{"recvmmsg", Config{}, Config{}},
		{"send-only/recvmmsg", Config{SendOnly: true, QdiscBypass: true}, Config{RecvBuffer: 4 << 20}},
		{"ring", Config{}, Config{RingSize: 1 << 20}},
		{"send-only/ring", Config{SendOnly: true}, Config{RingSize: 256 << 10}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := labPair(t)
			tt.rx.Filter = discardFilter(t)
			rx := listenIn(t, a, "a0", tt.rx)
			tx := listenIn(t, b, "b0", tt.tx)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			const count, chunk = 1000, 100
			frames := numbered(udpFrameTo(tx.Interface().HardwareAddr, rx.Interface().HardwareAddr), count)
			msgs := make([]Msg, 64)
			for i := range msgs {
				msgs[i].Buf = make([]byte, 2048)
			}
			seen, biggest := 0, 0
			for seen < count {
				// Sent in chunks that the receive side can hold.
				n, err := tx.WriteFrames(ctx, frames[seen:seen+chunk])
				if err != nil || n != chunk {
					t.Fatalf("WriteFrames: %d, %v; want %d", n, err, chunk)
				}
				for end := seen + chunk; seen < end; {
					n, err := rx.ReadFrames(ctx, msgs)
					if err != nil {
						t.Fatalf("ReadFrames after %d frames: %v", seen, err)
					}
					biggest = max(biggest, n)
					for _, m := range msgs[:n] {
						want := frames[seen]
						if m.N != len(want) || m.Info.Length != len(want) || m.Info.Dir != Inbound || m.Info.Type != PacketHost {
							t.Fatalf("frame %d: %d bytes, info %+v; want %d bytes, in, host", seen, m.N, m.Info, len(want))
						}
						if got := binary.BigEndian.Uint32(m.Buf[m.N-4:]); got != uint32(seen) {
							t.Fatalf("frame %d carries number %d", seen, got)
						}
						if d := time.Since(m.Info.Time); d < 0 || d > time.Minute {
							t.Fatalf("frame %d: timestamp %v", seen, m.Info.Time)
						}
						seen++
					}
				}
			}
			if biggest < 2 {
				t.Errorf("largest batch %d frames, want several", biggest)
			}
			st, err := rx.Stats()
			if err != nil || st.Packets < count || st.Drops != 0 {
				t.Errorf("Stats = %+v, %v; want at least %d packets, no drops", st, err, count)
			}
		})
	}
}

// TestConnSendOnly checks that a send-only socket receives nothing and
// says so, and that its frames reach the peer.
func TestConnSendOnly(t *testing.T) {
	a, b := labPair(t)
	rx := listenIn(t, a, "a0", Config{Filter: discardFilter(t)})
	tx := listenIn(t, b, "b0", Config{SendOnly: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := tx.ReadFrame(ctx, make([]byte, 64)); !errors.Is(err, errSendOnly) {
		t.Errorf("ReadFrame on a send-only socket: %v, want errSendOnly", err)
	}
	if _, err := tx.ReadFrames(ctx, make([]Msg, 1)); !errors.Is(err, errSendOnly) {
		t.Errorf("ReadFrames on a send-only socket: %v, want errSendOnly", err)
	}
	frame := udpFrameTo(tx.Interface().HardwareAddr, rx.Interface().HardwareAddr)
	if err := tx.WriteFrame(ctx, frame); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	n, _, err := rx.ReadFrame(ctx, buf)
	if err != nil || n != len(frame) {
		t.Fatalf("ReadFrame: %d, %v", n, err)
	}
	// The send-only socket is bound to protocol 0: the kernel queues it
	// nothing, so its counters stay at zero although a frame crossed the
	// link.
	if st, err := tx.Stats(); err != nil || st.Packets != 0 {
		t.Errorf("send-only Stats = %+v, %v; want no packets", st, err)
	}
}

// TestConnBatchAllocs checks that WriteFrames and ReadFrames, recvmmsg and
// ring, allocate nothing once their headers have grown.
func TestConnBatchAllocs(t *testing.T) {
	for _, rxCfg := range []Config{{}, {RingSize: 1 << 20}} {
		t.Run(fmt.Sprintf("ring=%d", rxCfg.RingSize), func(t *testing.T) {
			a, b := labPair(t)
			rxCfg.Filter = discardFilter(t)
			rxCfg.RecvBuffer = 4 << 20 // the 408 frames sent before reading
			rx := listenIn(t, a, "a0", rxCfg)
			tx := listenIn(t, b, "b0", Config{})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			frames := numbered(udpFrameTo(tx.Interface().HardwareAddr, rx.Interface().HardwareAddr), 8)
			msgs := make([]Msg, 8)
			for i := range msgs {
				msgs[i].Buf = make([]byte, 2048)
			}
			const runs = 50
			var got int
			allocs := testing.AllocsPerRun(runs, func() {
				if _, err := tx.WriteFrames(ctx, frames); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per WriteFrames, want 0", allocs)
			}
			// AllocsPerRun runs the function once more to warm up.
			total := (runs + 1) * len(frames)
			allocs = testing.AllocsPerRun(runs, func() {
				n, err := rx.ReadFrames(ctx, msgs)
				if err != nil {
					t.Fatal(err)
				}
				got += n
			})
			if allocs != 0 {
				t.Errorf("%v allocations per ReadFrames, want 0", allocs)
			}
			for got < total {
				n, err := rx.ReadFrames(ctx, msgs)
				if err != nil {
					t.Fatalf("after %d of %d frames: %v", got, total, err)
				}
				got += n
			}
		})
	}
}

// BenchmarkConnWriteFrames sends batches of 64 frames over a veth.
func BenchmarkConnWriteFrames(b *testing.B) {
	a, peer := labPair(b)
	tx := listenIn(b, a, "a0", Config{SendOnly: true, QdiscBypass: true})
	frames := numbered(udpFrameTo(tx.Interface().HardwareAddr, peer.HardwareAddr(b, "b0")), 64)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := tx.WriteFrames(ctx, frames); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(frames))/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkConnReadFrames reads what a sender goroutine writes, in
// batches of 64, with recvmmsg and from a ring.
func BenchmarkConnReadFrames(b *testing.B) {
	for _, ring := range []int{0, 4 << 20} {
		b.Run(fmt.Sprintf("ring=%d", ring), func(b *testing.B) {
			a, peer := labPair(b)
			rx := listenIn(b, a, "a0", Config{Filter: discardFilter(b), RingSize: ring, RecvBuffer: 8 << 20})
			tx := listenIn(b, peer, "b0", Config{SendOnly: true})
			frames := numbered(udpFrameTo(tx.Interface().HardwareAddr, rx.Interface().HardwareAddr), 64)
			msgs := make([]Msg, 64)
			for i := range msgs {
				msgs[i].Buf = make([]byte, 2048)
			}
			ctx, stop := flood(tx, frames)
			defer stop()
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for b.Loop() {
				k, err := rx.ReadFrames(ctx, msgs)
				if err != nil {
					b.Fatal(err)
				}
				n += k
			}
			b.ReportMetric(float64(n)/float64(b.N), "frames/op")
		})
	}
}

// TestFilterBeforeBind floods a0 with frames the filter rejects (ARP)
// while sockets with the discard filter are opened on it again and
// again, then sends one frame the filter accepts: for every kind of
// socket, the first frame read must be that one. A socket bound before
// its filter was attached would have queued some ARP first. An
// unfiltered socket opened before the flood shows that it reached a0.
func TestFilterBeforeBind(t *testing.T) {
	a, b := labPair(t)
	tx := listenIn(t, b, "b0", Config{SendOnly: true})
	witness := listenIn(t, a, "a0", Config{RecvBuffer: 1 << 20})
	mac := a.HardwareAddr(t, "a0")
	arp := arpRequestFrom(tx.Interface().HardwareAddr, labB, labA)
	marker := udpFrameTo(tx.Interface().HardwareAddr, mac)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		// Bounded: at most 2,000,000 frames, and stopped once the
		// sockets are open.
		batch := make([][]byte, 64)
		for i := range batch {
			batch[i] = arp
		}
		for range 2000000 / len(batch) {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := tx.WriteFrames(ctx, batch); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	const rounds = 10
	type opened struct {
		name string
		read func() ([]byte, error)
	}
	var socks []opened
	for i := range rounds {
		filter := discardFilter(t)
		c := listenIn(t, a, "a0", Config{Filter: filter})
		cr := listenIn(t, a, "a0", Config{Filter: filter, RingSize: 1 << 20})
		r := ringIn(t, a, "a0", RingConfig{Filter: filter, BlockSize: 1 << 16, NumBlocks: 4, BlockTimeout: time.Millisecond})
		buf := make([]byte, 2048)
		msgs := []Msg{{Buf: make([]byte, 2048)}}
		socks = append(socks,
			opened{fmt.Sprintf("recvmmsg %d", i), func() ([]byte, error) {
				n, _, err := c.ReadFrame(ctx, buf)
				return buf[:n], err
			}},
			opened{fmt.Sprintf("conn ring %d", i), func() ([]byte, error) {
				_, err := cr.ReadFrames(ctx, msgs)
				return msgs[0].Buf[:msgs[0].N], err
			}},
			opened{fmt.Sprintf("ring %d", i), func() ([]byte, error) {
				data, _, err := r.ReadFrame(ctx)
				return data, err
			}})
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := tx.WriteFrame(ctx, marker); err != nil {
		t.Fatal(err)
	}
	for _, s := range socks {
		data, err := s.read()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !bytes.Equal(data, marker) {
			t.Errorf("%s: first frame read is % x, not the marker: the filter was not in place", s.name, data)
		}
	}
	if st, err := witness.Stats(); err != nil || st.Packets < 1000 {
		t.Errorf("witness Stats = %+v, %v; the flood did not reach a0", st, err)
	}
}

// TestChecksumStatus checks FrameInfo.Checksum against what the kernel
// does over veth: a UDP datagram from b's kernel leaves with its checksum
// to be completed by "hardware" (CHECKSUM_PARTIAL), and veth passes it
// on so, so the receiver sees ChecksumPartial; a frame injected by a
// packet socket carries a complete checksum (CHECKSUM_NONE), which veth
// passes on unverified (Linux 6.x no longer marks it
// CHECKSUM_UNNECESSARY), so the receiver sees ChecksumUnknown. Checked
// with recvmmsg (PACKET_AUXDATA) and the ring (tp_status). ChecksumValid
// (a NIC that verified the checksum) is covered by TestParseControl.
func TestChecksumStatus(t *testing.T) {
	a, b := labPair(t)
	filter := discardFilter(t)
	c := listenIn(t, a, "a0", Config{Filter: filter})
	cr := listenIn(t, a, "a0", Config{Filter: filter, RingSize: 1 << 20})
	r := ringIn(t, a, "a0", RingConfig{Filter: filter, BlockSize: 1 << 16, NumBlocks: 4, BlockTimeout: time.Millisecond})
	raw := listenIn(t, b, "b0", Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	check := func(what string, want ChecksumStatus) {
		t.Helper()
		buf := make([]byte, 2048)
		_, info, err := c.ReadFrame(ctx, buf)
		if err != nil {
			t.Fatalf("%s: recvmmsg: %v", what, err)
		}
		if info.Checksum != want {
			t.Errorf("%s: recvmmsg says checksum %v, want %v", what, info.Checksum, want)
		}
		msgs := []Msg{{Buf: buf}}
		if _, err := cr.ReadFrames(ctx, msgs); err != nil {
			t.Fatalf("%s: conn ring: %v", what, err)
		}
		if msgs[0].Info.Checksum != want {
			t.Errorf("%s: conn ring says checksum %v, want %v", what, msgs[0].Info.Checksum, want)
		}
		_, rinfo, err := r.ReadFrame(ctx)
		if err != nil {
			t.Fatalf("%s: ring: %v", what, err)
		}
		if rinfo.Checksum != want {
			t.Errorf("%s: ring says checksum %v, want %v", what, rinfo.Checksum, want)
		}
	}

	if err := b.Do(func() error {
		u, err := net.Dial("udp4", "198.18.7.1:9")
		if err != nil {
			return err
		}
		defer u.Close()
		_, err = u.Write([]byte("checksum status"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check("kernel UDP", ChecksumPartial)

	if err := raw.WriteFrame(ctx, udpFrameTo(raw.Interface().HardwareAddr, c.Interface().HardwareAddr)); err != nil {
		t.Fatal(err)
	}
	check("injected frame", ChecksumUnknown)
}

// TestStatsDrops overfills a small receive buffer and a small ring
// without reading: the kernel counts the frames it could not queue, and
// Packets counts every frame that passed the filter, dropped or not.
func TestStatsDrops(t *testing.T) {
	a, b := labPair(t)
	filter := discardFilter(t)
	c := listenIn(t, a, "a0", Config{Filter: filter, RecvBuffer: 64 << 10})
	r := ringIn(t, a, "a0", RingConfig{Filter: filter, BlockSize: 1 << 16, NumBlocks: 2})
	tx := listenIn(t, b, "b0", Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const count = 3000
	frames := numbered(udpFrameTo(tx.Interface().HardwareAddr, c.Interface().HardwareAddr), count)
	if n, err := tx.WriteFrames(ctx, frames); err != nil || n != count {
		t.Fatalf("WriteFrames: %d, %v", n, err)
	}
	for name, stats := range map[string]func() (Stats, error){"conn": c.Stats, "ring": r.Stats} {
		// The frames crossed the veth synchronously (veth_xmit runs the
		// receive path): the counters are final.
		st, err := stats()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.Packets != count || st.Drops == 0 || st.Drops >= count {
			t.Errorf("%s: Stats = %+v; want %d packets, some but not all dropped", name, st, count)
		}
		// Cumulative: a second call does not reset them.
		again, err := stats()
		if err != nil || again != st {
			t.Errorf("%s: Stats again = %+v, %v; want %+v", name, again, err, st)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Stats(); err != nil || st.Packets != count {
		t.Errorf("Stats after Close = %+v, %v; want the last counters", st, err)
	}
}

// TestPromiscuous checks that Config.Promiscuous and
// RingConfig.Promiscuous each raise the interface's promiscuity count
// (PACKET_MR_PROMISC, dev_set_promiscuity) while the socket is open, and
// Close drops it again.
func TestPromiscuous(t *testing.T) {
	a, _ := labPair(t)
	promisc := func() int { return a.Link(t, "a0").Attrs().Promisc }
	if p := promisc(); p != 0 {
		t.Fatalf("promiscuity %d before any socket", p)
	}
	c := listenIn(t, a, "a0", Config{Promiscuous: true})
	r := ringIn(t, a, "a0", RingConfig{Promiscuous: true, BlockSize: 1 << 16, NumBlocks: 2})
	if p := promisc(); p != 2 {
		t.Errorf("promiscuity %d with two promiscuous sockets open, want 2", p)
	}
	c.Close()
	if p := promisc(); p != 1 {
		t.Errorf("promiscuity %d with the ring still open, want 1", p)
	}
	r.Close()
	if p := promisc(); p != 0 {
		t.Errorf("promiscuity %d after Close, want 0", p)
	}
}

// TestListenOptions reads back, from the kernel, what each Config field
// set on the socket.
func TestListenOptions(t *testing.T) {
	a, _ := labPair(t)
	getInt := func(c *Conn, level, opt int) int {
		t.Helper()
		var v int
		var gerr error
		if err := c.c.s.rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, opt) }); err != nil {
			t.Fatal(err)
		}
		if gerr != nil {
			t.Fatalf("getsockopt %d/%d: %v", level, opt, gerr)
		}
		return v
	}
	boundProto := func(c *Conn) uint16 {
		t.Helper()
		var sa unix.Sockaddr
		var gerr error
		c.c.s.rc.Control(func(fd uintptr) { sa, gerr = unix.Getsockname(int(fd)) })
		ll, ok := sa.(*unix.SockaddrLinklayer)
		if gerr != nil || !ok {
			t.Fatalf("getsockname: %v, %T", gerr, sa)
		}
		return htons(ll.Protocol) // sll_protocol is big-endian; htons is its own inverse
	}

	plain := listenIn(t, a, "a0", Config{})
	if p := boundProto(plain); p != unix.ETH_P_ALL {
		t.Errorf("default protocol 0x%04x, want ETH_P_ALL", p)
	}
	if v := getInt(plain, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS); v != 0 {
		t.Errorf("PACKET_QDISC_BYPASS %d by default", v)
	}

	arp := listenIn(t, a, "a0", Config{Protocol: 0x0806, RecvBuffer: 3 << 20, IgnoreOutgoing: true})
	if p := boundProto(arp); p != 0x0806 {
		t.Errorf("protocol 0x%04x, want 0x0806", p)
	}
	// The kernel doubles the value asked for (socket(7)).
	if v := getInt(arp, unix.SOL_SOCKET, unix.SO_RCVBUF); v < 3<<20 {
		t.Errorf("SO_RCVBUF %d, want at least %d", v, 3<<20)
	}
	if v := getInt(arp, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING); v != 1 {
		t.Errorf("PACKET_IGNORE_OUTGOING %d, want 1", v)
	}

	so := listenIn(t, a, "a0", Config{SendOnly: true, QdiscBypass: true})
	if v := getInt(so, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS); v != 1 {
		t.Errorf("PACKET_QDISC_BYPASS %d, want 1", v)
	}
	if p := boundProto(so); p != 0 {
		t.Errorf("send-only socket bound to protocol 0x%04x, want 0 (receives nothing)", p)
	}
	// Kept out of the runtime poller: its descriptor is blocking, and the
	// runtime refuses deadlines on it.
	if err := so.c.s.f.SetReadDeadline(time.Now()); !errors.Is(err, os.ErrNoDeadline) {
		t.Errorf("send-only socket takes a deadline (%v): it is in the poller", err)
	}
	if err := plain.c.s.f.SetReadDeadline(time.Time{}); err != nil {
		t.Errorf("ordinary socket refuses a deadline: %v", err)
	}

	ring := listenIn(t, a, "a0", Config{RingSize: 200 << 10})
	if v := getInt(ring, unix.SOL_PACKET, unix.PACKET_VERSION); v != unix.TPACKET_V3 {
		t.Errorf("PACKET_VERSION %d, want TPACKET_V3", v)
	}
	if got, want := len(ring.c.s.mem), 7*connRingBlockSize; got != want {
		t.Errorf("ring of %d bytes for RingSize 200 KiB, want %d (whole blocks)", got, want)
	}
}

// TestConnRingDeadlineGrace: with a ring, a frame that arrived before the
// read deadline is returned even when the kernel has not yet retired its
// block, since the wait lasts at least two block timeouts.
func TestConnRingDeadlineGrace(t *testing.T) {
	a, b := labPair(t)
	rx := listenIn(t, a, "a0", Config{Filter: discardFilter(t), RingSize: 256 << 10})
	tx := listenIn(t, b, "b0", Config{})
	frame := udpFrameTo(tx.Interface().HardwareAddr, rx.Interface().HardwareAddr)
	msgs := []Msg{{Buf: make([]byte, 2048)}}
	for i := range 20 {
		if err := tx.WriteFrame(context.Background(), frame); err != nil {
			t.Fatal(err)
		}
		// veth delivers within the send (the receive softirq runs as the
		// send returns): the frame is in the ring, in an open block.
		if err := rx.SetReadDeadline(time.Now()); err != nil {
			t.Fatal(err)
		}
		n, err := rx.ReadFrames(context.Background(), msgs)
		if err != nil || n != 1 || msgs[0].N != len(frame) {
			t.Fatalf("round %d: ReadFrames past the deadline: %d, %v; want the frame that arrived before it", i, n, err)
		}
	}
}
