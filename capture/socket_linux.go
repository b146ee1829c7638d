//go:build linux

package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// sockConfig is what openSocket sets up on a new packet socket.
type sockConfig struct {
	proto          uint16 // EtherType to bind to; 0 means ETH_P_ALL
	filter         []bpf.RawInstruction
	promisc        bool
	ignoreOutgoing bool
	sendOnly       bool
	qdiscBypass    bool
	recvBuffer     int
	// control asks for PACKET_AUXDATA and SO_TIMESTAMPNS control
	// messages, for sockets read with recvmsg(2)/recvmmsg(2).
	control bool
	// ring, when its blockSize is positive, sets up a TPACKET_V3 receive
	// ring.
	ring ringLayout
}

// ringLayout is the shape of a TPACKET_V3 ring (struct tpacket_req3).
type ringLayout struct {
	blockSize    int // a multiple of the page size
	numBlocks    int
	blockTimeout time.Duration // tp_retire_blk_tov, at least 1 ms
}

// ringFrameSize is tp_frame_size. TPACKET_V3 packs frames of any size
// into a block; the kernel only checks that the block size is a multiple
// of it (packet_set_ring).
const ringFrameSize = 2048

// socket is one AF_PACKET SOCK_RAW socket bound to one interface, shared
// by Conn and Ring: the socket, its registration with the runtime poller,
// its ring mapping and its counters.
type socket struct {
	ifi  *net.Interface
	addr *packet.Addr
	f    *os.File
	rc   syscall.RawConn
	// pollable is false for a send-only socket, which is blocking and
	// kept out of the runtime poller.
	pollable bool
	// mem is the TPACKET_V3 ring's mapping; nil without a ring. Whoever
	// walks it unmaps it after the last read (closeRing).
	mem    []byte
	layout ringLayout

	closing atomic.Bool
	// down is set once a read has reported ENETDOWN, gone once the
	// interface is known to be deleted: from then on reads fail at once.
	down atomic.Bool
	gone atomic.Bool

	smu    sync.Mutex
	stats  Stats // cumulative counters (PACKET_STATISTICS resets on read)
	final  bool  // the socket is closed; stats holds the last counters
	closed sync.Once
	cerr   error
}

// openSocket opens a packet socket on ifi as packet(7) and
// packet_mmap.rst describe, in an order that leaves no window in which an
// unfiltered frame can be queued:
//
//  1. socket(AF_PACKET, SOCK_RAW, 0): protocol 0, so the kernel hooks the
//     socket to no traffic yet;
//  2. SO_ATTACH_FILTER, SO_RCVBUF(FORCE), PACKET_AUXDATA, SO_TIMESTAMPNS,
//     PACKET_IGNORE_OUTGOING, PACKET_VERSION + PACKET_RX_RING + mmap(2),
//     PACKET_ADD_MEMBERSHIP (PACKET_MR_PROMISC), PACKET_QDISC_BYPASS;
//  3. bind(2) to the interface and the protocol: from here on frames are
//     queued, every one of them through the filter.
//
// A send-only socket stays bound to protocol 0 (it never receives) and is
// blocking, so the runtime poller never watches it: a socket the poller
// watches is woken for every frame the driver frees (sock_def_write_space).
func openSocket(ifi *net.Interface, cfg sockConfig) (*socket, error) {
	s := &socket{ifi: ifi, addr: &packet.Addr{HardwareAddr: ifi.HardwareAddr}, pollable: !cfg.sendOnly, layout: cfg.ring}
	typ := unix.SOCK_RAW | unix.SOCK_CLOEXEC
	if s.pollable {
		typ |= unix.SOCK_NONBLOCK
	}
	fd, err := unix.Socket(unix.AF_PACKET, typ, 0)
	if err != nil {
		return nil, s.opError("listen", os.NewSyscallError("socket", err))
	}
	if err := s.setup(fd, cfg); err != nil {
		if s.mem != nil {
			unix.Munmap(s.mem)
			s.mem = nil
		}
		unix.Close(fd)
		return nil, s.opError("listen", err)
	}
	// A non-blocking descriptor is registered with the poller; a
	// blocking one (send-only) is not.
	s.f = os.NewFile(uintptr(fd), "packet:"+ifi.Name)
	rc, err := s.f.SyscallConn()
	if err != nil {
		s.f.Close()
		if s.mem != nil {
			unix.Munmap(s.mem)
		}
		return nil, s.opError("listen", err)
	}
	s.rc = rc
	return s, nil
}

