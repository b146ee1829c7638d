package arpscan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// PassiveConfig sets up Watch.
type PassiveConfig struct {
	// Duration ends the watch; 0 means until ctx ends.
	Duration time.Duration
	// Vendor names a MAC's vendor; nil leaves Vendor empty.
	Vendor func(net.HardwareAddr) string
	// Sink, when set, is told of each host the moment it is first seen.
	Sink Sink
	// Trace, when set, sees every ARP frame received.
	Trace Tracer
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
}

// Watch sends nothing: it lists the hosts seen in ARP requests and replies
// on conn (open it with ListenConfig.Passive) until the duration passes or
// ctx ends. A host is the sender of a request or reply with a non-zero
// sender address (RFC 5227 probes, sender 0.0.0.0, are counted but name no
// host). Flags: CONFLICT when an address is claimed from two or more MACs,
// MISMATCH as in a scan, DUP when one MAC answers the same asker twice
// within DupWindow. Ending at the duration or by ctx is not an error; the
// report says Interrupted when ctx ended it.
func Watch(ctx context.Context, conn Conn, cfg PassiveConfig) (*Report, error) {
	if cfg.MaxHosts <= 0 {
		cfg.MaxHosts = 1 << 16
	}
	if cfg.DupWindow <= 0 {
		cfg.DupWindow = 5 * time.Millisecond
	}
	start := time.Now()
	rctx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	set := newResponseSet(cfg.MaxHosts)
	extra := map[[10]byte]*passiveState{}
	msgs := make([]capture.Msg, 64)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 128)
	}
	var p craft.ARPFrame
	var ev Event
	var evMACs [18]byte
	emit := func(kind EventKind, r *response, flag Flags) {
		if cfg.Sink == nil {
			return
		}
		ev.Kind, ev.Flag = kind, flag
		r.fill(&ev.Host, evMACs[:], cfg.Vendor)
		cfg.Sink.Event(&ev)
	}
	r := &Report{}
	var err error
	for {
		n, rerr := conn.ReadFrames(rctx, msgs)
		for j := 0; j < n; j++ {
			m := &msgs[j]
			frame := m.Buf[:m.N]
			if cfg.Trace != nil {
				cfg.Trace(capture.Inbound, frame, m.Info)
			}
			r.Received++
			if craft.DecodeARPFrame(frame, &p) != nil {
				r.Ignored++
				continue
			}
			if !p.Tagged {
				p.Tagged, p.VLAN = stripped(&m.Info)
			}
			spa := binary.BigEndian.Uint32(p.SPA[:])
			if spa == 0 {
				continue
			}
			at := m.Info.Time
			if at.IsZero() {
				at = time.Now()
			}
			e, isNew, capped := set.add(spa, &p, at.UnixNano())
			if capped && set.unlisted == 1 && cfg.Sink != nil {
				ev = Event{Kind: EventCap, Limit: cfg.MaxHosts}
				cfg.Sink.Event(&ev)
			}
			if e == nil {
				continue
			}
			if isNew {
				if f := &set.list[set.first[spa]]; f != e {
					e.flags |= FlagConflict
					if f.flags&FlagConflict == 0 {
						f.flags |= FlagConflict
						emit(EventFlag, f, FlagConflict)
					}
				}
				emit(EventHost, e, 0)
			}
			if p.Op == craft.ARPReply {
				k := pairKey(e.ip, e.mac)
				st := extra[k]
				if st == nil {
					st = &passiveState{}
					extra[k] = st
				}
				now := at.UnixNano()
				if st.lastReply != 0 && st.lastAsker == p.TPA && now-st.lastReply <= int64(cfg.DupWindow) && e.flags&FlagDup == 0 {
					e.flags |= FlagDup
					emit(EventFlag, e, FlagDup)
				}
				st.lastReply, st.lastAsker = now, p.TPA
			}
		}
		if n > 0 && cfg.Sink != nil {
			if ferr := cfg.Sink.Flush(); ferr != nil {
				err = fmt.Errorf("arpscan: output: %w", ferr)
				break
			}
		}
		if rerr != nil {
			switch {
			case ctx.Err() != nil:
				r.Interrupted = !errors.Is(ctx.Err(), context.DeadlineExceeded)
			case rctx.Err() != nil:
			case timeout(rerr):
				continue
			default:
				err = fmt.Errorf("arpscan: watch: %w", rerr)
			}
			break
		}
	}
	r.Elapsed = time.Since(start)
	r.Hosts = set.hosts(cfg.Vendor)
	r.UnsolicitedUnlisted = set.unlisted
	r.Responded = countIPs(r.Hosts)
	r.Targets = r.Responded
	return r, err
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
