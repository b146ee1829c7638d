//go:build linux

package arpscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// DialConfig sets up the sockets Dial opens.
type DialConfig struct {
	// Passive receives every ARP frame (requests too), not only replies.
	Passive bool
	// Promiscuous puts the interface in promiscuous mode while open, to
	// see replies addressed to other hosts (useful in passive mode).
	Promiscuous bool
	// RecvBuffer is the receive socket's buffer in bytes; 0 means 16 MiB,
	// enough to queue a /16's replies arriving faster than they are read.
	RecvBuffer int
	// BypassQdisc sends straight to the driver (PACKET_QDISC_BYPASS), for
	// --rate max on links where the queueing discipline is the bottleneck.
	BypassQdisc bool
	// RingSize is the size in bytes of the TPACKET_V3 receive ring; 0 means
	// 4 MiB, a negative value no ring (recvmmsg instead). An ARP reply takes
	// 128 bytes of ring (plus a block header per 255), so 16 MiB holds
	// about 130,000 replies.
	RingSize int
}

// ringBlockSize is the size of one TPACKET_V3 block; ringBlockTimeout how
// long the kernel waits before handing over a block that is not full
// (tp_retire_blk_tov, in ms).
// Blocks are small so that at high rates they fill (and are handed over)
// well before the timeout, and a ring of many of them holds many frames
// whatever the rate: 32 KiB is 255 ARP replies.
const (
	ringBlockSize    = 32 << 10
	ringBlockTimeout = 1
)

// PacketConn is the AF_PACKET implementation of Conn: a send-only socket
// (protocol 0) written with sendmmsg(2), and a receive socket bound to
// ETH_P_ALL with a BPF filter attached before bind, read from a TPACKET_V3
// ring or with recvmmsg(2) through the runtime poller.
type PacketConn struct {
	ifi    *net.Interface
	sendFD int
	recv   *os.File
	rc     syscall.RawConn
	recvFD int

	// send side, used by one goroutine at a time
	shdr []unix.Mmsghdr
	siov []unix.Iovec

	// receive side, used by one goroutine at a time
	rhdr   []unix.Mmsghdr
	riov   []unix.Iovec
	rctl   []byte
	rmsgs  []Msg
	rn     int
	rerr   error
	readFn func(fd uintptr) bool
	ringFn func(fd uintptr) bool

	// TPACKET_V3 receive ring, when mapped (see packet(7) and
	// Documentation/networking/packet_mmap.rst).
	readMu sync.Mutex // held while ReadFrames touches the ring; Close takes it before unmapping
	ring   []byte
	blocks int
	cur    int // block being read
	pkt    int // packets of cur already read
	pktOff int // offset in cur of the next packet

	closeOnce      sync.Once
	closeErr       error
	closeWriteOnce sync.Once
	writeClosed    atomic.Bool
	sendWG         sync.WaitGroup
	sendErr        error
}

var _ Conn = (*PacketConn)(nil)

// ctlSpace is the control buffer per message: PACKET_AUXDATA and
// SCM_TIMESTAMPNS, each a cmsghdr plus its aligned payload.
const ctlSpace = 128

