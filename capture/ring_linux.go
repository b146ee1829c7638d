//go:build linux

package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
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

	// Waiting for a block: through Go's network poller when the socket
	// could be registered with it (pf, rc), else in afpacket's poll(2).
	pf          *os.File
	rc          syscall.RawConn
	pollTimeout time.Duration
	pollfd      [1]unix.PollFd
	readyFn     func(fd uintptr) bool

	// The last context ReadFrame saw, and its Done channel.
	lastCtx   context.Context
	lastDone  <-chan struct{}
	stopAfter func() bool // unregisters the AfterFunc of lastCtx

	// Frames the kernel queued before the filter was attached are
	// filtered again here (see NewRing).
	vm      *bpf.VM
	vmUntil time.Time

	guessed atomic.Uint64 // frames whose direction came from the MAC fallback

	// The ring walked directly (see mapRing); mem is nil when the
	// fallback through afpacket's ZeroCopyReadPacketData is in use.
	mem       []byte
	blockSize int
	numBlocks int
	blk       int            // index of the block being read
	hdr       unsafe.Pointer // next tpacket3_hdr in that block
	left      uint32         // frames left in that block
	held      bool           // that block is ours (TP_STATUS_USER) until released
	vmUntilNs int64          // vmUntil in Unix nanoseconds
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
	// looks at its context and at Close again, when the socket could not
	// be registered with Go's network poller (which wakes a read at once
	// on cancellation or Close); 0 means 100 ms.
	PollTimeout time.Duration
	// IgnoreOutgoing asks the kernel not to pass the frames this host sends
	// (PACKET_IGNORE_OUTGOING, Linux 4.20), as tcpdump -Q in does.
	IgnoreOutgoing bool
}

const ringFrameSize = 2048

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
	// afpacket polls without blocking: ReadFrame waits for the next block
	// in Go's network poller (see wait), which costs no thread hand-off.
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(ifname),
		afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
		afpacket.OptFrameSize(ringFrameSize),
		afpacket.OptBlockSize(cfg.BlockSize),
		afpacket.OptNumBlocks(cfg.NumBlocks),
		afpacket.OptBlockTimeout(cfg.BlockTimeout),
		afpacket.OptPollTimeout(0),
	)
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			err = &net.OpError{Op: "listen", Net: "packet", Err: os.NewSyscallError("socket", errno)}
		}
		return nil, fmt.Errorf("capture: open ring on %s: %w", ifname, err)
	}
	r := &Ring{ifi: ifi, tp: tp, snaplen: cfg.SnapLen, pollTimeout: cfg.PollTimeout}
	if err := r.setupPoller(); err != nil {
		tp.Close()
		return nil, fmt.Errorf("capture: open ring on %s: %w", ifname, err)
	}
	r.mapRing(cfg.BlockSize, cfg.NumBlocks)
	if cfg.IgnoreOutgoing {
		fd := r.pollFD()
		err := errors.New("afpacket socket not found")
		if fd >= 0 {
			err = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
		}
		if err != nil {
			r.closeFiles()
			return nil, fmt.Errorf("capture: open ring on %s: %w", ifname, os.NewSyscallError("setsockopt PACKET_IGNORE_OUTGOING", err))
		}
	}
	// No filter and the default snap length: nothing to attach, which
	// spares the kernel a filter run per frame.
	if len(cfg.Filter) > 0 || cfg.SnapLen < DefaultSnapLen {
		filter := ApplySnapLen(cfg.Filter, cfg.SnapLen)
		if err := tp.SetBPF(filter); err != nil {
			r.closeFiles()
			return nil, fmt.Errorf("capture: open ring on %s: attach filter: %w", ifname, os.NewSyscallError("setsockopt SO_ATTACH_FILTER", err))
		}
	}
	r.vmUntil = time.Now()
	r.vmUntilNs = r.vmUntil.UnixNano()
	if len(cfg.Filter) > 0 {
		if insns, ok := bpf.Disassemble(cfg.Filter); ok {
			if vm, err := bpf.NewVM(insns); err == nil {
				r.vm = vm
			}
		}
	}
	if cfg.Promiscuous {
		if err := tp.SetPromiscuous(true); err != nil {
			r.closeFiles()
			return nil, fmt.Errorf("capture: open ring on %s: promiscuous mode: %w", ifname, err)
		}
	}
	return r, nil
}

// Interface returns the interface the ring captures on.
func (r *Ring) Interface() *net.Interface { return r.ifi }