// setup runs steps 2 and 3 of openSocket on fd.
func (s *socket) setup(fd int, cfg sockConfig) error {
	setInt := func(level, opt int, name string, v int) error {
		if err := unix.SetsockoptInt(fd, level, opt, v); err != nil {
			return os.NewSyscallError("setsockopt "+name, err)
		}
		return nil
	}
	if !cfg.sendOnly {
		if len(cfg.filter) > 0 {
			f := make([]unix.SockFilter, len(cfg.filter))
			for i, r := range cfg.filter {
				f[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
			}
			prog := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
			if len(f) > 0xffff {
				return fmt.Errorf("filter of %d instructions: %w", len(f), unix.EINVAL)
			}
			if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
				return os.NewSyscallError("setsockopt SO_ATTACH_FILTER", err)
			}
		}
		if cfg.recvBuffer > 0 {
			// SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it settle for
			// what net.core.rmem_max allows.
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cfg.recvBuffer); err != nil {
				if err := setInt(unix.SOL_SOCKET, unix.SO_RCVBUF, "SO_RCVBUF", cfg.recvBuffer); err != nil {
					return err
				}
			}
		}
		if cfg.control {
			// PACKET_AUXDATA: the wire length, the stripped VLAN tag and
			// the checksum status with every frame; SO_TIMESTAMPNS: the
			// kernel's receive time.
			if err := setInt(unix.SOL_PACKET, unix.PACKET_AUXDATA, "PACKET_AUXDATA", 1); err != nil {
				return err
			}
			if err := setInt(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 1); err != nil {
				return err
			}
		}
		if cfg.ignoreOutgoing {
			if err := setInt(unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, "PACKET_IGNORE_OUTGOING", 1); err != nil {
				return err
			}
		}
		if cfg.ring.blockSize > 0 {
			if err := s.setupRing(fd, cfg.ring); err != nil {
				return err
			}
		}
	}
	if cfg.promisc {
		mr := unix.PacketMreq{Ifindex: int32(s.ifi.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
			return os.NewSyscallError("setsockopt PACKET_ADD_MEMBERSHIP", err)
		}
	}
	if cfg.qdiscBypass {
		if err := setInt(unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, "PACKET_QDISC_BYPASS", 1); err != nil {
			return err
		}
	}
	var proto uint16
	if !cfg.sendOnly {
		proto = cfg.proto
		if proto == 0 {
			proto = unix.ETH_P_ALL
		}
	}
	// sll_protocol is in network byte order (packet(7)).
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: s.ifi.Index}); err != nil {
		return os.NewSyscallError("bind", err)
	}
	return nil
}

// setupRing switches fd to TPACKET_V3, asks for a receive ring of the
// given layout (PACKET_RX_RING, struct tpacket_req3) and maps it.
func (s *socket) setupRing(fd int, l ringLayout) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return os.NewSyscallError("setsockopt PACKET_VERSION", err)
	}
	tov := max(1, int(l.blockTimeout/time.Millisecond))
	req := unix.TpacketReq3{
		Block_size:     uint32(l.blockSize),
		Block_nr:       uint32(l.numBlocks),
		Frame_size:     ringFrameSize,
		Frame_nr:       uint32(l.blockSize / ringFrameSize * l.numBlocks),
		Retire_blk_tov: uint32(tov),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return os.NewSyscallError("setsockopt PACKET_RX_RING", err)
	}
	mem, err := unix.Mmap(fd, 0, l.blockSize*l.numBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}
	s.mem = mem
	return nil
}

