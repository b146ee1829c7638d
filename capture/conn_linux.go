//go:build linux

package capture

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

var _ net.PacketConn = (*Conn)(nil)

// Conn is one AF_PACKET SOCK_RAW socket bound to one interface, with an
// optional kernel BPF filter attached before bind(2). It sends and receives
// whole Ethernet frames (without FCS). Reads and writes are goroutine-safe;
// one read and one write may run at the same time.
type Conn struct {
	ifi *net.Interface
	pc  *packet.Conn
	rc  syscall.RawConn

	// Read state, guarded by rmu. readFn is built once so that a read
	// allocates nothing.
	rmu    sync.Mutex
	msg    unix.Msghdr
	iov    unix.Iovec
	rsa    unix.RawSockaddrLinklayer
	oob    [128]byte
	rbuf   []byte
	rn     int
	rerr   syscall.Errno
	readFn func(fd uintptr) bool

	// Write state, guarded by wmu.
	wmu     sync.Mutex
	wbuf    []byte
	werr    syscall.Errno
	writeFn func(fd uintptr) bool

	// dmu guards the deadline set by SetReadDeadline/SetDeadline, which
	// ReadFrame combines with its context's deadline.
	dmu          sync.Mutex
	readDeadline time.Time
	// reading is the context of the read in progress, if any. The
	// context watched is registered once (context.AfterFunc allocates)
	// and kept while ReadFrame is called with the same context, so that a
	// read loop allocates nothing.
	reading   context.Context
	watched   context.Context
	stopWatch func() bool

	smu   sync.Mutex
	stats Stats

	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
}

// Listen opens a packet socket on the named interface. The interface is
// checked first (LookupInterface: exists, up, Ethernet), so a bad name fails
// with a typed error before any socket exists. Without CAP_NET_RAW the
// error wraps os.ErrPermission.
func Listen(ifname string, cfg Config) (*Conn, error) {
	ifi, err := LookupInterface(ifname)
	if err != nil {
		return nil, err
	}
	proto := int(cfg.Protocol)
	if proto == 0 {
		proto = unix.ETH_P_ALL
	}
	pc, err := packet.Listen(ifi, packet.Raw, proto, &packet.Config{Filter: cfg.Filter})
	if err != nil {
		return nil, fmt.Errorf("capture: open %s: %w", ifname, err)
	}
	c := &Conn{ifi: ifi, pc: pc}
	if err := c.setup(cfg); err != nil {
		pc.Close()
		return nil, fmt.Errorf("capture: open %s: %w", ifname, err)
	}
	return c, nil
}

func (c *Conn) setup(cfg Config) error {
	if cfg.Promiscuous {
		if err := c.pc.SetPromiscuous(true); err != nil {
			return err
		}
	}
	rc, err := c.pc.SyscallConn()
	if err != nil {
		return err
	}
	c.rc = rc
	var serr error
	err = rc.Control(func(fd uintptr) {
		// PACKET_AUXDATA: the wire length and the stripped VLAN tag with
		// every frame; SO_TIMESTAMPNS: the kernel's receive time.
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); serr != nil {
			serr = os.NewSyscallError("setsockopt PACKET_AUXDATA", serr)
			return
		}
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); serr != nil {
			serr = os.NewSyscallError("setsockopt SO_TIMESTAMPNS", serr)
			return
		}
		if cfg.IgnoreOutgoing {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); serr != nil {
				serr = os.NewSyscallError("setsockopt PACKET_IGNORE_OUTGOING", serr)
			}
		}
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return &net.OpError{Op: "listen", Net: "packet", Addr: c.pc.LocalAddr(), Err: serr}
	}

	c.msg.Name = (*byte)(unsafe.Pointer(&c.rsa))
	c.msg.Iov = &c.iov
	c.msg.Iovlen = 1
	c.msg.Control = &c.oob[0]
	c.readFn = func(fd uintptr) bool {
		for {
			if len(c.rbuf) > 0 {
				c.iov.Base = &c.rbuf[0]
			} else {
				c.iov.Base = nil
			}
			c.iov.SetLen(len(c.rbuf))
			c.msg.Namelen = unix.SizeofSockaddrLinklayer
			c.msg.SetControllen(len(c.oob))
			// MSG_TRUNC: return the frame's real length even when it does
			// not fit (packet(7)).
			n, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.msg)), unix.MSG_TRUNC)
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			}
			c.rn, c.rerr = int(n), e
			return true
		}
	}
	c.writeFn = func(fd uintptr) bool {
		for {
			_, _, e := unix.Syscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(c.wbuf))), uintptr(len(c.wbuf)))
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			}
			c.werr = e
			return true
		}
	}
	return nil
}

