//go:build linux

package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Ring is a high-rate capture socket: a TPACKET_V3 ring shared with the
// kernel (gopacket afpacket), from which frames are read without copying
// or allocating. One goroutine reads it; Stats and Close may be called from
// others.
type Ring struct {
	ifi     *net.Interface
	tp      *afpacket.TPacket
	snaplen int

	mu      sync.Mutex // held by ReadFrame; Close takes it to unmap the ring
	closing atomic.Bool
	closed  bool
	final   Stats // the counters when the ring was closed

	// Frames the kernel queued before the filter was attached are
	// filtered again here (see NewRing).
	vm      *bpf.VM
	vmUntil time.Time

	guessed atomic.Uint64 // frames whose direction came from the MAC fallback
}

// RingConfig configures NewRing. Zero values take the defaults.
type RingConfig struct {
	// Filter is a classic BPF program; nil accepts every frame.
	Filter []bpf.RawInstruction
	// Promiscuous puts the interface in promiscuous mode while the ring is
	// open.
	Promiscuous bool
	// SnapLen is the most bytes kept of a frame; the filter's returns are
	// capped to it so the kernel copies no more. 0 means DefaultSnapLen.
	SnapLen int
	// BlockSize is the size of a ring block, a multiple of the page size;
	// 0 means DefaultRingBlockSize.
	BlockSize int
	// NumBlocks is the number of blocks; 0 means DefaultRingBlocks.
	NumBlocks int
	// BlockTimeout is how long the kernel waits before handing over a block
	// that is not full (tp_retire_blk_tov, >= 1 ms); 0 means
	// DefaultRingBlockTimeout. It bounds the latency of a quiet capture.
	BlockTimeout time.Duration
	// PollTimeout bounds how long ReadFrame sleeps in poll(2) before it
	// looks at its context and at Close again; 0 means 100 ms.
	PollTimeout time.Duration
}

// Ring defaults: 32 blocks of 1 MiB, 32 MiB in all, hold about 300,000
// 60-byte frames, a third of a second of a saturated veth on a small
// machine; tcpdump's default is 2 MiB.
const (
	DefaultRingBlockSize    = 1 << 20
	DefaultRingBlocks       = 32
	DefaultRingBlockTimeout = 10 * time.Millisecond
	ringFrameSize           = 2048
)

// NewRing opens a TPACKET_V3 capture ring on the named interface. The
// interface is checked first as LookupInterface does; without CAP_NET_RAW
// the error wraps os.ErrPermission.
//
// afpacket binds the socket before the filter can be attached, so the
// kernel may queue a few unfiltered frames in between. ReadFrame runs the
// filter again, in x/net/bpf's VM, over frames stamped before the filter
// was in place; if the program uses an extension the VM lacks, those few
// frames pass unfiltered.
func NewRing(ifname string, cfg RingConfig) (*Ring, error) {
	ifi, err := LookupInterface(ifname)
	if err != nil {
		return nil, err
	}
	if cfg.SnapLen <= 0 {
		cfg.SnapLen = DefaultSnapLen
	}
	if cfg.BlockSize <= 0 {
		cfg.BlockSize = DefaultRingBlockSize
	}
	if cfg.NumBlocks <= 0 {
		cfg.NumBlocks = DefaultRingBlocks
	}
	if cfg.BlockTimeout <= 0 {
		cfg.BlockTimeout = DefaultRingBlockTimeout
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 100 * time.Millisecond
	}
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(ifname),
		afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
		afpacket.OptFrameSize(ringFrameSize),
		afpacket.OptBlockSize(cfg.BlockSize),
		afpacket.OptNumBlocks(cfg.NumBlocks),
		afpacket.OptBlockTimeout(cfg.BlockTimeout),
		afpacket.OptPollTimeout(cfg.PollTimeout),
	)
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			err = &net.OpError{Op: "listen", Net: "packet", Err: os.NewSyscallError("socket", errno)}
		}
		return nil, fmt.Errorf("capture: open ring on %s: %w", ifname, err)
	}
	r := &Ring{ifi: ifi, tp: tp, snaplen: cfg.SnapLen}
	filter := ApplySnapLen(cfg.Filter, cfg.SnapLen)
	if err := tp.SetBPF(filter); err != nil {
		tp.Close()
		return nil, fmt.Errorf("capture: open ring on %s: attach filter: %w", ifname, os.NewSyscallError("setsockopt SO_ATTACH_FILTER", err))
	}
	r.vmUntil = time.Now()
	if len(cfg.Filter) > 0 {
		if insns, ok := bpf.Disassemble(cfg.Filter); ok {
			if vm, err := bpf.NewVM(insns); err == nil {
				r.vm = vm
			}
		}
	}
	if cfg.Promiscuous {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			return nil, fmt.Errorf("capture: open ring on %s: promiscuous mode: %w", ifname, err)
		}
	}
	return r, nil
}