// Dial opens the sockets on ifi. Without CAP_NET_RAW the error wraps
// os.ErrPermission.
func Dial(ifi *net.Interface, cfg DialConfig) (*PacketConn, error) {
	prog, err := replyFilter(cfg.Passive)
	if err != nil {
		return nil, err
	}
	c := &PacketConn{ifi: ifi, sendFD: -1, recvFD: -1}
	fail := func(op string, err error) (*PacketConn, error) {
		c.Close()
		return nil, &net.OpError{Op: "dial", Net: "packet", Source: nil, Addr: nil,
			Err: fmt.Errorf("arpscan: %s %s: %w", op, ifi.Name, os.NewSyscallError(op, err))}
	}
	// Send socket: protocol 0, so nothing is ever queued on it, and kept
	// out of the runtime poller: a socket the poller watches wakes it for
	// every frame the driver frees (EPOLLOUT from sock_def_write_space),
	// tens of thousands of context switches in a fast scan.
	c.sendFD, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		c.sendFD = -1
		return fail("socket", err)
	}
	if err := unix.Bind(c.sendFD, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	if cfg.BypassQdisc {
		if err := unix.SetsockoptInt(c.sendFD, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
			return fail("setsockopt", err)
		}
	}
	// Receive socket: created with protocol 0 (nothing is queued on it
	// yet), filtered, then bound to ETH_P_ALL. Not ETH_P_ARP: when no VLAN
	// device takes a tagged frame, the kernel clears the tag it stripped
	// before handing the frame to protocol-bound sockets, and only taps
	// (ETH_P_ALL) still see it (__netif_receive_skb_core). The filter drops
	// everything else, this host's own requests included, in the kernel.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return fail("socket", err)
	}
	c.recvFD = fd
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, prog); err != nil {
		return fail("setsockopt", err)
	}
	rb := cfg.RecvBuffer
	if rb <= 0 {
		rb = 16 << 20
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rb); err != nil {
		// Without CAP_NET_ADMIN, settle for what rmem_max allows.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rb); err != nil {
			return fail("setsockopt", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		return fail("setsockopt", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("setsockopt", err)
	}
	if cfg.RingSize >= 0 {
		if err := c.setupRing(cfg.RingSize); err != nil {
			return fail("setsockopt", err)
		}
	}
	if cfg.Promiscuous {
		mr := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
			return fail("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	c.recv = os.NewFile(uintptr(fd), "packet:"+ifi.Name)
	rc, err := c.recv.SyscallConn()
	if err != nil {
		return fail("syscallconn", err)
	}
	c.rc = rc
	c.readFn = c.tryRead
	c.ringFn = c.tryRing
	return c, nil
}

func htons(x uint16) uint16 { return x<<8 | x>>8 }

// replyFilter accepts ARP frames, untagged or behind one 802.1Q/802.1ad
// tag (Linux normally strips the tag before the filter runs; a tag left in
// place is still matched), and when passive is false only replies (oper 2).
func replyFilter(passive bool) (*unix.SockFprog, error) {
	const accept, drop = 0x40000, 0
	ins := []bpf.Instruction{
		/* 0 */ bpf.LoadAbsolute{Off: 12, Size: 2},
		/* 1 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeVLAN, SkipTrue: 2},
		/* 2 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeQinQ, SkipTrue: 1},
		/* 3 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeARP, SkipTrue: 4, SkipFalse: 7},
		/* 4 tagged */ bpf.LoadAbsolute{Off: 16, Size: 2},
		/* 5 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeARP, SkipFalse: 5},
		/* 6 */ bpf.LoadAbsolute{Off: 18 + 6, Size: 2}, // oper, tagged
		/* 7 */ bpf.Jump{Skip: 1},
		/* 8 untagged */ bpf.LoadAbsolute{Off: 14 + 6, Size: 2}, // oper
		/* 9 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: opReply, SkipFalse: 1},
		/* 10 */ bpf.RetConstant{Val: accept},
		/* 11 */ bpf.RetConstant{Val: drop},
	}
	if passive {
		ins[9] = bpf.Jump{Skip: 0} // any oper
	}
	raw, err := bpf.Assemble(ins)
	if err != nil {
		return nil, fmt.Errorf("arpscan: assemble filter: %w", err)
	}
	f := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		f[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}, nil
}

// Interface returns the interface the sockets are bound to.
func (c *PacketConn) Interface() *net.Interface { return c.ifi }

// WriteFrames sends frames with sendmmsg(2), as many per call as the kernel
// takes. A full transmit queue (ENOBUFS, EAGAIN) is retried after yielding.
// It allocates nothing once its headers have grown to the batch size.
func (c *PacketConn) WriteFrames(frames [][]byte) (int, error) {
	if c.writeClosed.Load() {
		return 0, &net.OpError{Op: "write", Net: "packet", Err: os.ErrClosed}
	}
	if len(frames) > len(c.shdr) {
		c.shdr = make([]unix.Mmsghdr, len(frames))
		c.siov = make([]unix.Iovec, len(frames))
	}
	for i, f := range frames {
		c.siov[i].Base = &f[0]
		c.siov[i].SetLen(len(f))
		c.shdr[i].Hdr = unix.Msghdr{Iov: &c.siov[i], Iovlen: 1}
	}
	sent := 0
	busy := 0
	for sent < len(frames) {
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(c.sendFD),
			uintptr(unsafe.Pointer(&c.shdr[sent])), uintptr(len(frames)-sent), 0, 0, 0)
		switch errno {
		case 0:
			sent += int(n)
			busy = 0
			continue
		case unix.EINTR:
			continue
		case unix.ENOBUFS, unix.EAGAIN:
			busy++
			if busy < 64 {
				runtime.Gosched()
			} else {
				time.Sleep(50 * time.Microsecond) // the device queue is full: back off
			}
			if busy < 100000 {
				continue
			}
		}
		runtime.KeepAlive(frames)
		return sent, &net.OpError{Op: "write", Net: "packet", Err: os.NewSyscallError("sendmmsg", errno)}
	}
	runtime.KeepAlive(frames)
	return sent, nil
}

// ReadFrames reads up to len(msgs) frames with recvmmsg(2). It first takes
// whatever is queued without waiting, so that frames queued before a past
// deadline are still returned; then it waits through the poller.
func (c *PacketConn) ReadFrames(msgs []Msg) (int, error) {
	if c.ring != nil {
		return c.readRing(msgs)
	}
	if len(msgs) > len(c.rhdr) {
		c.rhdr = make([]unix.Mmsghdr, len(msgs))
		c.riov = make([]unix.Iovec, len(msgs))
		c.rctl = make([]byte, ctlSpace*len(msgs))
	}
	c.rmsgs = msgs
	if c.tryRead(uintptr(c.recvFD)) {
		return c.done(msgs)
	}
	if err := c.rc.Read(c.readFn); err != nil {
		return 0, &net.OpError{Op: "read", Net: "packet", Err: err}
	}
	return c.done(msgs)
}

func (c *PacketConn) done(msgs []Msg) (int, error) {
	c.rmsgs = nil
	if c.rerr != nil {
		return 0, &net.OpError{Op: "read", Net: "packet", Err: os.NewSyscallError("recvmmsg", c.rerr)}
	}
	return c.rn, nil
}

// tryRead runs one non-blocking recvmmsg; it returns false when nothing is
// queued, for the poller to wait and call again.
func (c *PacketConn) tryRead(fd uintptr) bool {
	msgs := c.rmsgs
	for i := range msgs {
		c.riov[i].Base = &msgs[i].Buf[0]
		c.riov[i].SetLen(len(msgs[i].Buf))
		c.rhdr[i].Hdr = unix.Msghdr{Iov: &c.riov[i], Iovlen: 1, Control: &c.rctl[i*ctlSpace]}
		c.rhdr[i].Hdr.SetControllen(ctlSpace)
		c.rhdr[i].Len = 0
	}
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.rhdr[0])), uintptr(len(msgs)),
			unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			c.rn, c.rerr = 0, errno
			return true
		}
		c.rn, c.rerr = int(n), nil
		for i := 0; i < int(n); i++ {
			m := &msgs[i]
			m.N = min(int(c.rhdr[i].Len), len(m.Buf))
			m.VLAN = -1
			m.Time = time.Time{}
			parseControl(c.rctl[i*ctlSpace:i*ctlSpace+int(c.rhdr[i].Hdr.Controllen)], m)
		}
		return true
	}
}

