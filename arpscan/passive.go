package arpscan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
)

// PassiveConfig sets up Watch.
type PassiveConfig struct {
	// Duration ends the watch; 0 means until ctx ends.
	Duration time.Duration
	// Vendor names a MAC's vendor in the report; nil leaves Vendor empty.
	Vendor func(net.HardwareAddr) string
	// Trace, when set, sees every ARP frame received.
	Trace func(d Direction, frame []byte, strippedVLAN int, t time.Time)
	// MaxHosts bounds the (IP, MAC) pairs kept; 0 means 65536.
	MaxHosts int
	// DupWindow is how close two replies from one MAC for one address to
	// the same asker must be to count as a duplicate answer; 0 means 5 ms.
	DupWindow time.Duration
}

// passiveState is the extra bookkeeping of Watch per (IP, MAC) pair.
type passiveState struct {
	lastReply int64
	lastAsker [4]byte
	dup       bool
}

// Watch sends nothing: it lists the hosts seen in ARP requests and replies
// on conn (open it with DialConfig.Passive) until the duration passes or ctx
// ends. A host is the sender of a request or reply with a non-zero sender
// address (RFC 5227 probes, sender 0.0.0.0, are counted but name no host).
// Flags: CONFLICT when an address is claimed from two or more MACs,
// MISMATCH as in a scan, DUP when one MAC answers the same asker twice within
// DupWindow (a host answering twice). Ending at the duration is not an error.
func Watch(ctx context.Context, conn Conn, cfg PassiveConfig) (*Report, error) {
	if cfg.MaxHosts <= 0 {
		cfg.MaxHosts = 1 << 16
	}
	if cfg.DupWindow <= 0 {
		cfg.DupWindow = 5 * time.Millisecond
	}
	start := time.Now()
	end := time.Time{}
	if cfg.Duration > 0 {
		end = start.Add(cfg.Duration)
	}
	if d, ok := ctx.Deadline(); ok && (end.IsZero() || d.Before(end)) {
		end = d
	}
	if err := conn.SetReadDeadline(end); err != nil {
		return nil, fmt.Errorf("arpscan: watch: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	set := newResponseSet(cfg.MaxHosts)
	extra := map[[10]byte]*passiveState{}
	msgs := make([]Msg, 64)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 128)
	}
	var p Packet
	r := &Report{}
	var err error
	for {
		n, rerr := conn.ReadFrames(msgs)
		for j := 0; j < n; j++ {
			m := &msgs[j]
			frame := m.Buf[:m.N]
			at := m.Time
			if at.IsZero() {
				at = time.Now()
			}
			if cfg.Trace != nil {
				cfg.Trace(Received, frame, m.VLAN, at)
			}
			r.Received++
			if DecodeFrame(frame, &p) != nil {
				r.Ignored++
				continue
			}
			if p.VLAN < 0 && m.VLAN >= 0 {
				p.VLAN = m.VLAN
			}
			spa := binary.BigEndian.Uint32(p.SPA[:])
			if spa == 0 {
				continue
			}
			e, _ := set.add(spa, &p, at.UnixNano(), 0)
			if e == nil {
				continue
			}
			if p.Op == opReply {
				k := pairKey(e)
				st := extra[k]
				if st == nil {
					st = &passiveState{}
					extra[k] = st
				}
				now := at.UnixNano()
				if st.lastReply != 0 && st.lastAsker == p.TPA && now-st.lastReply <= int64(cfg.DupWindow) {
					st.dup = true
				}
				st.lastReply, st.lastAsker = now, p.TPA
			}
		}
		if rerr != nil {
			if !timeout(rerr) {
				err = fmt.Errorf("arpscan: watch: %w", rerr)
			} else if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err = fmt.Errorf("arpscan: watch: %w", ctx.Err())
			}
			break
		}
	}
	r.Elapsed = time.Since(start)
	dup := map[[10]byte]bool{}
	for k, st := range extra {
		if st.dup {
			dup[k] = true
		}
	}
	r.Hosts = set.hosts(cfg.Vendor, func(x *response) bool { return dup[pairKey(x)] })
	for i := range r.Hosts {
		r.Hosts[i].Requests = 0
	}
	r.Responded = countIPs(r.Hosts)
	return r, err
}

func pairKey(r *response) [10]byte {
	var k [10]byte
	binary.BigEndian.PutUint32(k[:4], r.ip)
	copy(k[4:], r.mac[:])
	return k
}

func countIPs(hs []Host) int {
	n := 0
	for i := range hs {
		if i == 0 || hs[i].IP != hs[i-1].IP {
			n++
		}
	}
	return n
}