// Interface returns the interface the Conn is bound to.
func (c *Conn) Interface() *net.Interface { return c.ifi }

// LocalAddr returns the interface's hardware address as a *packet.Addr.
func (c *Conn) LocalAddr() net.Addr { return c.pc.LocalAddr() }

// WriteFrame sends one whole Ethernet frame (destination MAC first, no
// FCS). The context's deadline bounds the wait for room in the socket's
// send buffer. It allocates nothing unless it fails.
func (c *Conn) WriteFrame(ctx context.Context, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("capture: write %s: %w", c.ifi.Name, err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if d, ok := ctx.Deadline(); ok {
		if err := c.pc.SetWriteDeadline(d); err != nil {
			return err
		}
		defer c.pc.SetWriteDeadline(time.Time{})
	}
	c.wbuf, c.werr = frame, 0
	err := c.rc.Write(c.writeFn)
	c.wbuf = nil
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("capture: write %s: %w", c.ifi.Name, ctx.Err())
		}
		return c.closedError("write", err)
	}
	if c.werr != 0 {
		return &net.OpError{Op: "write", Net: "packet", Addr: c.pc.LocalAddr(), Err: os.NewSyscallError("write", c.werr)}
	}
	return nil
}

// ReadFrame reads the next frame that passed the filter into b and
// returns the number of bytes copied (at most len(b); info.Length has the
// full length). It waits until a frame comes, the context is done (the
// error then wraps ctx.Err()), or the deadline set by SetReadDeadline
// passes (a *net.OpError whose Timeout() is true).
func (c *Conn) ReadFrame(ctx context.Context, b []byte) (n int, info FrameInfo, err error) {
	return c.readFrame(ctx, b, nil)
}