// parseControl reads PACKET_AUXDATA (the VLAN tag the kernel stripped) and
// SCM_TIMESTAMPNS (the arrival time) from a control buffer, allocating
// nothing. See cmsg(3), packet(7) and socket(7).
func parseControl(b []byte, m *Msg) {
	const hdr = unix.SizeofCmsghdr
	for len(b) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		l := int(h.Len)
		if l < hdr || l > len(b) {
			return
		}
		data := b[hdr:l]
		switch {
		case h.Level == unix.SOL_PACKET && h.Type == unix.PACKET_AUXDATA && len(data) >= int(unsafe.Sizeof(unix.TpacketAuxdata{})):
			aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&data[0]))
			if aux.Status&unix.TP_STATUS_VLAN_VALID != 0 {
				m.VLAN = int(aux.Vlan_tci & 0x0fff)
			}
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= 16:
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			m.Time = time.Unix(sec, nsec)
		}
		next := (l + 7) &^ 7
		if next >= len(b) {
			return
		}
		b = b[next:]
	}
}

// setupRing switches the socket to TPACKET_V3 and maps a receive ring of
// about size bytes (whole blocks, at least 4).
func (c *PacketConn) setupRing(size int) error {
	if size == 0 {
		size = 4 << 20
	}
	blocks := max(4, (size+ringBlockSize-1)/ringBlockSize)
	if err := unix.SetsockoptInt(c.recvFD, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return err
	}
	req := unix.TpacketReq3{Block_size: ringBlockSize, Block_nr: uint32(blocks), Frame_size: 2048,
		Frame_nr: uint32(blocks * ringBlockSize / 2048), Retire_blk_tov: ringBlockTimeout}
	if err := unix.SetsockoptTpacketReq3(c.recvFD, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return err
	}
	mem, err := unix.Mmap(c.recvFD, 0, blocks*ringBlockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	c.ring, c.blocks = mem, blocks
	return nil
}

// Block and packet layout of a TPACKET_V3 ring (linux/if_packet.h): a block
// starts with struct tpacket_block_desc { u32 version; u32 offset_to_priv;
// struct tpacket_hdr_v1 hdr; }, so block_status is at offset 8, num_pkts at
// 12 and offset_to_first_pkt at 16. Each packet starts with struct
// tpacket3_hdr (unix.Tpacket3Hdr): tp_next_offset, tp_sec, tp_nsec,
// tp_snaplen, tp_len, tp_status, tp_mac (offset of the frame), tp_net,
// tp_rxhash, tp_vlan_tci, tp_vlan_tpid.
const blockHdrOff = 8

// readRing copies frames out of the ring, giving each block back to the
// kernel once read. Without a ready block it waits through the poller, which
// reports the socket readable when the kernel retires a block.
func (c *PacketConn) readRing(msgs []Msg) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.ring == nil {
		return 0, &net.OpError{Op: "read", Net: "packet", Err: os.ErrClosed}
	}
	if n := c.ringNext(msgs); n > 0 {
		return n, nil
	}
	c.rmsgs, c.rn = msgs, 0
	err := c.rc.Read(c.ringFn)
	c.rmsgs = nil
	if err != nil {
		return 0, &net.OpError{Op: "read", Net: "packet", Err: err}
	}
	return c.rn, nil
}