// Interface returns the interface the ring captures on.
func (r *Ring) Interface() *net.Interface { return r.ifi }

// ReadFrame returns the next frame. The slice points into the ring and is
// valid until the next ReadFrame or Close: copy what must outlive it. It
// allocates nothing. It returns an error wrapping ctx.Err() once the
// context is done (checked at least every PollTimeout), and one wrapping
// net.ErrClosed after Close.
func (r *Ring) ReadFrame(ctx context.Context) ([]byte, FrameInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	done := ctx.Done()
	for {
		if r.closed || r.closing.Load() {
			return nil, FrameInfo{}, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, net.ErrClosed)
		}
		if done != nil {
			select {
			case <-done:
				return nil, FrameInfo{}, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, ctx.Err())
			default:
			}
		}
		data, ci, err := r.tp.ZeroCopyReadPacketData()
		if err != nil {
			if err == afpacket.ErrTimeout {
				continue
			}
			return nil, FrameInfo{}, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, err)
		}
		if r.vm != nil && ci.Timestamp.Before(r.vmUntil) {
			keep, err := r.vm.Run(data)
			if err != nil || keep == 0 {
				continue
			}
			data = data[:min(keep, len(data))]
		}
		info := FrameInfo{Time: ci.Timestamp, Length: ci.Length}
		r.describe(data, ci.InterfaceIndex, &info)
		if len(data) > r.snaplen {
			data = data[:r.snaplen]
		}
		return data, info, nil
	}
}

// Offsets in the ring (linux/if_packet.h, packet_mmap.rst). Each frame in
// a TPACKET_V3 block starts with struct tpacket3_hdr, followed at
// TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) by a struct sockaddr_ll, and
// the frame itself at tp_mac:
//
//	tpacket3_hdr: 0 tp_next_offset u32, 4 tp_sec u32, 8 tp_nsec u32,
//	  12 tp_snaplen u32, 16 tp_len u32, 20 tp_status u32, 24 tp_mac u16,
//	  26 tp_net u16, 28 hv1 { tp_rxhash u32, 32 tp_vlan_tci u32,
//	  36 tp_vlan_tpid u16, 38 pad u16 }, 40 tp_padding [8]u8; 48 bytes
//	sockaddr_ll: 0 sll_family u16, 2 sll_protocol be16, 4 sll_ifindex i32,
//	  8 sll_hatype u16, 10 sll_pkttype u8, 11 sll_halen u8, 12 sll_addr [8]u8
const (
	tp3Status   = 20
	tp3Mac      = 24
	tp3VLANTCI  = 32
	tp3VLANTPID = 36
	tp3HdrLen   = 48
	sllIfindex  = 4
	sllPkttype  = 10
	// tpacket_rcv puts the MAC header at TPACKET_ALIGN(tp_hdrlen +
	// max(16, maclen)) - maclen with tp_hdrlen = 48 + 20 and no
	// tp_reserve: always within [68, 96] bytes of the frame's header.
	tp3MacMin    = tp3HdrLen + 20
	tp3MacMax    = 96
	tp3MacCommon = 96 - 14 // maclen 14: an Ethernet header
)

