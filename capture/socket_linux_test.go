//go:build linux

package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/net/bpf"
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
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				for ctx.Err() == nil {
					if _, err := tx.WriteFrames(ctx, frames); err != nil {
						return
					}
				}
			}()
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
			cancel()
			<-done
		})
	}
}