// setupPoller registers a duplicate of the ring's socket with Go's network
// poller. afpacket keeps the descriptor to itself, so it is read, without
// unsafe, from the TPacket's fd field, and checked to be an AF_PACKET
// socket bound to our interface whose ring is TPACKET_V3 before it is used.
// If any of that fails, the socket is not touched and wait sleeps in
// poll(2) instead (a blocking system call, which costs the Go scheduler a
// thread hand-off per wait).
func (r *Ring) setupPoller() error {
	f := reflect.ValueOf(r.tp).Elem().FieldByName("fd")
	if !f.IsValid() || f.Kind() != reflect.Int {
		return nil
	}
	fd := int(f.Int())
	sa, err := unix.Getsockname(fd)
	ll, ok := sa.(*unix.SockaddrLinklayer)
	if err != nil || !ok || ll.Ifindex != r.ifi.Index {
		return nil
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION); err != nil || v != unix.TPACKET_V3 {
		return nil
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err)
	}
	// O_NONBLOCK is shared with afpacket's descriptor; afpacket only
	// polls it and never reads from it, so that changes nothing for it.
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return os.NewSyscallError("fcntl O_NONBLOCK", err)
	}
	pf := os.NewFile(uintptr(dup), "packet-ring")
	rc, err := pf.SyscallConn()
	if err != nil {
		pf.Close()
		return err
	}
	if err := pf.SetReadDeadline(time.Time{}); err != nil {
		// Not registered with the poller (os.ErrNoDeadline).
		pf.Close()
		return nil
	}
	r.pf, r.rc = pf, rc
	r.readyFn = func(fd uintptr) bool {
		if r.mem != nil {
			// The ring is walked directly: the block ReadBatch waits for
			// is ready when the kernel has set TP_STATUS_USER in it, which
			// is what packet_poll reports as POLLIN. Reading it here
			// spares a poll(2) per wait. ReadBatch holds r.mu.
			return r.closing.Load() || atomic.LoadUint32((*uint32)(unsafe.Add(r.block(), blkStatus)))&tpStatusUser != 0
		}
		// POLLIN: the kernel has handed a block to user space
		// (packet_poll); the poller then wakes us once per block.
		r.pollfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		n, err := unix.Poll(r.pollfd[:], 0)
		return n > 0 || (err != nil && err != unix.EINTR)
	}
	return nil
}

// wait waits until the kernel hands over a block, the context's deadline
// or PollTimeout passes, or Close is called.
func (r *Ring) wait(ctx context.Context) {
	if r.rc == nil {
		// afpacket's own poll(2), bounded so that ctx and Close are seen.
		pfd := [1]unix.PollFd{{Fd: int32(r.pollFD()), Events: unix.POLLIN}}
		unix.Poll(pfd[:], int(r.pollTimeout/time.Millisecond))
		return
	}
	// The poller's deadline is the context's, and a cancelled context or
	// Close moves it into the past (setContext, Close): no timer is set per
	// wait, which would wake the poller's thread each time.
	r.rc.Read(r.readyFn)
}

// setContext makes ctx the context ReadBatch waits under: with the
// poller, its deadline becomes the socket's read deadline, and its
// cancellation (one AfterFunc per context, not per read) moves that
// deadline into the past to wake a waiting read. r.mu is held.
func (r *Ring) setContext(ctx context.Context) {
	if r.stopAfter != nil {
		r.stopAfter()
		r.stopAfter = nil
	}
	r.lastCtx, r.lastDone = ctx, ctx.Done()
	if r.pf == nil {
		return
	}
	d, _ := ctx.Deadline()
	r.pf.SetReadDeadline(d)
	if r.lastDone != nil {
		pf := r.pf
		r.stopAfter = context.AfterFunc(ctx, func() { pf.SetReadDeadline(time.Unix(1, 0)) })
	}
}

// pollFD is afpacket's descriptor, for the fallback wait; -1 (poll then
// just sleeps) if it cannot be read.
func (r *Ring) pollFD() int {
	f := reflect.ValueOf(r.tp).Elem().FieldByName("fd")
	if !f.IsValid() || f.Kind() != reflect.Int {
		return -1
	}
	return int(f.Int())
}

