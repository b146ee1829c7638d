package arpscan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// PingConfig sets up Ping, the arping(8) of this package.
type PingConfig struct {
	// Target is the address to resolve; required.
	Target netip.Addr
	// SrcMAC is the Ethernet source and ARP sender MAC; required.
	SrcMAC net.HardwareAddr
	// DstMAC is the Ethernet destination; nil means broadcast.
	DstMAC net.HardwareAddr
	// SenderIP is the ARP sender address. Probe forces 0.0.0.0.
	SenderIP netip.Addr
	// Probe sends RFC 5227 section 2.1.1 probes: sender IP 0.0.0.0, target
	// MAC zero. Any reply means the address is in use.
	Probe bool
	// Tagged and VLAN add an 802.1Q tag.
	Tagged bool
	VLAN   uint16
	// Count is the number of requests; 0 means 3.
	Count int
	// Interval between requests; 0 means one second.
	Interval time.Duration
	// Timeout is how long to wait for replies after the last request; 0
	// means one second.
	Timeout time.Duration
	// OnReply is called for each reply from Target, as it arrives.
	OnReply func(PingReply)
	// Trace sees every frame sent and received (see Config.Trace).
	Trace func(d Direction, frame []byte, strippedVLAN int, t time.Time)
}

// PingReply is one answer to Ping.
type PingReply struct {
	Seq     int // which request (1-based) was the latest when it came
	MAC     net.HardwareAddr
	EthSrc  net.HardwareAddr // Ethernet source, when it differs from MAC
	VLAN    int
	RTT     time.Duration
	Unicast bool // sent to our MAC rather than broadcast
}

// PingResult sums up a Ping.
type PingResult struct {
	Sent, Received int
	MACs           []net.HardwareAddr // distinct MACs that answered, in order
}

// ErrNoReply is returned by Ping when no reply came.
var ErrNoReply = errors.New("arpscan: no reply")

// Ping sends Count ARP requests for Target, Interval apart, and reports each
// reply through OnReply. It returns ErrNoReply (with the result) when none
// came within Timeout of the last request, and ctx's error if ctx ends.
func Ping(ctx context.Context, conn Conn, cfg PingConfig) (PingResult, error) {
	var res PingResult
	if !cfg.Target.Is4() {
		return res, fmt.Errorf("arpscan: ping target %v is not IPv4", cfg.Target)
	}
	if len(cfg.SrcMAC) != 6 {
		return res, errors.New("arpscan: ping: source MAC must be 6 bytes")
	}
	if cfg.Count <= 0 {
		cfg.Count = 3
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	var p Packet
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
	p.Op = opRequest
	p.VLAN = -1
	if cfg.Tagged {
		p.VLAN = int(cfg.VLAN)
	}
	frame := AppendFrame(nil, &p)
	frames := [][]byte{frame}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	msgs := make([]Msg, 16)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 128)
	}
	var lastSend, next, end time.Time
	var q Packet
	for {
		now := time.Now()
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("arpscan: ping: %w", err)
		}
		if res.Sent < cfg.Count && !now.Before(next) {
			if _, err := conn.WriteFrames(frames); err != nil {
				return res, fmt.Errorf("arpscan: ping: %w", err)
			}
			if cfg.Trace != nil {
				cfg.Trace(Sent, frame, -1, now)
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
		wake := next
		if res.Sent == cfg.Count {
			wake = end
		}
		if err := conn.SetReadDeadline(wake); err != nil {
			return res, fmt.Errorf("arpscan: ping: %w", err)
		}
		n, err := conn.ReadFrames(msgs)
		for j := 0; j < n; j++ {
			m := &msgs[j]
			at := m.Time
			if at.IsZero() {
				at = time.Now()
			}
			if cfg.Trace != nil {
				cfg.Trace(Received, m.Buf[:m.N], m.VLAN, at)
			}
			if DecodeFrame(m.Buf[:m.N], &q) != nil || q.Op != opReply || q.SPA != p.TPA {
				continue
			}
			if q.VLAN < 0 {
				q.VLAN = m.VLAN
			}
			r := PingReply{Seq: res.Sent, MAC: net.HardwareAddr(append([]byte(nil), q.SHA[:]...)), VLAN: q.VLAN,
				RTT: at.Sub(lastSend), Unicast: q.EthDst == p.EthSrc}
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
		if err != nil && !timeout(err) {
			if ctx.Err() != nil {
				return res, fmt.Errorf("arpscan: ping: %w", ctx.Err())
			}
			return res, fmt.Errorf("arpscan: ping: %w", err)
		}
	}
	if res.Received == 0 {
		return res, ErrNoReply
	}
	return res, nil
}
