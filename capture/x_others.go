//go:build !linux

package capture

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"time"
)

func errNotImplemented() error { return fmt.Errorf("capture: not implemented on %s", runtime.GOOS) }

// LookupInterface is implemented on Linux only.
func LookupInterface(name string) (*net.Interface, error) { return nil, errNotImplemented() }

// Conn is implemented on Linux only.
type Conn struct{}

// Listen is implemented on Linux only.
func Listen(ifname string, cfg Config) (*Conn, error) { return nil, errNotImplemented() }

// Interface is implemented on Linux only.
func (c *Conn) Interface() *net.Interface { return nil }

// LocalAddr is implemented on Linux only.
func (c *Conn) LocalAddr() net.Addr { return nil }

// WriteFrame is implemented on Linux only.
func (c *Conn) WriteFrame(ctx context.Context, frame []byte) error { return errNotImplemented() }

// ReadFrame is implemented on Linux only.
func (c *Conn) ReadFrame(ctx context.Context, b []byte) (int, FrameInfo, error) {
	return 0, FrameInfo{}, errNotImplemented()
}

// WriteFrames is implemented on Linux only.
func (c *Conn) WriteFrames(ctx context.Context, frames [][]byte) (int, error) {
	return 0, errNotImplemented()
}

// ReadFrames is implemented on Linux only.
func (c *Conn) ReadFrames(ctx context.Context, msgs []Msg) (int, error) {
	return 0, errNotImplemented()
}

// ReadFrom is implemented on Linux only.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) { return 0, nil, errNotImplemented() }

// WriteTo is implemented on Linux only.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) { return 0, errNotImplemented() }

// SetDeadline is implemented on Linux only.
func (c *Conn) SetDeadline(t time.Time) error { return errNotImplemented() }

// SetReadDeadline is implemented on Linux only.
func (c *Conn) SetReadDeadline(t time.Time) error { return errNotImplemented() }

// SetWriteDeadline is implemented on Linux only.
func (c *Conn) SetWriteDeadline(t time.Time) error { return errNotImplemented() }

// Stats is implemented on Linux only.
func (c *Conn) Stats() (Stats, error) { return Stats{}, errNotImplemented() }

// Close is implemented on Linux only.
func (c *Conn) Close() error { return errNotImplemented() }

// Ring is implemented on Linux only.
type Ring struct{}

// NewRing is implemented on Linux only.
func NewRing(ifname string, cfg RingConfig) (*Ring, error) { return nil, errNotImplemented() }

// Interface is implemented on Linux only.
func (r *Ring) Interface() *net.Interface { return nil }

// ReadFrame is implemented on Linux only.
func (r *Ring) ReadFrame(ctx context.Context) ([]byte, FrameInfo, error) {
	return nil, FrameInfo{}, errNotImplemented()
}

// ReadBatch is implemented on Linux only.
func (r *Ring) ReadBatch(ctx context.Context, frames []Frame) (int, error) {
	return 0, errNotImplemented()
}

// Stats is implemented on Linux only.
func (r *Ring) Stats() (Stats, error) { return Stats{}, errNotImplemented() }

// Close is implemented on Linux only.
func (r *Ring) Close() error { return errNotImplemented() }

// fileWriter returns the writer the Recorder uses for f: f itself.
func fileWriter(f *os.File) io.Writer { return f }