// mapRing maps afpacket's ring a second time, through the same socket,
// so that Ring can walk its blocks itself (packet_mmap.rst: a packet
// socket's ring may be mapped more than once; every mapping shares the
// same pages). afpacket still sets up the socket, the ring (PACKET_RX_RING
// with these block size and count) and the filter; only the reading is
// done here. The kernel accepts the mapping only if its size is exactly
// the ring's (packet_mmap), which checks that the ring is laid out as
// blockSize and numBlocks say. If the descriptor cannot be found or the
// mapping fails, ReadFrame falls back to afpacket's ZeroCopyReadPacketData.
//
// What is read directly, per packet_mmap.rst and linux/if_packet.h:
//
//	struct tpacket_block_desc: 0 version u32, 4 offset_to_priv u32,
//	  8 hdr.bh1 { 8 block_status u32, 12 num_pkts u32,
//	  16 offset_to_first_pkt u32, 20 blk_len u32, ... }
//
// A block belongs to user space while block_status has TP_STATUS_USER;
// it is given back by storing TP_STATUS_KERNEL (0) there, with a barrier
// (an atomic store), as libpcap does. Within a block, the frames are
// tpacket3_hdr records (see the offsets below) chained by tp_next_offset.
// Walking them directly saves afpacket's per-frame lock, time.Time and
// CaptureInfo construction, and the search for the header in describe.
func (r *Ring) mapRing(blockSize, numBlocks int) {
	fd := r.pollFD()
	if fd < 0 || blockSize <= 0 || numBlocks <= 0 {
		return
	}
	mem, err := unix.Mmap(fd, 0, blockSize*numBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return
	}
	r.mem, r.blockSize, r.numBlocks = mem, blockSize, numBlocks
}

// closeFiles unmaps Ring's mapping and closes the poller's descriptor and
// afpacket's socket.
func (r *Ring) closeFiles() {
	if r.mem != nil {
		unix.Munmap(r.mem)
		r.mem = nil
	}
	r.hdr, r.left, r.held = nil, 0, false
	if r.pf != nil {
		r.pf.Close()
	}
	r.tp.Close()
}

// Offsets in a struct tpacket_block_desc (see mapRing) and block states.
const (
	blkStatus      = 8
	blkNumPkts     = 12
	blkFirstPkt    = 16
	tpStatusKernel = 0
	tpStatusUser   = 1
)

// block returns the address of the current block.
func (r *Ring) block() unsafe.Pointer {
	return unsafe.Pointer(&r.mem[r.blk*r.blockSize])
}

// advance gives the current block back to the kernel if it is done with,
// and takes the next one if the kernel has handed it over. It reports
// whether a frame is ready to be read.
func (r *Ring) advance() bool {
	for {
		if r.left > 0 {
			return true
		}
		if r.held {
			atomic.StoreUint32((*uint32)(unsafe.Add(r.block(), blkStatus)), tpStatusKernel)
			r.held = false
			r.blk++
			if r.blk == r.numBlocks {
				r.blk = 0
			}
		}
		b := r.block()
		if atomic.LoadUint32((*uint32)(unsafe.Add(b, blkStatus)))&tpStatusUser == 0 {
			return false
		}
		r.held = true
		n := *(*uint32)(unsafe.Add(b, blkNumPkts))
		off := *(*uint32)(unsafe.Add(b, blkFirstPkt))
		if n == 0 || int(off)+tp3HdrLen > r.blockSize {
			continue // an empty block: give it back and look at the next
		}
		r.hdr, r.left = unsafe.Add(b, off), n
	}
}

// next takes the next frame of the current block (advance said there is
// one) and fills in f. It reports false for a frame to skip (one the
// late filter rejects, or a header that does not fit in the block).
func (r *Ring) next(f *Frame) bool {
	h := r.hdr
	r.left--
	if int(uintptr(h)-uintptr(r.block()))+tp3MacMax > r.blockSize {
		r.left = 0 // a header past the block's end: drop the rest of it
		return false
	}
	nextOff := *(*uint32)(h)
	mac := int(*(*uint16)(unsafe.Add(h, tp3Mac)))
	snap := int(*(*uint32)(unsafe.Add(h, tp3Snaplen)))
	if end := int(uintptr(h)-uintptr(r.block())) + mac + snap; end > r.blockSize || mac < tp3HdrLen {
		r.left = 0 // corrupt: drop the rest of the block
		return false
	}
	if nextOff != 0 {
		r.hdr = unsafe.Add(h, nextOff)
	} else {
		r.hdr = unsafe.Add(h, (mac+snap+15)&^15) // TPACKET_ALIGN
	}
	data := unsafe.Slice((*byte)(unsafe.Add(h, mac)), snap)
	sec := *(*uint32)(unsafe.Add(h, tp3Sec))
	nsec := *(*uint32)(unsafe.Add(h, tp3Nsec))
	if r.vm != nil && int64(sec)*1e9+int64(nsec) < r.vmUntilNs {
		keep, err := r.vm.Run(data)
		if err != nil || keep == 0 {
			return false
		}
		data = data[:min(keep, len(data))]
	}
	if len(data) > r.snaplen {
		data = data[:r.snaplen]
	}
	f.Data = data
	f.Info = FrameInfo{
		Time:   time.Unix(int64(sec), int64(nsec)),
		Length: int(*(*uint32)(unsafe.Add(h, tp3Len))),
	}
	headerInfo(h, &f.Info)
	return true
}

