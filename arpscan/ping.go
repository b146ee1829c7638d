package arpscan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// PingConfig sets up Ping, the arping(8) of this package.
type PingConfig struct {
	// Target is the address to resolve; required.
	Target netip.Addr
	// SrcMAC is the Ethernet source and ARP sender MAC; required, unicast.
	SrcMAC net.HardwareAddr
	// DstMAC is the Ethernet destination; nil means broadcast.
	DstMAC net.HardwareAddr
	// SenderIP is the ARP sender address. Probe forces 0.0.0.0.
	SenderIP netip.Addr
	// Probe sends RFC 5227 section 2.1.1 probes: sender IP 0.0.0.0, target
	// MAC zero. Any reply means the address is in use.
	Probe bool
	// StopOnReply ends the ping at the first reply (iputils arping -D).
	StopOnReply bool
	// Tagged and VLAN add an 802.1Q tag.
	Tagged bool
	VLAN   craft.VLAN
	// Count is the number of requests; 0 means 3. Ping waits, up to
	// Timeout after the last request, until Count replies came.
	Count int
	// Interval between requests; 0 means one second.
	Interval time.Duration
	// Timeout is how long to wait for replies after the last request; 0
	// means one second.
	Timeout time.Duration
	// OnReply is called for each reply from Target, as it arrives.
	OnReply func(PingReply)
	// Trace sees every frame sent and received.
	Trace Tracer
}

// Validate reports the first field Ping cannot run with, as a *FieldError.
func (c PingConfig) Validate() error {
	switch {
	case !c.Target.Is4():
		return fieldErr("Target", c.Target, "is not an IPv4 address")
	case len(c.SrcMAC) == 0:
		return fieldErr("SrcMAC", "none", "is required")
	case c.SenderIP.IsValid() && !c.SenderIP.Is4():
		return fieldErr("SenderIP", c.SenderIP, "is not IPv4")
	case c.Count < 0 || c.Count > 1<<20:
		return fieldErr("Count", c.Count, "is not 1 to 1048576 requests")
	case c.Interval < 0 || c.Interval > MaxTimeout:
		return fieldErr("Interval", c.Interval, fmt.Sprintf("is not in (0, %v]", MaxTimeout))
	case c.Timeout < 0 || c.Timeout > MaxTimeout:
		return fieldErr("Timeout", c.Timeout, fmt.Sprintf("is not in (0, %v]", MaxTimeout))
	case c.VLAN.ID > 4095:
		return fieldErr("VLAN", c.VLAN.ID, "is not a VLAN ID (0-4095)")
	}
	if err := checkMAC("SrcMAC", c.SrcMAC, true); err != nil {
		return err
	}
	return checkMAC("DstMAC", c.DstMAC, false)
}

// CheckValues is Validate without requiring SrcMAC (see Config.CheckValues).
func (c PingConfig) CheckValues() error {
	if c.SrcMAC == nil {
		c.SrcMAC = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	}
	return c.Validate()
}

// PingReply is one answer to Ping.
type PingReply struct {
	Seq     int // which request (1-based) was the latest when it came
	MAC     net.HardwareAddr
	EthSrc  net.HardwareAddr // Ethernet source, when it differs from MAC
	Tagged  bool
	VLAN    craft.VLAN
	RTT     time.Duration
	Unicast bool // sent to our MAC rather than broadcast
	Time    time.Time
}

// PingResult sums up a Ping.
type PingResult struct {
	Sent, Received int
	MACs           []net.HardwareAddr // distinct MACs that answered, in order
}

// ErrNoReply is returned by Ping when no reply came.
var ErrNoReply = errors.New("arpscan: no reply")