// describe fills in the direction, packet type and stripped VLAN tag of a
// frame. afpacket does not expose sll_pkttype, so describe finds the
// frame's tpacket3_hdr in the ring, a known distance before the data: it
// tries each possible tp_mac and accepts the one whose header says tp_mac
// is that distance and whose sockaddr_ll carries AF_PACKET and the ring's
// interface index. If no candidate checks out (a kernel that lays the ring
// out otherwise), it falls back to comparing the source MAC with the
// interface's: a frame from our MAC is outbound. That fallback is wrong for
// frames another host sends with our MAC (spoofing, bridged duplicates);
// FallbackDirections counts how often it was used.
func (r *Ring) describe(data []byte, ifindex int, info *FrameInfo) {
	if h := ringHeader(data, ifindex); h != nil {
		info.Type = PacketType(*(*uint8)(unsafe.Add(h, tp3HdrLen+sllPkttype)))
		info.Dir = info.Type.Direction()
		status := *(*uint32)(unsafe.Add(h, tp3Status))
		if status&tpStatusVLANValid != 0 {
			info.VLAN = true
			info.VLANTCI = uint16(*(*uint32)(unsafe.Add(h, tp3VLANTCI)))
			info.VLANTPID = etherTypeVLAN
			if tpid := *(*uint16)(unsafe.Add(h, tp3VLANTPID)); status&tpStatusVLANTPIDValid != 0 && tpid != 0 {
				info.VLANTPID = tpid
			}
		}
		return
	}
	r.guessed.Add(1)
	if len(data) >= 12 && bytes.Equal(data[6:12], r.ifi.HardwareAddr) {
		info.Type, info.Dir = PacketOutgoing, Outbound
	} else {
		info.Type, info.Dir = PacketHost, Inbound
	}
}

// ringHeader returns the address of the tpacket3_hdr of the frame whose
// data starts at data, or nil.
func ringHeader(data []byte, ifindex int) unsafe.Pointer {
	p := unsafe.Pointer(unsafe.SliceData(data))
	if p == nil {
		return nil
	}
	check := func(m int) unsafe.Pointer {
		h := unsafe.Add(p, -m)
		if int(*(*uint16)(unsafe.Add(h, tp3Mac))) != m {
			return nil
		}
		sll := unsafe.Add(h, tp3HdrLen)
		if *(*uint16)(sll) != unix.AF_PACKET || *(*int32)(unsafe.Add(sll, sllIfindex)) != int32(ifindex) {
			return nil
		}
		return h
	}
	if h := check(tp3MacCommon); h != nil {
		return h
	}
	for m := tp3MacMin; m <= tp3MacMax; m++ {
		if m == tp3MacCommon {
			continue
		}
		if h := check(m); h != nil {
			return h
		}
	}
	return nil
}

// FallbackDirections returns how many frames got their direction from the
// source-MAC fallback rather than from the kernel's sll_pkttype.
func (r *Ring) FallbackDirections() uint64 { return r.guessed.Load() }

// Stats returns the ring's kernel counters, cumulative since NewRing. After
// Close it returns the counters as they were when the ring was closed.
func (r *Ring) Stats() (Stats, error) {
	if r.closing.Load() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.closed {
			return r.final, nil
		}
	}
	return r.stats()
}

func (r *Ring) stats() (Stats, error) {
	_, v3, err := r.tp.SocketStats()
	if err != nil {
		return Stats{}, fmt.Errorf("capture: ring statistics on %s: %w", r.ifi.Name, os.NewSyscallError("getsockopt PACKET_STATISTICS", err))
	}
	return Stats{Packets: uint64(v3.Packets()), Drops: uint64(v3.Drops())}, nil
}

// Close unmaps the ring and closes the socket, after the ReadFrame in
// progress (if any) returns, within PollTimeout. Calling it again does
// nothing.
func (r *Ring) Close() error {
	r.closing.Store(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.final, _ = r.stats()
		r.tp.Close()
	}
	return nil
}