// ReadFrame returns the next frame. The slice points into the ring and is
// valid until the next ReadFrame, ReadBatch or Close: copy what must
// outlive it. It allocates nothing. It returns an error wrapping ctx.Err()
// once the context is done (seen within PollTimeout while waiting), and
// one wrapping net.ErrClosed after Close.
func (r *Ring) ReadFrame(ctx context.Context) ([]byte, FrameInfo, error) {
	if r.mem == nil {
		return r.readFrameAfpacket(ctx)
	}
	var f [1]Frame
	if _, err := r.ReadBatch(ctx, f[:]); err != nil {
		return nil, FrameInfo{}, err
	}
	return f[0].Data, f[0].Info, nil
}

// ReadBatch waits for a frame, then fills frames with as many frames as
// are ready in the ring block being read (at most len(frames), at least
// one) and returns how many. The frames' data point into the ring and stay
// valid until the next ReadBatch, ReadFrame or Close; the block is handed
// back to the kernel then. A frame not read stays in the ring for the next
// call. It allocates nothing. Its errors are those of ReadFrame.
func (r *Ring) ReadBatch(ctx context.Context, frames []Frame) (int, error) {
	if len(frames) == 0 {
		return 0, nil
	}
	if r.mem == nil {
		data, info, err := r.readFrameAfpacket(ctx)
		if err != nil {
			return 0, err
		}
		frames[0] = Frame{Data: data, Info: info}
		return 1, nil
	}
	r.mu.Lock()
	if !sameContext(ctx, r.lastCtx) {
		r.setContext(ctx)
	}
	done := r.lastDone
	for {
		if r.closed || r.closing.Load() {
			r.mu.Unlock()
			return 0, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, net.ErrClosed)
		}
		if done != nil {
			select {
			case <-done:
				r.mu.Unlock()
				return 0, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, ctx.Err())
			default:
			}
		}
		if !r.advance() {
			r.wait(ctx)
			continue
		}
		n := 0
		for n < len(frames) && r.left > 0 {
			if r.next(&frames[n]) {
				n++
			}
		}
		if n > 0 {
			r.mu.Unlock()
			return n, nil
		}
	}
}

// readFrameAfpacket is ReadFrame through afpacket, when the ring could not
// be mapped.
func (r *Ring) readFrameAfpacket(ctx context.Context) ([]byte, FrameInfo, error) {
	r.mu.Lock()
	if !sameContext(ctx, r.lastCtx) {
		r.setContext(ctx)
	}
	done := r.lastDone
	for {
		if r.closed || r.closing.Load() {
			r.mu.Unlock()
			return nil, FrameInfo{}, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, net.ErrClosed)
		}
		if done != nil {
			select {
			case <-done:
				r.mu.Unlock()
				return nil, FrameInfo{}, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, ctx.Err())
			default:
			}
		}
		data, ci, err := r.tp.ZeroCopyReadPacketData()
		if err != nil {
			if err == afpacket.ErrTimeout {
				r.wait(ctx)
				continue
			}
			r.mu.Unlock()
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
		r.mu.Unlock()
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
	tp3Sec      = 4
	tp3Nsec     = 8
	tp3Snaplen  = 12
	tp3Len      = 16
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
		headerInfo(h, info)
		return
	}
	r.guessed.Add(1)
	if len(data) >= 12 && bytes.Equal(data[6:12], r.ifi.HardwareAddr) {
		info.Type, info.Dir = PacketOutgoing, Outbound
	} else {
		info.Type, info.Dir = PacketHost, Inbound
	}
}

// headerInfo reads the packet type (direction) and the stripped VLAN tag
// from the tpacket3_hdr at h and the sockaddr_ll after it.
func headerInfo(h unsafe.Pointer, info *FrameInfo) {
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
	if r.pf != nil {
		// Wake a ReadFrame waiting in the poller.
		r.pf.SetReadDeadline(time.Unix(1, 0))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		if r.stopAfter != nil {
			r.stopAfter()
			r.stopAfter = nil
		}
		r.lastCtx, r.lastDone = nil, nil
		r.final, _ = r.stats()
		r.closeFiles()
	}
	return nil
}