// readFrame is ReadFrame; if src is not nil it also gets the frame's
// source address from sockaddr_ll, read under the same lock.
func (c *Conn) readFrame(ctx context.Context, b []byte, src *net.HardwareAddr) (n int, info FrameInfo, err error) {
	if err := ctx.Err(); err != nil {
		return 0, info, fmt.Errorf("capture: read %s: %w", c.ifi.Name, err)
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()

	c.dmu.Lock()
	deadline := c.readDeadline
	c.dmu.Unlock()
	ctxDeadline, hasDeadline := ctx.Deadline()
	if hasDeadline && (deadline.IsZero() || ctxDeadline.Before(deadline)) {
		deadline = ctxDeadline
	}
	if err := c.pc.SetReadDeadline(deadline); err != nil {
		return 0, info, err
	}
	if ctx.Done() != nil {
		c.watch(ctx)
	}
	c.dmu.Lock()
	c.reading = ctx
	c.dmu.Unlock()
	defer func() {
		c.dmu.Lock()
		c.reading = nil
		c.dmu.Unlock()
	}()
	// A cancellation between the check above and c.reading being set
	// found no read to wake: look again.
	if err := ctx.Err(); err != nil {
		return 0, info, fmt.Errorf("capture: read %s: %w", c.ifi.Name, err)
	}

	c.rbuf, c.rn, c.rerr = b, 0, 0
	err = c.rc.Read(c.readFn)
	c.rbuf = nil
	if err != nil {
		if ctx.Err() != nil {
			return 0, info, fmt.Errorf("capture: read %s: %w", c.ifi.Name, ctx.Err())
		}
		if hasDeadline && !time.Now().Before(ctxDeadline) {
			return 0, info, fmt.Errorf("capture: read %s: %w", c.ifi.Name, context.DeadlineExceeded)
		}
		return 0, info, c.closedError("read", err)
	}
	if c.rerr != 0 {
		return 0, info, &net.OpError{Op: "read", Net: "packet", Addr: c.pc.LocalAddr(), Err: os.NewSyscallError("recvmsg", c.rerr)}
	}

	info.Length = c.rn
	// A malformed control message cannot come from the kernel; what was
	// decoded before it is kept.
	_ = parseControl(c.oob[:c.msg.Controllen], &info)
	if info.Time.IsZero() {
		info.Time = time.Now()
	}
	info.Type = PacketType(c.rsa.Pkttype)
	info.Dir = info.Type.Direction()
	n = min(c.rn, len(b))
	if src != nil {
		*src = make(net.HardwareAddr, min(int(c.rsa.Halen), len(c.rsa.Addr)))
		copy(*src, c.rsa.Addr[:])
	}
	return n, info, nil
}

// watch arranges for the cancellation of ctx to wake a read made with it,
// by setting a read deadline in the past. Called with rmu held.
func (c *Conn) watch(ctx context.Context) {
	if sameContext(ctx, c.watched) {
		return
	}
	if c.stopWatch != nil {
		c.stopWatch()
	}
	c.watched = ctx
	c.stopWatch = context.AfterFunc(ctx, func() {
		c.dmu.Lock()
		defer c.dmu.Unlock()
		if sameContext(c.reading, ctx) {
			c.pc.SetReadDeadline(time.Unix(1, 0))
		}
	})
}

// ReadFrom implements net.PacketConn: it reads a frame as ReadFrame does
// with no context, and returns its source MAC as a *packet.Addr.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	var src net.HardwareAddr
	n, _, err := c.readFrame(context.Background(), b, &src)
	if err != nil {
		return 0, nil, err
	}
	return n, &packet.Addr{HardwareAddr: src}, nil
}

// WriteTo implements net.PacketConn. The frame already carries its
// destination, so addr is ignored.
func (c *Conn) WriteTo(b []byte, _ net.Addr) (int, error) {
	if err := c.WriteFrame(context.Background(), b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for ReadFrame and ReadFrom. ReadFrame
// uses the earlier of it and its context's deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	c.readDeadline = t
	c.dmu.Unlock()
	return c.pc.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for WriteTo.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.pc.SetWriteDeadline(t) }

// Stats returns the socket's kernel counters, cumulative since Listen.
func (c *Conn) Stats() (Stats, error) {
	c.smu.Lock()
	defer c.smu.Unlock()
	// PACKET_STATISTICS resets the kernel's counters on every read.
	s, err := c.pc.Stats()
	if err != nil {
		return c.stats, err
	}
	c.stats.Packets += uint64(s.Packets)
	c.stats.Drops += uint64(s.Drops)
	return c.stats, nil
}

// Close closes the socket; a read or write in progress returns an error
// wrapping net.ErrClosed. Calling it again does nothing and returns the
// first call's result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.closeErr = c.pc.Close()
		// The socket is closed, so a read in progress returns and
		// releases rmu.
		c.rmu.Lock()
		if c.stopWatch != nil {
			c.stopWatch()
			c.stopWatch, c.watched = nil, nil
		}
		c.rmu.Unlock()
	})
	return c.closeErr
}

// closedError turns the error of an operation on a closed socket (the
// runtime's "use of closed file") into the net.ErrClosed that
// net.PacketConn users test for.
func (c *Conn) closedError(op string, err error) error {
	if c.closed.Load() {
		return &net.OpError{Op: op, Net: "packet", Addr: c.pc.LocalAddr(), Err: net.ErrClosed}
	}
	return err
}
