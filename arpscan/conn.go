package arpscan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/rawlab/rawlab/capture"
)

// Conn is what the scanner needs from the network: whole Ethernet frames in
// and out. Listen returns the AF_PACKET implementation over capture's
// socket; tests use a fake.
type Conn interface {
	// WriteFrames sends the frames in order and returns how many went out.
	WriteFrames(ctx context.Context, frames [][]byte) (int, error)
	// ReadFrames fills msgs[:n] with received frames, blocking until at
	// least one arrives or ctx ends (then with an error wrapping ctx's).
	ReadFrames(ctx context.Context, msgs []capture.Msg) (int, error)
	// Close releases the connection; it is safe to call twice.
	Close() error
}

// The receive filters are capture's built-in "arp-reply" (ARP replies,
// RFC 826 opcode 2, untagged or behind one 802.1Q/802.1ad tag) and, for a
// passive watch, "arp-vlan" (every ARP frame): pcap-filter(7) expressions
// compiled by capture/filter (capture.BuiltinExpression shows them).
const (
	ReplyFilter = "arp-reply"
	ARPFilter   = "arp-vlan"
)

// ListenConfig sets up Listen.
type ListenConfig struct {
	// Passive receives every ARP frame (requests too) and opens no send
	// socket.
	Passive bool
	// Promiscuous puts the interface in promiscuous mode while open.
	Promiscuous bool
	// RecvBuffer is the receive buffer in bytes; 0 means 16 MiB.
	RecvBuffer int
	// RingSize, when positive, reads through a TPACKET_V3 ring of about
	// that many bytes.
	RingSize int
	// QdiscBypass sends straight to the driver.
	QdiscBypass bool
}

// ListenConfig returns the sockets a scan of n targets with c wants: a
// receive ring where many replies come fast (no syscall per frame; a reply
// takes 128 bytes of it), recvmmsg otherwise, where a frame is handed over
// the moment it lands; the qdisc bypassed at RateMax.
func (c Config) ListenConfig(n int) ListenConfig {
	c = c.withDefaults()
	lc := ListenConfig{QdiscBypass: math.IsInf(c.Rate, 1)}
	if c.Rate > 20000 && n >= 4096 {
		lc.RingSize = min(16<<20, max(1<<20, 128*n))
	}
	return lc
}

// Sockets is the Conn Listen opens: a receive socket whose compiled filter
// (ReplyFilter or ARPFilter) is attached before bind, and a send-only
// socket.
type Sockets struct {
	recv, send *capture.Conn

	closeWriteOnce sync.Once
	closeOnce      sync.Once
	sendWG         sync.WaitGroup
	sendErr        error
	closeErr       error
}

var _ Conn = (*Sockets)(nil)

// Listen opens the sockets on the named interface. Without CAP_NET_RAW the
// error wraps os.ErrPermission.
func Listen(ifname string, cfg ListenConfig) (*Sockets, error) {
	expr := ReplyFilter
	if cfg.Passive {
		expr = ARPFilter
	}
	prog, err := capture.BuiltinFilter(expr)
	if err != nil {
		return nil, fmt.Errorf("arpscan: filter: %w", err)
	}
	rb := cfg.RecvBuffer
	if rb <= 0 {
		rb = 16 << 20
	}
	s := &Sockets{}
	s.recv, err = capture.Listen(ifname, capture.Config{Filter: prog, Promiscuous: cfg.Promiscuous,
		RecvBuffer: rb, RingSize: cfg.RingSize})
	if err != nil {
		return nil, err
	}
	if !cfg.Passive {
		s.send, err = capture.Listen(ifname, capture.Config{SendOnly: true, QdiscBypass: cfg.QdiscBypass})
		if err != nil {
			s.recv.Close()
			return nil, err
		}
	}
	return s, nil
}

// WriteFrames sends frames on the send socket.
func (s *Sockets) WriteFrames(ctx context.Context, frames [][]byte) (int, error) {
	if s.send == nil {
		return 0, errors.New("arpscan: passive sockets send nothing")
	}
	return s.send.WriteFrames(ctx, frames)
}

// ReadFrames reads from the receive socket.
func (s *Sockets) ReadFrames(ctx context.Context, msgs []capture.Msg) (int, error) {
	return s.recv.ReadFrames(ctx, msgs)
}

// Stats returns the receive socket's kernel counters.
func (s *Sockets) Stats() (capture.Stats, error) { return s.recv.Stats() }

// CloseWrite releases the send socket in the background, so that its
// release (an RCU grace period) overlaps the last waits; Close waits for it.
func (s *Sockets) CloseWrite() error {
	s.closeWriteOnce.Do(func() {
		if s.send == nil {
			return
		}
		s.sendWG.Add(1)
		go func() {
			defer s.sendWG.Done()
			s.sendErr = s.send.Close()
		}()
	})
	return nil
}

// Close closes both sockets; it is safe to call twice.
func (s *Sockets) Close() error {
	s.closeOnce.Do(func() {
		s.CloseWrite()
		err := s.recv.Close()
		s.sendWG.Wait()
		s.closeErr = errors.Join(err, s.sendErr)
	})
	return s.closeErr
}

// drain reads what conn has queued until it stays quiet for idle, handing
// each batch to fn.
func drain(conn Conn, msgs []capture.Msg, idle time.Duration, fn func(n int)) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), idle)
		n, err := conn.ReadFrames(ctx, msgs)
		cancel()
		fn(n)
		if err != nil {
			return
		}
	}
}