// Ping sends Count ARP requests for Target, Interval apart, and reports each
// reply addressed to it through OnReply. It ends when Count replies came
// after the last request was sent (or the first, with StopOnReply), or
// Timeout after the last request. It returns ErrNoReply (with the result)
// when none came, and an error wrapping ctx's if ctx ends first.
func Ping(ctx context.Context, conn Conn, cfg PingConfig) (PingResult, error) {
	var res PingResult
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	if cfg.Count == 0 {
		cfg.Count = 3
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	var p craft.ARPFrame
	copy(p.EthSrc[:], cfg.SrcMAC)
	p.EthDst = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	if cfg.DstMAC != nil {
		copy(p.EthDst[:], cfg.DstMAC)
	}
	p.SHA = p.EthSrc
	if cfg.SenderIP.Is4() && !cfg.Probe {
		p.SPA = cfg.SenderIP.As4()
	}
	p.TPA = cfg.Target.As4()
	p.Op = craft.ARPRequest
	p.Tagged, p.VLAN = cfg.Tagged, cfg.VLAN
	frame := craft.AppendARPFrame(nil, &p)
	frames := [][]byte{frame}

	msgs := make([]capture.Msg, 16)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 128)
	}
	var lastSend, next, end time.Time
	var q craft.ARPFrame
	for {
		now := time.Now()
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("arpscan: ping: %w", err)
		}
		if res.Sent < cfg.Count && !now.Before(next) {
			if _, err := conn.WriteFrames(ctx, frames); err != nil {
				return res, fmt.Errorf("arpscan: ping: %w", err)
			}
			if cfg.Trace != nil {
				cfg.Trace(capture.Outbound, frame, capture.FrameInfo{Time: now, Length: len(frame), Dir: capture.Outbound})
			}
			res.Sent++
			lastSend, next = now, now.Add(cfg.Interval)
			if res.Sent == cfg.Count {
				end = now.Add(cfg.Timeout)
			}
		}
		if res.Sent == cfg.Count && (!now.Before(end) || res.Received >= cfg.Count) {
			break
		}
		if cfg.StopOnReply && res.Received > 0 {
			break
		}
		wake := next
		if res.Sent == cfg.Count {
			wake = end
		}
		rctx, cancel := context.WithDeadline(ctx, wake)
		n, err := conn.ReadFrames(rctx, msgs)
		cancel()
		for j := 0; j < n; j++ {
			m := &msgs[j]
			at := m.Info.Time
			if at.IsZero() {
				at = time.Now()
			}
			if cfg.Trace != nil {
				cfg.Trace(capture.Inbound, m.Buf[:m.N], m.Info)
			}
			// Only a reply from Target addressed to us counts.
			if craft.DecodeARPFrame(m.Buf[:m.N], &q) != nil || q.Op != craft.ARPReply || q.SPA != p.TPA ||
				(q.THA != p.SHA && q.EthDst != p.EthSrc) || q.TPA != p.SPA {
				continue
			}
			if !q.Tagged {
				q.Tagged, q.VLAN = stripped(&m.Info)
			}
			r := PingReply{Seq: res.Sent, MAC: net.HardwareAddr(append([]byte(nil), q.SHA[:]...)), Tagged: q.Tagged,
				VLAN: q.VLAN, RTT: at.Sub(lastSend), Unicast: q.EthDst == p.EthSrc, Time: at}
			if q.Mismatch() {
				r.EthSrc = net.HardwareAddr(append([]byte(nil), q.EthSrc[:]...))
			}
			res.Received++
			seen := false
			for _, mac := range res.MACs {
				if string(mac) == string(r.MAC) {
					seen = true
				}
			}
			if !seen {
				res.MACs = append(res.MACs, r.MAC)
			}
			if cfg.OnReply != nil {
				cfg.OnReply(r)
			}
		}
		if err != nil && ctx.Err() == nil && !timeout(err) && !errors.Is(err, context.DeadlineExceeded) {
			return res, fmt.Errorf("arpscan: ping: %w", err)
		}
	}
	if res.Received == 0 {
		return res, ErrNoReply
	}
	return res, nil
}
