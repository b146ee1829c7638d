package capture

import (
	"context"
	"fmt"
	"net"
	"time"
)

var _ net.PacketConn = (*Conn)(nil)

// LookupInterface returns the named interface if it exists, is up and is
// Ethernet (ARPHRD_ETHER, which includes veth, bridges, VLAN and macvlan
// devices). Otherwise the error wraps ErrNoInterface, ErrInterfaceDown or
// ErrNotEthernet. It needs no privilege and sends nothing. It looks in the
// network namespace of the calling thread.
func LookupInterface(name string) (*net.Interface, error) { return lookupInterface(name) }

// Conn is one AF_PACKET SOCK_RAW socket bound to one interface, with an
// optional kernel BPF filter attached before bind(2). It sends and receives
// whole Ethernet frames (without FCS). Reads and writes are goroutine-safe;
// one read and one write may run at the same time.
type Conn struct{ c *conn }

// Listen opens a packet socket on the named interface. The interface is
// checked first (LookupInterface: exists, up, Ethernet), so a bad name fails
// with a typed error before any socket exists. Without CAP_NET_RAW the
// error wraps os.ErrPermission. The filter, the receive buffer and the
// ring are set up before the socket is bound, so nothing unfiltered is
// ever queued.
func Listen(ifname string, cfg Config) (*Conn, error) {
	ifi, err := LookupInterface(ifname)
	if err != nil {
		return nil, err
	}
	c, err := listen(ifi, cfg)
	if err != nil {
		return nil, fmt.Errorf("capture: open %s: %w", ifname, err)
	}
	return &Conn{c: c}, nil
}

// Interface returns the interface the Conn is bound to.
func (c *Conn) Interface() *net.Interface { return c.c.iface() }

// LocalAddr returns the interface's hardware address as a *packet.Addr.
func (c *Conn) LocalAddr() net.Addr { return c.c.localAddr() }

// WriteFrame sends one whole Ethernet frame (destination MAC first, no
// FCS). The context's deadline bounds the wait for room in the socket's
// send buffer. It allocates nothing unless it fails. On an interface that
// was deleted, the error wraps ErrInterfaceGone.
func (c *Conn) WriteFrame(ctx context.Context, frame []byte) error {
	return c.c.writeFrame(ctx, frame)
}

// WriteFrames sends frames in order with sendmmsg(2), as many per call as
// the kernel takes, and returns how many went out. A full send buffer is
// waited for in the runtime poller (in the kernel for a send-only socket);
// a full device queue (ENOBUFS) is retried after yielding, until the
// context is done. It allocates nothing once its headers have grown to
// the batch size.
func (c *Conn) WriteFrames(ctx context.Context, frames [][]byte) (int, error) {
	return c.c.writeFrames(ctx, frames)
}

// ReadFrame reads the next frame that passed the filter into b and
// returns the number of bytes copied (at most len(b); info.Length has the
// full length). It waits until a frame comes, the context is done (the
// error then wraps ctx.Err()), the deadline set by SetReadDeadline passes
// (a *net.OpError whose Timeout() is true), or the interface goes away
// (ErrInterfaceGone).
func (c *Conn) ReadFrame(ctx context.Context, b []byte) (n int, info FrameInfo, err error) {
	return c.c.readFrame(ctx, b)
}

// ReadFrames fills msgs[:n] with received frames: at least one, blocking
// until one arrives or ctx is done (or the read deadline passes; the error
// then reports Timeout). Frames already queued are returned without
// blocking, up to len(msgs) of them. Each frame is copied into its Msg's
// Buf (Msg.N bytes; Info.Length is the length on the wire). It reads with
// recvmmsg(2), or from the TPACKET_V3 ring with Config.RingSize, and
// allocates nothing once its headers have grown to the batch size. Its
// errors are those of ReadFrame.
func (c *Conn) ReadFrames(ctx context.Context, msgs []Msg) (int, error) {
	return c.c.readFrames(ctx, msgs)
}

// ReadFrom implements net.PacketConn: it reads a frame as ReadFrame does
// with no context, and returns its source MAC as a *packet.Addr.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) { return c.c.readFrom(b) }

// WriteTo implements net.PacketConn. The frame already carries its
// destination, so addr is ignored.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) { return c.c.writeTo(b, addr) }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.c.setDeadline(t) }

// SetReadDeadline sets the deadline for reads. ReadFrame and ReadFrames
// use the earlier of it and their context's deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.c.setReadDeadline(t) }

// SetWriteDeadline sets the deadline for WriteTo. A send-only socket
// ignores it (its writes wait in the kernel).
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.c.setWriteDeadline(t) }

// Stats returns the socket's kernel counters (PACKET_STATISTICS),
// cumulative since Listen; after Close, the counters as they were then.
func (c *Conn) Stats() (Stats, error) { return c.c.stats() }

// Close closes the socket; a read or write in progress returns an error
// wrapping net.ErrClosed. Calling it again does nothing and returns the
// first call's result.
func (c *Conn) Close() error { return c.c.close() }
