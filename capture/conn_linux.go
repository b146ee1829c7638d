//go:build linux

package capture

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// conn is Conn on Linux: a socket (openSocket) read with recvmmsg(2) or
// through a ringWalker, and written with sendmmsg(2).
type conn struct {
	s        *socket
	ifi      *net.Interface
	sendOnly bool

	// Read state, guarded by rmu. readFn is built once so that a read
	// allocates nothing. The headers grow to the largest batch read.
	rmu    sync.Mutex
	rhdr   []unix.Mmsghdr
	riov   []unix.Iovec
	rsa    []unix.RawSockaddrLinklayer
	roob   []byte // ctlSpace bytes per message
	rmsgs  []Msg
	rn     int
	rerr   syscall.Errno
	readFn func(fd uintptr) bool
	one    [1]Msg
	ring   *ringWalker // nil unless Config.RingSize > 0

	// Write state, guarded by wmu.
	wmu     sync.Mutex
	whdr    []unix.Mmsghdr
	wiov    []unix.Iovec
	wfrom   int
	wcount  int
	wn      int
	werr    syscall.Errno
	writeFn func(fd uintptr) bool
	wone    [1][]byte

	// dmu guards the deadline set by SetReadDeadline/SetDeadline, which
	// reads combine with their context's deadline.
	dmu          sync.Mutex
	readDeadline time.Time
	// reading is the context of the read in progress, if any. The
	// context watched is registered once (context.AfterFunc allocates)
	// and kept while reads are made with the same context, so that a
	// read loop allocates nothing.
	reading   context.Context
	watched   context.Context
	stopWatch func() bool
}

// ctlSpace is the control buffer per message: PACKET_AUXDATA (16 + 20
// bytes) and SCM_TIMESTAMPNS (16 + 16), each padded (cmsg(3)).
const ctlSpace = 128

// maxBatch is the most messages one recvmmsg(2) or sendmmsg(2) takes
// (UIO_MAXIOV; the kernel clamps vlen to it).
const maxBatch = 1024

// Ring layout of a Conn with Config.RingSize: small blocks, retired after
// a millisecond, so that protocol replies are seen at once at any rate; a
// block holds about 250 small frames.
const (
	connRingBlockSize    = 32 << 10
	connRingBlockTimeout = time.Millisecond
)

// listen opens the socket of a Conn on ifi.
func listen(ifi *net.Interface, cfg Config) (*conn, error) {
	sc := sockConfig{
		proto:          cfg.Protocol,
		filter:         cfg.Filter,
		promisc:        cfg.Promiscuous,
		ignoreOutgoing: cfg.IgnoreOutgoing,
		sendOnly:       cfg.SendOnly,
		qdiscBypass:    cfg.QdiscBypass,
		recvBuffer:     cfg.RecvBuffer,
		control:        cfg.RingSize <= 0,
	}
	if cfg.RingSize > 0 && !cfg.SendOnly {
		sc.ring = ringLayout{
			blockSize:    connRingBlockSize,
			numBlocks:    max(4, (cfg.RingSize+connRingBlockSize-1)/connRingBlockSize),
			blockTimeout: connRingBlockTimeout,
		}
	}
	s, err := openSocket(ifi, sc)
	if err != nil {
		return nil, err
	}
	c := &conn{s: s, ifi: ifi, sendOnly: cfg.SendOnly}
	c.readFn = c.tryRead
	c.writeFn = c.trySend
	if s.mem != nil {
		c.ring = new(ringWalker)
		c.ring.init(s)
	}
	return c, nil
}

// iface implements Conn.Interface.
func (c *conn) iface() *net.Interface { return c.ifi }

// localAddr implements Conn.LocalAddr.
func (c *conn) localAddr() net.Addr { return c.s.addr }