// tryRing is readRing's poller callback, a method value made once so that
// waiting allocates nothing.
func (c *PacketConn) tryRing(uintptr) bool {
	c.rn = c.ringNext(c.rmsgs)
	return c.rn > 0
}

// ringNext copies up to len(msgs) frames from ready blocks; it allocates
// nothing.
func (c *PacketConn) ringNext(msgs []Msg) int {
	n := 0
	for n < len(msgs) {
		blk := c.ring[c.cur*ringBlockSize : (c.cur+1)*ringBlockSize]
		hdr := (*unix.TpacketHdrV1)(unsafe.Pointer(&blk[blockHdrOff]))
		if atomic.LoadUint32(&hdr.Block_status)&unix.TP_STATUS_USER == 0 {
			break
		}
		if c.pkt == 0 {
			c.pktOff = int(hdr.Offset_to_first_pkt)
		}
		num := int(hdr.Num_pkts)
		for c.pkt < num && n < len(msgs) {
			if c.pktOff+int(unsafe.Sizeof(unix.Tpacket3Hdr{})) > len(blk) {
				c.pkt = num // corrupt offset: drop the rest of the block
				break
			}
			ph := (*unix.Tpacket3Hdr)(unsafe.Pointer(&blk[c.pktOff]))
			start := c.pktOff + int(ph.Mac)
			end := min(start+int(ph.Snaplen), len(blk))
			m := &msgs[n]
			m.N = copy(m.Buf, blk[min(start, end):end])
			m.Time = time.Unix(int64(ph.Sec), int64(ph.Nsec))
			m.VLAN = -1
			if ph.Status&unix.TP_STATUS_VLAN_VALID != 0 {
				m.VLAN = int(ph.Hv1.Vlan_tci & 0x0fff)
			}
			c.pktOff += int(ph.Next_offset)
			c.pkt++
			n++
		}
		if c.pkt >= num {
			atomic.StoreUint32(&hdr.Block_status, unix.TP_STATUS_KERNEL)
			c.cur = (c.cur + 1) % c.blocks
			c.pkt = 0
		}
	}
	return n
}

