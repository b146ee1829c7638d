package arpscan

import (
	"context"
	"fmt"

	"encoding/binary"
	"errors"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"sync"
	"time"
)

// fakeHost answers ARP requests for one address in the fake network.
type fakeHost struct {
	mac    [6]byte
	ethSrc *[6]byte // Ethernet source when it differs from mac
	copies int      // replies per request; 0 means 1
	drop   int      // requests to ignore before answering
	spa    *[4]byte // sender address to answer with, when not the target's
}

// sentFrame is one frame the scanner wrote, with when it was written.
type sentFrame struct {
	at    time.Time
	frame []byte
	tpa   [4]byte
}

// fakeConn is an in-memory network: hosts answer at once, replies queue
// until read. It implements Conn's deadline semantics.
type fakeConn struct {
	mu       sync.Mutex
	hosts    map[[4]byte][]*fakeHost
	seen     map[*fakeHost]int
	queue    [][]byte
	qtime    []time.Time // when each queued frame arrived
	kick     chan struct{}
	sent     []sentFrame
	closed   bool
	untag    int // when >= 0, replies arrive untagged with this VLAN in Msg
	writeErr error
	// closedWrite is when CloseWrite was called; writes after it fail.
	closedWrite time.Time
}

// CloseWrite records the call; later writes fail, as on a PacketConn.
func (c *fakeConn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closedWrite.IsZero() {
		c.closedWrite = time.Now()
	}
	return nil
}

func newFakeConn() *fakeConn {
	return &fakeConn{hosts: map[[4]byte][]*fakeHost{}, seen: map[*fakeHost]int{}, kick: make(chan struct{}, 1), untag: -1}
}

func (c *fakeConn) add(ip string, h *fakeHost) {
	var a [4]byte
	copy(a[:], mustAddr(ip).AsSlice())
	c.hosts[a] = append(c.hosts[a], h)
}

func (c *fakeConn) WriteFrames(_ context.Context, frames [][]byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writeErr != nil {
		return 0, c.writeErr
	}
	if !c.closedWrite.IsZero() {
		return 0, errors.New("fake: write after CloseWrite")
	}
	now := time.Now()
	for _, f := range frames {
		var p Packet
		if err := DecodeFrame(f, &p); err != nil {
			return 0, err
		}
		c.sent = append(c.sent, sentFrame{at: now, frame: append([]byte(nil), f...), tpa: p.TPA})
		for _, h := range c.hosts[p.TPA] {
			c.seen[h]++
			if c.seen[h] <= h.drop {
				continue
			}
			r := Packet{EthDst: p.EthSrc, EthSrc: h.mac, Tagged: p.Tagged, VLAN: p.VLAN, Op: opReply, SHA: h.mac, SPA: p.TPA, THA: p.SHA, TPA: p.SPA}
			if h.ethSrc != nil {
				r.EthSrc = *h.ethSrc
			}
			if h.spa != nil {
				r.SPA = *h.spa
			}
			if c.untag >= 0 {
				r.Tagged, r.VLAN = false, craft.VLAN{}
			}
			for k := 0; k < max(1, h.copies); k++ {
				c.queue = append(c.queue, AppendFrame(nil, &r))
				c.qtime = append(c.qtime, time.Now())
			}
		}
	}
	c.signal()
	return len(frames), nil
}

func (c *fakeConn) signal() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

type fakeTimeout struct{}

func (fakeTimeout) Error() string { return "fake: i/o timeout" }
func (fakeTimeout) Timeout() bool { return true }

func (c *fakeConn) ReadFrames(ctx context.Context, msgs []Msg) (int, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return 0, errors.New("fake: closed")
		}
		if len(c.queue) > 0 {
			n := 0
			for n < len(msgs) && len(c.queue) > 0 {
				msgs[n].N = copy(msgs[n].Buf, c.queue[0])
				msgs[n].Info = capture.FrameInfo{Time: c.qtime[0]}
				if c.untag >= 0 {
					msgs[n].Info.VLAN, msgs[n].Info.VLANTCI, msgs[n].Info.VLANTPID = true, uint16(c.untag), 0x8100
				}
				c.queue, c.qtime = c.queue[1:], c.qtime[1:]
				n++
			}
			c.mu.Unlock()
			return n, nil
		}
		c.mu.Unlock()
		select {
		case <-c.kick:
		case <-ctx.Done():
			return 0, fmt.Errorf("fake: %w", ctx.Err())
		}
	}
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.signal()
	return nil
}

// sentTo returns the times requests for ip went out.
func (c *fakeConn) sentTo(ip string) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var a [4]byte
	copy(a[:], mustAddr(ip).AsSlice())
	var out []time.Time
	for _, s := range c.sent {
		if s.tpa == a {
			out = append(out, s.at)
		}
	}
	return out
}

func be32(b [4]byte) uint32 { return binary.BigEndian.Uint32(b[:]) }

// inject queues frames as if they had arrived.
func (c *fakeConn) inject(frames ...[]byte) {
	c.mu.Lock()
	c.queue = append(c.queue, frames...)
	for range frames {
		c.qtime = append(c.qtime, time.Now())
	}
	c.mu.Unlock()
	c.signal()
}