// writeFrame implements Conn.WriteFrame.
func (c *conn) writeFrame(ctx context.Context, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("capture: write %s: %w", c.ifi.Name, err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wone[0] = frame
	_, err := c.writeLocked(ctx, c.wone[:])
	c.wone[0] = nil
	return err
}

// writeFrames implements Conn.WriteFrames.
func (c *conn) writeFrames(ctx context.Context, frames [][]byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("capture: write %s: %w", c.ifi.Name, err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(ctx, frames)
}

// writeFrames is WriteFrames with wmu held.
func (c *conn) writeLocked(ctx context.Context, frames [][]byte) (int, error) {
	if len(frames) == 0 {
		return 0, nil
	}
	if c.s.pollable {
		if d, ok := ctx.Deadline(); ok {
			if err := c.s.f.SetWriteDeadline(d); err != nil {
				return 0, c.s.closedError("write", err)
			}
			defer c.s.f.SetWriteDeadline(time.Time{})
		}
	}
	sent := 0
	for sent < len(frames) {
		batch := frames[sent:min(len(frames), sent+maxBatch)]
		n, err := c.sendBatch(ctx, batch)
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// sendBatch sends at most maxBatch frames.
func (c *conn) sendBatch(ctx context.Context, frames [][]byte) (int, error) {
	if len(frames) > len(c.whdr) {
		c.whdr = make([]unix.Mmsghdr, len(frames))
		c.wiov = make([]unix.Iovec, len(frames))
	}
	for i, f := range frames {
		c.wiov[i].Base = unsafe.SliceData(f)
		c.wiov[i].SetLen(len(f))
		c.whdr[i] = unix.Mmsghdr{Hdr: unix.Msghdr{Iov: &c.wiov[i], Iovlen: 1}}
	}
	defer func() {
		// Keep no reference to the caller's frames.
		for i := range frames {
			c.wiov[i].Base = nil
		}
	}()
	sent, busy := 0, 0
	for sent < len(frames) {
		c.wfrom, c.wcount, c.wn, c.werr = sent, len(frames)-sent, 0, 0
		err := c.s.rc.Write(c.writeFn)
		runtime.KeepAlive(frames)
		if err != nil {
			if ctx.Err() != nil {
				return sent, fmt.Errorf("capture: write %s: %w", c.ifi.Name, ctx.Err())
			}
			return sent, c.s.closedError("write", err)
		}
		switch c.werr {
		case 0:
			sent += c.wn
			busy = 0
		case unix.ENOBUFS, unix.EAGAIN:
			// The device queue is full (or, send-only, the send
			// buffer): back off and try again, while the context lasts.
			// Nothing signals room in a device queue (the socket is
			// writable all along), so there is no event to wait on.
			if err := ctx.Err(); err != nil {
				return sent, fmt.Errorf("capture: write %s: %w", c.ifi.Name, err)
			}
			if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
				return sent, fmt.Errorf("capture: write %s: %w", c.ifi.Name, context.DeadlineExceeded)
			}
			busy++
			if busy > maxBusy {
				return sent, fmt.Errorf("capture: write %s: %w", c.ifi.Name, c.s.sysError("write", "sendmmsg", c.werr))
			}
			if busy < 64 {
				runtime.Gosched()
			} else {
				time.Sleep(50 * time.Microsecond)
			}
		default:
			return sent, fmt.Errorf("capture: write %s: %w", c.ifi.Name, c.s.sysError("write", "sendmmsg", c.werr))
		}
	}
	return sent, nil
}

// maxBusy bounds the retries of a send the kernel keeps refusing for want
// of room: about five seconds of back-off.
const maxBusy = 100000

// trySend is the poller's callback for a write: one sendmmsg(2) of
// c.whdr[c.wfrom:][:c.wcount]. It returns false (wait for room) on EAGAIN
// from a socket the poller watches.
func (c *conn) trySend(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&c.whdr[c.wfrom])), uintptr(c.wcount), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if c.s.pollable {
				return false
			}
		}
		c.wn, c.werr = int(n), e
		return true
	}
}

// readFrame implements Conn.ReadFrame.
func (c *conn) readFrame(ctx context.Context, b []byte) (n int, info FrameInfo, err error) {
	return c.readFrameFrom(ctx, b, nil)
}