// SetReadDeadline sets the receive deadline; a past time wakes a blocked
// ReadFrames. With the ring, frames the kernel has taken but not yet handed
// over sit in a block it retires within ringBlockTimeout, so a deadline is
// never set less than two block timeouts ahead: ReadFrames after a past
// deadline still returns every frame that arrived before it.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	if c.ring != nil && !t.IsZero() {
		if soon := time.Now().Add(2 * ringBlockTimeout * time.Millisecond); t.Before(soon) {
			t = soon
		}
	}
	if err := c.recv.SetReadDeadline(t); err != nil {
		return &net.OpError{Op: "set", Net: "packet", Err: err}
	}
	return nil
}

// Stats returns the receive socket's counters (PACKET_STATISTICS): frames
// that passed the filter and those dropped for want of buffer space. Each
// call resets the kernel's counters.
func (c *PacketConn) Stats() (received, dropped uint64, err error) {
	var st *unix.TpacketStats
	err = c.rc.Control(func(fd uintptr) {
		st, err = unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("arpscan: statistics: %w", err)
	}
	return uint64(st.Packets), uint64(st.Drops), nil
}

// CloseWrite releases the send socket in the background and returns at
// once; WriteFrames fails afterwards. Close waits for the release. The
// scanner calls it once every target has had its last try, so that the
// release (an RCU grace period) overlaps the last waits.
func (c *PacketConn) CloseWrite() error {
	c.closeWriteOnce.Do(func() {
		c.writeClosed.Store(true)
		if c.sendFD < 0 {
			return
		}
		c.sendWG.Add(1)
		go func() {
			defer c.sendWG.Done()
			c.sendErr = unix.Close(c.sendFD)
		}()
	})
	return nil
}

// Close closes both sockets; it is safe to call twice.
func (c *PacketConn) Close() error {
	c.closeOnce.Do(func() {
		// Releasing a packet socket waits for an RCU grace period
		// (packet_release calls synchronize_net), tearing a ring down for
		// another: the two sockets are released in parallel, so that their
		// waits overlap.
		c.CloseWrite()
		var errs []error
		if c.recv != nil {
			errs = append(errs, c.recv.Close())
		} else if c.recvFD >= 0 {
			errs = append(errs, unix.Close(c.recvFD))
		}
		c.readMu.Lock() // a reader woken by the close has left the ring
		if c.ring != nil {
			errs = append(errs, unix.Munmap(c.ring))
			c.ring = nil
		}
		c.readMu.Unlock()
		c.sendWG.Wait()
		c.closeErr = errors.Join(append(errs, c.sendErr)...)
	})
	return c.closeErr
}
