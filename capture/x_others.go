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

// errNotImplemented is what every socket operation returns off Linux.
func errNotImplemented() error { return fmt.Errorf("capture: not implemented on %s", runtime.GOOS) }

func lookupInterface(string) (*net.Interface, error) { return nil, errNotImplemented() }

// conn is the stub behind Conn off Linux; Listen never returns one.
type conn struct{}

func listen(*net.Interface, Config) (*conn, error)               { return nil, errNotImplemented() }
func (*conn) iface() *net.Interface                              { return nil }
func (*conn) localAddr() net.Addr                                { return nil }
func (*conn) writeFrame(context.Context, []byte) error           { return errNotImplemented() }
func (*conn) writeFrames(context.Context, [][]byte) (int, error) { return 0, errNotImplemented() }
func (*conn) readFrame(context.Context, []byte) (int, FrameInfo, error) {
	return 0, FrameInfo{}, errNotImplemented()
}
func (*conn) readFrames(context.Context, []Msg) (int, error) { return 0, errNotImplemented() }
func (*conn) readFrom([]byte) (int, net.Addr, error)         { return 0, nil, errNotImplemented() }
func (*conn) writeTo([]byte, net.Addr) (int, error)          { return 0, errNotImplemented() }
func (*conn) setDeadline(time.Time) error                    { return errNotImplemented() }
func (*conn) setReadDeadline(time.Time) error                { return errNotImplemented() }
func (*conn) setWriteDeadline(time.Time) error               { return errNotImplemented() }
func (*conn) stats() (Stats, error)                          { return Stats{}, errNotImplemented() }
func (*conn) close() error                                   { return errNotImplemented() }

// ring is the stub behind Ring off Linux; NewRing never returns one.
type ring struct{}

func newRing(*net.Interface, RingConfig) (*ring, error) { return nil, errNotImplemented() }
func (*ring) iface() *net.Interface                     { return nil }
func (*ring) readFrame(context.Context) ([]byte, FrameInfo, error) {
	return nil, FrameInfo{}, errNotImplemented()
}
func (*ring) readBatch(context.Context, []Frame) (int, error) { return 0, errNotImplemented() }
func (*ring) stats() (Stats, error)                           { return Stats{}, errNotImplemented() }
func (*ring) close() error                                    { return errNotImplemented() }

// fileWriter returns the writer the Recorder uses for f: f itself.
func fileWriter(f *os.File) io.Writer { return f }