// readFrameFrom is readFrame; if src is not nil it also gets the frame's
// source address: sll_addr of the sockaddr_ll that recvmmsg filled in,
// read under the same lock, or from a ring, the frame's source MAC (which
// is what the kernel puts in sll_addr for Ethernet, eth_header_parse).
func (c *conn) readFrameFrom(ctx context.Context, b []byte, src *net.HardwareAddr) (n int, info FrameInfo, err error) {
	if err := c.readable(ctx); err != nil {
		return 0, info, err
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.one[0] = Msg{Buf: b}
	_, err = c.readMsgs(ctx, c.one[:])
	m := c.one[0]
	c.one[0].Buf = nil
	if err != nil {
		return 0, info, err
	}
	if src != nil {
		if c.ring != nil {
			*src = nil
			if m.N >= 12 {
				*src = append(net.HardwareAddr(nil), m.Buf[6:12]...)
			}
		} else {
			sa := &c.rsa[0]
			*src = make(net.HardwareAddr, min(int(sa.Halen), len(sa.Addr)))
			copy(*src, sa.Addr[:])
		}
	}
	return m.N, m.Info, nil
}

// readFrames implements Conn.ReadFrames.
func (c *conn) readFrames(ctx context.Context, msgs []Msg) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := c.readable(ctx); err != nil {
		return 0, err
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.readMsgs(ctx, msgs)
}

// readable checks, before a read, that the socket can be read and the
// context is not done.
func (c *conn) readable(ctx context.Context) error {
	if c.sendOnly {
		return fmt.Errorf("capture: read %s: %w", c.ifi.Name, c.s.opError("read", errSendOnly))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("capture: read %s: %w", c.ifi.Name, err)
	}
	return nil
}

// errSendOnly is the error of a read on a send-only Conn.
var errSendOnly = errors.New("socket is send-only")

// readMsgs is ReadFrames with rmu held.
func (c *conn) readMsgs(ctx context.Context, msgs []Msg) (int, error) {
	if c.s.closing.Load() {
		// Close may have unmapped the ring.
		return 0, c.s.opError("read", net.ErrClosed)
	}
	if err := c.s.checkGone("read"); err != nil {
		return 0, fmt.Errorf("capture: read %s: %w", c.ifi.Name, err)
	}
	if c.ring != nil {
		// Frames already in the ring are taken without touching the
		// deadline or the poller.
		if n := c.ringNext(msgs); n > 0 {
			return n, nil
		}
	} else {
		msgs = msgs[:min(len(msgs), maxBatch)]
		if len(msgs) > len(c.rhdr) {
			c.rhdr = make([]unix.Mmsghdr, len(msgs))
			c.riov = make([]unix.Iovec, len(msgs))
			c.rsa = make([]unix.RawSockaddrLinklayer, len(msgs))
			c.roob = make([]byte, ctlSpace*len(msgs))
		}
	}

	c.dmu.Lock()
	deadline := c.readDeadline
	c.dmu.Unlock()
	ctxDeadline, hasDeadline := ctx.Deadline()
	if hasDeadline && (deadline.IsZero() || ctxDeadline.Before(deadline)) {
		deadline = ctxDeadline
	}
	d, capped := c.waitDeadline(deadline)
	if err := c.s.f.SetReadDeadline(d); err != nil {
		return 0, c.s.closedError("read", err)
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
	// A cancellation between the check in readable and c.reading being
	// set found no read to wake: look again.
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("capture: read %s: %w", c.ifi.Name, err)
	}
	readErr := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("capture: read %s: %w", c.ifi.Name, ctx.Err())
		}
		if hasDeadline && !time.Now().Before(ctxDeadline) {
			return fmt.Errorf("capture: read %s: %w", c.ifi.Name, context.DeadlineExceeded)
		}
		if c.s.closing.Load() || errors.Is(err, os.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
			return c.s.closedError("read", err)
		}
		return fmt.Errorf("capture: read %s: %w", c.ifi.Name, c.s.waitError(err))
	}

	for {
		var err error
		if c.ring != nil {
			if err = c.ring.wait(c.s); err == nil {
				if e := c.ring.errno; e != 0 {
					c.ring.errno = 0
					return 0, fmt.Errorf("capture: read %s: %w", c.ifi.Name, c.s.sysError("read", "poll", e))
				}
				if c.s.closing.Load() {
					return 0, c.s.opError("read", net.ErrClosed)
				}
				if n := c.ringNext(msgs); n > 0 {
					return n, nil
				}
				continue
			}
		} else {
			c.rmsgs, c.rn, c.rerr = msgs, 0, 0
			err = c.s.rc.Read(c.readFn)
			c.rmsgs = nil
			if err == nil {
				break
			}
		}
		if capped && errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
			// The wait was cut short to look whether the interface,
			// down, has been deleted since.
			if err := c.s.checkGone("read"); err != nil {
				return 0, fmt.Errorf("capture: read %s: %w", c.ifi.Name, err)
			}
			d, capped = c.waitDeadline(deadline)
			if err := c.s.f.SetReadDeadline(d); err != nil {
				return 0, c.s.closedError("read", err)
			}
			if err := ctx.Err(); err != nil {
				// Cancelled meanwhile: the deadline just set may have
				// overwritten the past one of watch.
				return 0, fmt.Errorf("capture: read %s: %w", c.ifi.Name, err)
			}
			continue
		}
		return 0, readErr(err)
	}
	if c.rerr != 0 {
		return 0, fmt.Errorf("capture: read %s: %w", c.ifi.Name, c.s.sysError("read", "recvmmsg", c.rerr))
	}
	now := time.Time{}
	for i := range c.rn {
		m := &msgs[i]
		h := &c.rhdr[i]
		m.N = min(int(h.Len), len(m.Buf))
		m.Info = FrameInfo{Length: int(h.Len)}
		// A malformed control message cannot come from the kernel; what
		// was decoded before it is kept.
		_ = parseControl(c.roob[i*ctlSpace:i*ctlSpace+int(h.Hdr.Controllen)], &m.Info)
		if m.Info.Time.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			m.Info.Time = now
		}
		m.Info.Type = PacketType(c.rsa[i].Pkttype)
		m.Info.Dir = m.Info.Type.Direction()
	}
	return c.rn, nil
}

