//go:build linux

package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
)

func ringIn(t testing.TB, ns *netnstest.NS, ifname string, cfg RingConfig) *Ring {
	t.Helper()
	var r *Ring
	if err := ns.Do(func() (err error) {
		r, err = NewRing(ifname, cfg)
		return err
	}); err != nil {
		t.Fatalf("NewRing(%s): %v", ifname, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRingBothDirections captures a ping exchange on a0 through the ring
// and the "icmp" filter: the requests a's kernel sends must come out as
// outbound, the replies as inbound, with the direction read from the
// kernel's sll_pkttype. The capture is recorded and checked with tshark.
func TestRingBothDirections(t *testing.T) {
	a, b := labPair(t)
	icmp, err := BuiltinFilter("icmp")
	if err != nil {
		t.Fatal(err)
	}
	r := ringIn(t, a, "a0", RingConfig{Filter: icmp, BlockSize: 1 << 16, NumBlocks: 4})
	mine := r.Interface().HardwareAddr
	peer := b.HardwareAddr(t, "b0")
	const count = 3
	pingFrom(t, a, "3", "198.18.7.2")

	p := filepath.Join(t.TempDir(), "ring.pcapng")
	rec, err := CreateRecorder(p, RecorderOptions{Interface: "a0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var in, out int
	for in+out < 2*count {
		data, info, err := r.ReadFrame(ctx)
		if err != nil {
			t.Fatalf("ReadFrame after %d in, %d out: %v", in, out, err)
		}
		if len(data) < 35 || data[23] != 1 {
			t.Fatalf("the icmp filter let through % x", data)
		}
		switch icmpType := data[34]; {
		case icmpType == 8 && bytes.Equal(data[6:12], mine):
			out++
			if info.Dir != Outbound || info.Type != PacketOutgoing {
				t.Errorf("echo request: direction %v type %v, want out outgoing", info.Dir, info.Type)
			}
		case icmpType == 0 && bytes.Equal(data[6:12], peer):
			in++
			if info.Dir != Inbound || info.Type != PacketHost {
				t.Errorf("echo reply: direction %v type %v, want in host", info.Dir, info.Type)
			}
		default:
			t.Errorf("unexpected frame % x", data)
		}
		if info.Length != len(data) || time.Since(info.Time) > time.Minute {
			t.Errorf("info %+v for a frame of %d bytes", info, len(data))
		}
		if err := rec.Write(Record{Time: info.Time, Data: data, Length: info.Length, Dir: info.Dir}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets < 2*count || st.Drops != 0 {
		t.Errorf("stats %+v, want at least %d packets and no drops", st, 2*count)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	checkTshark(t, p, "Echo (ping) request", "Echo (ping) reply", "Direction: Inbound", "Direction: Outbound",
		"[Header checksum status: Good]")

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.ReadFrame(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadFrame after Close: %v, want net.ErrClosed", err)
	}
	if after, err := r.Stats(); err != nil || after.Packets < st.Packets {
		t.Errorf("Stats after Close: %+v, %v; want the final counters", after, err)
	}
}

// TestRingReadFrame checks the context, the snap length, the VLAN tag and
// that reading allocates nothing, over frames b sends with a Conn.
func TestRingReadFrame(t *testing.T) {
	a, b := labPair(t)
	const snap = 40
	r := ringIn(t, a, "a0", RingConfig{SnapLen: snap, BlockSize: 1 << 16, NumBlocks: 8, BlockTimeout: time.Millisecond})
	tx := listenIn(t, b, "b0", Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	tagged := arpFrame(0x8100, 1, tx.Interface().HardwareAddr, labB, make([]byte, 6), labA)
	if err := tx.WriteFrame(ctx, tagged); err != nil {
		t.Fatal(err)
	}
	data, info, err := r.ReadFrame(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != snap || info.Length != len(tagged)-4 || info.Dir != Inbound {
		t.Errorf("read %d bytes, info %+v; want %d bytes of a %d-byte frame, inbound", len(data), info, snap, len(tagged)-4)
	}
	if !info.VLAN || info.VLANTCI != 10 || info.VLANTPID != 0x8100 {
		t.Errorf("info %+v, want the stripped tag 0x8100/10", info)
	}

	const runs = 200
	frame := udpFrameTo(tx.Interface().HardwareAddr, r.Interface().HardwareAddr)
	for range runs + 1 {
		if err := tx.WriteFrame(ctx, frame); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(runs, func() {
		if _, _, err := r.ReadFrame(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per ReadFrame, want 0", allocs)
	}

	short, cancelShort := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancelShort()
	if _, _, err := r.ReadFrame(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("quiet ring: %v, want context.DeadlineExceeded", err)
	}

	// Close wakes a ReadFrame waiting on a quiet ring.
	errc := make(chan error, 1)
	go func() {
		_, _, err := r.ReadFrame(ctx)
		errc <- err
	}()
	time.AfterFunc(50*time.Millisecond, func() { r.Close() })
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadFrame during Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFrame still waiting 5 s after Close")
	}
}

// udpFrameTo is a 60-byte UDP frame (discard port 9) from src to dst.
func udpFrameTo(src, dst net.HardwareAddr) []byte {
	return ipv4FrameBetween(src, dst, labB, labA, 17, udpPayload(9, 9, make([]byte, 18)))
}

// TestRingFilterBeforeAttach checks that the filter is in place before
// the ring's socket is bound: with a "dhcp" filter, a stream of ARP
// frames sent while the ring opens never comes out (nothing filters them
// again in user space).
func TestRingFilterBeforeAttach(t *testing.T) {
	a, b := labPair(t)
	tx := listenIn(t, b, "b0", Config{})
	dhcp, err := BuiltinFilter("dhcp")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stop := make(chan struct{})
	done := make(chan error, 1)
	arp := arpRequestFrom(tx.Interface().HardwareAddr, labB, labA)
	go func() {
		// Bounded: at most 200,000 frames, and stopped once the ring is open.
		for i := 0; i < 200000; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := tx.WriteFrame(ctx, arp); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	r := ringIn(t, a, "a0", RingConfig{Filter: dhcp, BlockSize: 1 << 16, NumBlocks: 8, BlockTimeout: time.Millisecond})
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if data, _, err := r.ReadFrame(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReadFrame: % x, %v; want no frame through the dhcp filter", data, err)
	}
}

// TestRingIgnoreOutgoing: with IgnoreOutgoing the ring sees the peer's
// echo replies and none of our requests.
func TestRingIgnoreOutgoing(t *testing.T) {
	a, b := labPair(t)
	icmp, err := BuiltinFilter("icmp")
	if err != nil {
		t.Fatal(err)
	}
	r := ringIn(t, a, "a0", RingConfig{Filter: icmp, IgnoreOutgoing: true, BlockSize: 1 << 16, NumBlocks: 4})
	peer := b.HardwareAddr(t, "b0")
	pingFrom(t, a, "3", "198.18.7.2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		data, info, err := r.ReadFrame(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if info.Dir != Inbound || len(data) < 35 || data[34] != 0 || !bytes.Equal(data[6:12], peer) {
			t.Errorf("frame %d: direction %v, % x; want only echo replies from the peer", i, info.Dir, data)
		}
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if data, info, err := r.ReadFrame(short); err == nil {
		t.Errorf("a fourth frame (%v): % x", info.Dir, data)
	}
}

// TestRingReadBatch sends a burst of numbered frames and reads them back
// with ReadBatch: the ring must be walked directly (mapped), every frame
// must come out once and in order, batches must hold more than one frame,
// and a read must allocate nothing.
func TestRingReadBatch(t *testing.T) {
	a, b := labPair(t)
	r := ringIn(t, a, "a0", RingConfig{BlockSize: 1 << 16, NumBlocks: 4, BlockTimeout: 20 * time.Millisecond, IgnoreOutgoing: true})
	tx := listenIn(t, b, "b0", Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// 2000 frames take 144 bytes each in the ring, more than its four
	// 64 KiB blocks: sent and read in rounds of 500, the walk wraps around.
	const count, round = 2000, 500
	frame := udpFrameTo(tx.Interface().HardwareAddr, r.Interface().HardwareAddr)
	frames := make([]Frame, 64)
	seen, biggest := 0, 0
	for seen < count {
		for i := seen; i < seen+round; i++ {
			binary.BigEndian.PutUint32(frame[len(frame)-4:], uint32(i))
			if err := tx.WriteFrame(ctx, frame); err != nil {
				t.Fatal(err)
			}
		}
		for end := seen + round; seen < end; {
			n, err := r.ReadBatch(ctx, frames)
			if err != nil {
				t.Fatalf("ReadBatch after %d frames: %v", seen, err)
			}
			biggest = max(biggest, n)
			for _, f := range frames[:n] {
				if len(f.Data) != len(frame) || f.Info.Dir != Inbound || f.Info.Length != len(frame) {
					t.Fatalf("frame %d: %d bytes, info %+v", seen, len(f.Data), f.Info)
				}
				if got := binary.BigEndian.Uint32(f.Data[len(f.Data)-4:]); got != uint32(seen) {
					t.Fatalf("frame %d carries number %d", seen, got)
				}
				seen++
			}
		}
	}
	if biggest < 2 {
		t.Errorf("largest batch %d frames, want several", biggest)
	}
	if s, err := r.Stats(); err != nil || s.Drops != 0 {
		t.Errorf("Stats = %+v, %v; want no drops", s, err)
	}

	const runs = 100
	for range runs + 1 {
		if err := tx.WriteFrame(ctx, frame); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(runs, func() {
		if _, err := r.ReadBatch(ctx, frames[:1]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per ReadBatch, want 0", allocs)
	}
}

// TestRingCancelWakes checks that cancelling the context wakes a ReadBatch
// waiting on a quiet ring at once: the poller's deadline moves, no
// per-wait timer is needed.
func TestRingCancelWakes(t *testing.T) {
	a, _ := labPair(t)
	r := ringIn(t, a, "a0", RingConfig{BlockSize: 1 << 16, NumBlocks: 2, IgnoreOutgoing: true})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := r.ReadBatch(ctx, make([]Frame, 4))
		errc <- err
	}()
	time.AfterFunc(50*time.Millisecond, cancel)
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ReadBatch after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch still waiting 5 s after cancel")
	}
	// A new context after a cancelled one waits again (its deadline).
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	if _, err := r.ReadBatch(short, make([]Frame, 4)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReadBatch with a 100 ms deadline: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 5*time.Second {
		t.Errorf("ReadBatch with a 100 ms deadline returned after %v", d)
	}
}

// BenchmarkRingReadBatch reads batches of up to 256 frames from a ring
// while a goroutine sends 60-byte frames from the peer.
func BenchmarkRingReadBatch(b *testing.B) {
	a, peer := labPair(b)
	r := ringIn(b, a, "a0", RingConfig{Filter: discardFilter(b), BlockSize: 1 << 20, NumBlocks: 8})
	tx := listenIn(b, peer, "b0", Config{SendOnly: true})
	frames := numbered(udpFrameTo(tx.Interface().HardwareAddr, r.Interface().HardwareAddr), 64)
	batch := make([]Frame, 256)
	ctx, stop := flood(tx, frames)
	defer stop()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		k, err := r.ReadBatch(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		n += k
	}
	b.ReportMetric(float64(n)/float64(b.N), "frames/op")
}

// flood sends frames on tx over and over until stop is called, for a
// benchmark that reads them; stop waits until the sender has ended. ctx is
// done once stop is called.
func flood(tx *Conn, frames [][]byte) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if _, err := tx.WriteFrames(ctx, frames); err != nil {
				return
			}
		}
	}()
	return ctx, func() { cancel(); <-done }
}