// htons converts v to network byte order, on any host.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// opError wraps err as the *net.OpError that socket errors are.
func (s *socket) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "packet", Addr: s.addr, Err: err}
}

// sysError is the error for a failed system call on the socket. ENETDOWN
// on a read is the kernel's report that the interface went down or away
// (packet_notifier sets sk_err on NETDEV_DOWN and NETDEV_UNREGISTER), as
// libpcap reads it ("The interface disappeared"); ENXIO and ENODEV on a
// write mean the interface the socket was bound to no longer exists.
// Either way, if the kernel unbound the socket (getsockname reports
// ifindex -1 after NETDEV_UNREGISTER), the interface is gone.
func (s *socket) sysError(op, call string, errno syscall.Errno) error {
	serr := os.NewSyscallError(call, errno)
	gone := false
	switch errno {
	case unix.ENETDOWN:
		gone = op == "read"
	case unix.ENXIO, unix.ENODEV:
		gone = true
	}
	if errno == unix.ENETDOWN && op == "read" {
		s.down.Store(true)
	}
	if gone || s.unbound() {
		if _, exists := s.linkState(); !exists {
			s.gone.Store(true)
		}
		return s.opError(op, fmt.Errorf("%w: %w", ErrInterfaceGone, serr))
	}
	return s.opError(op, serr)
}

// checkGone is called before a read once a read has reported ENETDOWN
// (and every downRecheck while it waits): the kernel reported it once
// (sk_err is cleared when read) and will not report a deletion that
// follows a link going down, so a read on an interface that is gone would
// wait forever. It fails if the interface no longer exists, and forgets
// the ENETDOWN once the interface is up again.
func (s *socket) checkGone(op string) error {
	if !s.down.Load() {
		return nil
	}
	if !s.gone.Load() {
		up, exists := s.linkState()
		if exists && !s.unbound() {
			if up {
				s.down.Store(false)
			}
			return nil
		}
		s.gone.Store(true)
	}
	return s.opError(op, ErrInterfaceGone)
}

// downRecheck is how often a read waiting on an interface that went down
// looks whether it has been deleted since: the kernel reports a deletion
// only to sockets still receiving, which one on a down interface is not.
const downRecheck = 100 * time.Millisecond

// downDeadline returns the deadline a read waits under: deadline, or, once
// a read has reported ENETDOWN, at most downRecheck from now (capped is
// then true, and the read checks checkGone when it passes).
func (s *socket) downDeadline(deadline time.Time) (d time.Time, capped bool) {
	if !s.down.Load() {
		return deadline, false
	}
	limit := time.Now().Add(downRecheck)
	if deadline.IsZero() || deadline.After(limit) {
		return limit, true
	}
	return deadline, false
}

// linkState asks the kernel, in the socket's own network namespace (an
// ioctl on any socket falls through to dev_ioctl in sock_net(sk)), whether
// the bound interface index still exists (SIOCGIFNAME) and is up
// (SIOCGIFFLAGS). The calling thread's namespace does not matter.
func (s *socket) linkState() (up, exists bool) {
	exists = true
	s.rc.Control(func(fd uintptr) {
		ifr, err := unix.NewIfreq("")
		if err != nil {
			return
		}
		ifr.SetUint32(uint32(s.ifi.Index))
		if err := unix.IoctlIfreq(int(fd), unix.SIOCGIFNAME, ifr); err != nil {
			exists = !errors.Is(err, unix.ENODEV)
			return
		}
		name := ifr.Name()
		fl, err := unix.NewIfreq(name)
		if err != nil {
			return
		}
		if err := unix.IoctlIfreq(int(fd), unix.SIOCGIFFLAGS, fl); err != nil {
			exists = !errors.Is(err, unix.ENODEV)
			return
		}
		up = fl.Uint16()&unix.IFF_UP != 0
	})
	return up, exists
}

