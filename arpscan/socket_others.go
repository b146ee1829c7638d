//go:build !linux

package arpscan

import (
	"fmt"
	"net"
	"runtime"
	"time"
)

// DialConfig sets up the sockets Dial opens (Linux only).
type DialConfig struct {
	Passive, Promiscuous, BypassQdisc bool
	RecvBuffer, RingSize              int
}

// PacketConn is the AF_PACKET connection; it exists only on Linux.
type PacketConn struct{}

// Dial is not implemented on this system.
func Dial(ifi *net.Interface, cfg DialConfig) (*PacketConn, error) {
	return nil, fmt.Errorf("arpscan: not implemented on %s", runtime.GOOS)
}

// Interface returns nil.
func (c *PacketConn) Interface() *net.Interface { return nil }

// WriteFrames is not implemented.
func (c *PacketConn) WriteFrames([][]byte) (int, error) { return 0, c.err() }

// ReadFrames is not implemented.
func (c *PacketConn) ReadFrames([]Msg) (int, error) { return 0, c.err() }

// SetReadDeadline is not implemented.
func (c *PacketConn) SetReadDeadline(time.Time) error { return c.err() }

// Stats is not implemented.
func (c *PacketConn) Stats() (received, dropped uint64, err error) { return 0, 0, c.err() }

// Close does nothing.
func (c *PacketConn) Close() error { return nil }

func (c *PacketConn) err() error { return fmt.Errorf("arpscan: not implemented on %s", runtime.GOOS) }