// waitDeadline is the deadline a read waits under, given the earlier of
// the socket's and the context's (see socket.downDeadline). With a ring,
// it is never less than two block timeouts ahead: a frame that arrived
// before the deadline may sit in a block the kernel retires only after a
// block timeout, and a read is to return every such frame.
func (c *conn) waitDeadline(deadline time.Time) (time.Time, bool) {
	d, capped := c.s.downDeadline(deadline)
	if c.ring != nil && !d.IsZero() {
		if soon := time.Now().Add(2 * connRingBlockTimeout); d.Before(soon) {
			d = soon
		}
	}
	return d, capped
}

// tryRead is the poller's callback for a read: one recvmmsg(2) into
// c.rmsgs, without waiting (the socket is non-blocking); false when
// nothing is queued, for the poller to wait and call again.
func (c *conn) tryRead(fd uintptr) bool {
	msgs := c.rmsgs
	for i := range msgs {
		c.riov[i].Base = unsafe.SliceData(msgs[i].Buf)
		c.riov[i].SetLen(len(msgs[i].Buf))
		c.rhdr[i] = unix.Mmsghdr{Hdr: unix.Msghdr{
			Name:    (*byte)(unsafe.Pointer(&c.rsa[i])),
			Namelen: unix.SizeofSockaddrLinklayer,
			Iov:     &c.riov[i],
			Iovlen:  1,
			Control: &c.roob[i*ctlSpace],
		}}
		c.rhdr[i].Hdr.SetControllen(ctlSpace)
	}
	for {
		// MSG_TRUNC: each msg_len is the frame's real length even when
		// it does not fit (packet(7)).
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.rhdr[0])), uintptr(len(msgs)),
			unix.MSG_TRUNC, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		c.rn, c.rerr = int(n), e
		for i := range msgs {
			c.riov[i].Base = nil
		}
		return true
	}
}

// ringNext copies up to len(msgs) frames out of the ring's ready blocks,
// giving each block back once read. It allocates nothing.
func (c *conn) ringNext(msgs []Msg) int {
	w := c.ring
	n := 0
	var f Frame
	for n < len(msgs) && w.advance() {
		if w.next(&f) {
			m := &msgs[n]
			m.N = copy(m.Buf, f.Data)
			m.Info = f.Info
			n++
		}
		w.release()
	}
	return n
}

// watch arranges for the cancellation of ctx to wake a read made with it,
// by setting a read deadline in the past. Called with rmu held.
func (c *conn) watch(ctx context.Context) {
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
			c.s.f.SetReadDeadline(time.Unix(1, 0))
		}
	})
}

// readFrom implements Conn.ReadFrom.
func (c *conn) readFrom(b []byte) (int, net.Addr, error) {
	var src net.HardwareAddr
	n, _, err := c.readFrameFrom(context.Background(), b, &src)
	if err != nil {
		return 0, nil, err
	}
	return n, &packet.Addr{HardwareAddr: src}, nil
}

// writeTo implements Conn.WriteTo.
func (c *conn) writeTo(b []byte, _ net.Addr) (int, error) {
	if err := c.writeFrame(context.Background(), b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// setDeadline implements Conn.SetDeadline.
func (c *conn) setDeadline(t time.Time) error {
	if err := c.setReadDeadline(t); err != nil {
		return err
	}
	return c.setWriteDeadline(t)
}

// setReadDeadline implements Conn.SetReadDeadline.
func (c *conn) setReadDeadline(t time.Time) error {
	c.dmu.Lock()
	c.readDeadline = t
	c.dmu.Unlock()
	if c.sendOnly {
		return nil
	}
	if err := c.s.f.SetReadDeadline(t); err != nil {
		return c.s.closedError("set", err)
	}
	return nil
}

// setWriteDeadline implements Conn.SetWriteDeadline.
func (c *conn) setWriteDeadline(t time.Time) error {
	if c.sendOnly {
		return nil
	}
	if err := c.s.f.SetWriteDeadline(t); err != nil {
		return c.s.closedError("set", err)
	}
	return nil
}

// stats implements Conn.Stats.
func (c *conn) stats() (Stats, error) { return c.s.readStats() }

// close implements Conn.Close.
func (c *conn) close() error {
	err := c.s.close()
	// The socket is closed, so a read in progress returns and releases
	// rmu.
	c.rmu.Lock()
	if c.stopWatch != nil {
		c.stopWatch()
		c.stopWatch, c.watched = nil, nil
	}
	c.s.closeRing()
	c.rmu.Unlock()
	return err
}