// unbound reports whether the kernel has detached the socket from its
// interface: packet_notifier sets po->ifindex to -1 on NETDEV_UNREGISTER,
// and getsockname returns it as sll_ifindex.
func (s *socket) unbound() bool {
	gone := false
	s.rc.Control(func(fd uintptr) {
		sa, err := unix.Getsockname(int(fd))
		if ll, ok := sa.(*unix.SockaddrLinklayer); err == nil && ok {
			gone = ll.Ifindex != s.ifi.Index
		}
	})
	return gone
}

// waitError is the error of a wait in the poller that failed for a reason
// other than a deadline or Close: after a POLLERR alone the runtime
// refuses to wait again ("not pollable"). The socket's pending error, or
// its being unbound, says why.
func (s *socket) waitError(err error) error {
	var e syscall.Errno
	s.rc.Control(func(fd uintptr) { e = pendingError(fd) })
	if e != 0 {
		return s.sysError("read", "poll", e)
	}
	if s.unbound() {
		return s.opError("read", fmt.Errorf("%w: %w", ErrInterfaceGone, err))
	}
	return s.opError("read", err)
}

// pendingError takes the socket's pending error (SO_ERROR, which also
// clears it): how the kernel's ENETDOWN reaches a ring's reader, which
// never calls recvmsg. getsockopt(SO_ERROR) never blocks, so it is made as
// a raw system call, without telling the scheduler (no sysmon wake-up).
func pendingError(fd uintptr) syscall.Errno {
	var v int32
	l := uint32(unsafe.Sizeof(v))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_ERROR,
		uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return 0
	}
	return syscall.Errno(v)
}

// readStats adds the kernel's counters since the last call to s.stats
// and returns them. PACKET_STATISTICS resets the kernel's counters on
// every read; a ring socket answers with struct tpacket_stats_v3, others
// with struct tpacket_stats. After close it returns the last counters.
func (s *socket) readStats() (Stats, error) {
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.final {
		return s.stats, nil
	}
	var (
		packets, drops uint32
		serr           error
	)
	err := s.rc.Control(func(fd uintptr) {
		if s.mem != nil {
			st, err := unix.GetsockoptTpacketStatsV3(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
			if err != nil {
				serr = err
				return
			}
			packets, drops = st.Packets, st.Drops
			return
		}
		st, err := unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			serr = err
			return
		}
		packets, drops = st.Packets, st.Drops
	})
	if err == nil && serr != nil {
		err = os.NewSyscallError("getsockopt PACKET_STATISTICS", serr)
	}
	if err != nil {
		return s.stats, fmt.Errorf("capture: statistics on %s: %w", s.ifi.Name, err)
	}
	s.stats.Packets += uint64(packets)
	s.stats.Drops += uint64(drops)
	return s.stats, nil
}

// close takes the last counters and closes the socket; the ring stays
// mapped until closeRing, which the reader's owner calls once no read is
// in progress. Calling it again returns the first call's result.
func (s *socket) close() error {
	s.closed.Do(func() {
		s.closing.Store(true)
		s.readStats()
		s.smu.Lock()
		s.final = true
		s.smu.Unlock()
		s.cerr = s.f.Close()
	})
	return s.cerr
}

// closeRing unmaps the ring. Only call it when no reader can touch it.
func (s *socket) closeRing() {
	if s.mem != nil {
		unix.Munmap(s.mem)
		s.mem = nil
	}
}

// closedError turns the error of an operation on a closed socket (the
// runtime's "use of closed file") into the net.ErrClosed that
// net.PacketConn users test for.
func (s *socket) closedError(op string, err error) error {
	if s.closing.Load() || errors.Is(err, os.ErrClosed) {
		return s.opError(op, net.ErrClosed)
	}
	return s.opError(op, err)
}
