//go:build linux

package capture

import (
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// ringWalker walks the blocks of a TPACKET_V3 receive ring, the one
// walker behind Ring and a Conn with a ring. It allocates nothing.
//
// What is read, per packet_mmap.rst and linux/if_packet.h:
//
//	struct tpacket_block_desc: 0 version u32, 4 offset_to_priv u32,
//	  8 hdr.bh1 { 8 block_status u32, 12 num_pkts u32,
//	  16 offset_to_first_pkt u32, 20 blk_len u32, ... }
//
// A block belongs to user space while block_status has TP_STATUS_USER;
// it is given back by storing TP_STATUS_KERNEL (0) there, with a barrier
// (an atomic store), as libpcap does. Within a block, the frames are
// tpacket3_hdr records (see the offsets below) chained by tp_next_offset,
// each followed at TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) by a struct
// sockaddr_ll (sll_pkttype gives the direction), and the frame itself at
// tp_mac.
type ringWalker struct {
	mem       []byte
	blockSize int
	numBlocks int
	blk       int            // index of the block being read
	hdr       unsafe.Pointer // next tpacket3_hdr in that block
	left      uint32         // frames left in that block
	held      bool           // that block is ours (TP_STATUS_USER) until released

	// Waiting, through the runtime poller (see wait).
	closing *atomic.Bool
	errno   syscall.Errno // a pending socket error found while waiting
	readyFn func(fd uintptr) bool
}

// Offsets in a struct tpacket_block_desc and block states.
const (
	blkStatus      = 8
	blkNumPkts     = 12
	blkFirstPkt    = 16
	tpStatusKernel = 0
	tpStatusUser   = 1
)

// Offsets in the ring (linux/if_packet.h, packet_mmap.rst):
//
//	tpacket3_hdr: 0 tp_next_offset u32, 4 tp_sec u32, 8 tp_nsec u32,
//	  12 tp_snaplen u32, 16 tp_len u32, 20 tp_status u32, 24 tp_mac u16,
//	  26 tp_net u16, 28 hv1 { tp_rxhash u32, 32 tp_vlan_tci u32,
//	  36 tp_vlan_tpid u16, 38 pad u16 }, 40 tp_padding [8]u8; 48 bytes
//	sockaddr_ll: 0 sll_family u16, 2 sll_protocol be16, 4 sll_ifindex i32,
//	  8 sll_hatype u16, 10 sll_pkttype u8, 11 sll_halen u8, 12 sll_addr [8]u8
//
// All fields but sll_protocol are in host byte order; they are read as
// host-order integers through pointers.
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
	sllPkttype  = 10
	// tpacket_rcv puts the MAC header at TPACKET_ALIGN(tp_hdrlen +
	// max(16, maclen)) - maclen with tp_hdrlen = 48 + 20 and no
	// tp_reserve: never more than 96 bytes after the frame's header.
	tp3MacMax = 96
)

// init prepares w to walk s's ring.
func (w *ringWalker) init(s *socket) {
	w.mem, w.blockSize, w.numBlocks = s.mem, s.layout.blockSize, s.layout.numBlocks
	w.closing = &s.closing
	w.readyFn = w.ready
}

// block returns the address of the current block.
func (w *ringWalker) block() unsafe.Pointer {
	return unsafe.Pointer(&w.mem[w.blk*w.blockSize])
}

// advance gives the current block back to the kernel if it is done with,
// and takes the next one if the kernel has handed it over. It reports
// whether a frame is ready to be read.
func (w *ringWalker) advance() bool {
	for {
		if w.left > 0 {
			return true
		}
		w.release()
		b := w.block()
		if atomic.LoadUint32((*uint32)(unsafe.Add(b, blkStatus)))&tpStatusUser == 0 {
			return false
		}
		w.held = true
		n := *(*uint32)(unsafe.Add(b, blkNumPkts))
		off := *(*uint32)(unsafe.Add(b, blkFirstPkt))
		if n == 0 || int(off)+tp3HdrLen > w.blockSize {
			continue // an empty block: give it back and look at the next
		}
		w.hdr, w.left = unsafe.Add(b, off), n
	}
}

// release gives the current block back to the kernel once every frame of
// it has been read, and moves to the next block.
func (w *ringWalker) release() {
	if !w.held || w.left > 0 {
		return
	}
	atomic.StoreUint32((*uint32)(unsafe.Add(w.block(), blkStatus)), tpStatusKernel)
	w.held = false
	w.blk++
	if w.blk == w.numBlocks {
		w.blk = 0
	}
}

// next takes the next frame of the current block (advance said there is
// one) and fills in f; f.Data points into the ring. It reports false for
// a header that does not fit in the block (the rest of the block is then
// skipped).
func (w *ringWalker) next(f *Frame) bool {
	h := w.hdr
	w.left--
	off := int(uintptr(h) - uintptr(w.block()))
	if off+tp3MacMax > w.blockSize {
		w.left = 0 // a header past the block's end: drop the rest of it
		return false
	}
	nextOff := *(*uint32)(h)
	mac := int(*(*uint16)(unsafe.Add(h, tp3Mac)))
	snap := int(*(*uint32)(unsafe.Add(h, tp3Snaplen)))
	if end := off + mac + snap; end > w.blockSize || mac < tp3HdrLen {
		w.left = 0 // corrupt: drop the rest of the block
		return false
	}
	if nextOff != 0 {
		w.hdr = unsafe.Add(h, nextOff)
	} else {
		w.hdr = unsafe.Add(h, (mac+snap+15)&^15) // TPACKET_ALIGN
	}
	f.Data = unsafe.Slice((*byte)(unsafe.Add(h, mac)), snap)
	f.Info = FrameInfo{
		Time:   time.Unix(int64(*(*uint32)(unsafe.Add(h, tp3Sec))), int64(*(*uint32)(unsafe.Add(h, tp3Nsec)))),
		Length: int(*(*uint32)(unsafe.Add(h, tp3Len))),
		Type:   PacketType(*(*uint8)(unsafe.Add(h, tp3HdrLen+sllPkttype))),
	}
	f.Info.Dir = f.Info.Type.Direction()
	decodeStatus(*(*uint32)(unsafe.Add(h, tp3Status)), uint16(*(*uint32)(unsafe.Add(h, tp3VLANTCI))),
		*(*uint16)(unsafe.Add(h, tp3VLANTPID)), &f.Info)
	return true
}

// ready is the poller's callback while a reader waits for a block: the
// block is ready when the kernel has set TP_STATUS_USER in it, which is
// what packet_poll reports as POLLIN, so no poll(2) is needed. Otherwise
// it looks for a pending socket error: packet_notifier reports an
// interface going away as sk_err = ENETDOWN and wakes the poller with
// POLLERR, but the runtime forgets a wake-up that came before the wait
// began (it resets the descriptor's readiness first), so the error is
// looked for before every wait, not only after one.
func (w *ringWalker) ready(fd uintptr) bool {
	if w.closing.Load() || w.left > 0 ||
		atomic.LoadUint32((*uint32)(unsafe.Add(w.block(), blkStatus)))&tpStatusUser != 0 {
		return true
	}
	if e := pendingError(fd); e != 0 {
		w.errno = e
		return true
	}
	return false
}

// wait waits in the runtime poller until a block is handed over, the
// socket's read deadline passes, the socket is closed, or the kernel
// reports an error (then w.errno is set). The deadline is the caller's
// business.
func (w *ringWalker) wait(s *socket) error {
	return s.rc.Read(w.readyFn)
}
