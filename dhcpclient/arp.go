package dhcpclient

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// handleARP answers ARP requests for the claimed address and passes the
// packet to the handler.
func (c *Client) handleARP(ctx context.Context, frame, payload []byte, at time.Time, h handler) (bool, error) {
	var a craft.ARP
	if err := craft.DecodeARP(payload, &a); err != nil {
		c.report.Stats.Ignored.Malformed++
		c.record(at, frame, capture.Inbound, "undecodable ARP", "malformed")
		return false, nil
	}
	c.report.Stats.ARP++
	ours := sameMAC(a.SenderMAC, c.cfg.ethSrc())
	if c.claim.IsValid() && a.Op == craft.ARPRequest && a.TargetIP == c.claim && !ours && !a.SenderIP.IsUnspecified() {
		c.record(at, frame, capture.Inbound, fmt.Sprintf("ARP who-has %s tell %s (%s)", a.TargetIP, a.SenderIP, a.SenderMAC), "")
		if err := c.answerARP(ctx, &a); err != nil {
			return false, err
		}
		return false, nil
	}
	if h.arp == nil || ours {
		return false, nil
	}
	v, err := h.arp(&a)
	if v.ignored == "" {
		c.record(at, frame, capture.Inbound, arpText(&a), "")
	}
	return v.done, err
}

// answerARP replies for the leased address on behalf of an interface that
// does not hold it, so that a server can unicast to it (RFC 826).
func (c *Client) answerARP(ctx context.Context, req *craft.ARP) error {
	rep := craft.NewARPReply(c.cfg.ethSrc(), c.claim, slices.Clone(req.SenderMAC), req.SenderIP)
	eth := craft.Ethernet{Dst: rep.TargetMAC, Src: c.cfg.ethSrc(), VLAN: c.cfg.VLAN}
	frame := craft.AppendARP(nil, eth, rep)
	return c.sendFrame(ctx, frame, fmt.Sprintf("ARP reply %s is-at %s (answering for the lease)", c.claim, c.cfg.ethSrc()))
}

func arpText(a *craft.ARP) string {
	switch {
	case a.IsProbe():
		return fmt.Sprintf("ARP probe who-has %s (from %s)", a.TargetIP, a.SenderMAC)
	case a.Op == craft.ARPReply:
		return fmt.Sprintf("ARP reply %s is-at %s", a.SenderIP, a.SenderMAC)
	case a.IsGratuitous():
		return fmt.Sprintf("ARP announcement %s is-at %s", a.SenderIP, a.SenderMAC)
	}
	return fmt.Sprintf("ARP who-has %s tell %s (%s)", a.TargetIP, a.SenderIP, a.SenderMAC)
}

// sendARP broadcasts an ARP request.
func (c *Client) sendARP(ctx context.Context, a craft.ARP, text string) error {
	eth := craft.Ethernet{Dst: craft.Broadcast, Src: c.cfg.ethSrc(), VLAN: c.cfg.VLAN}
	return c.sendFrame(ctx, craft.AppendARP(make([]byte, 0, 64), eth, a), text)
}

// CheckAddress runs the configured ARP conflict check on addr (RFC 5227
// §2.1.1) and returns the MAC of a host that claims it, or nil. A host
// claims the address when it sends any ARP packet with addr as sender IP, or
// an ARP Probe for addr from another MAC (it is probing for it too).
func (c *Client) CheckAddress(ctx context.Context, addr netip.Addr) (MAC, error) {
	check := c.cfg.arpCheck()
	if check == ARPCheckNone {
		return nil, nil
	}
	var holder MAC
	h := handler{arp: func(a *craft.ARP) (verdict, error) {
		if a.SenderIP == addr || (a.IsProbe() && a.TargetIP == addr) {
			holder = MAC(slices.Clone(a.SenderMAC))
			return verdict{done: true}, nil
		}
		return verdict{ignored: "unrelated ARP"}, nil
	}}
	probe := craft.NewARPProbe(c.cfg.ethSrc(), addr)
	if check == ARPCheckShort {
		if err := c.sendARP(ctx, probe, fmt.Sprintf("ARP probe who-has %s (conflict check) try 1", addr)); err != nil {
			return nil, err
		}
		if _, err := c.wait(ctx, time.Now().Add(c.cfg.probeWait()), h); err != nil {
			return nil, err
		}
		return holder, nil
	}
	// RFC 5227 §2.1.1: wait PROBE_WAIT at random, then PROBE_NUM probes
	// PROBE_MIN..PROBE_MAX apart, then ANNOUNCE_WAIT; listen throughout.
	if done, err := c.wait(ctx, time.Now().Add(c.cfg.random(probeWait)), h); err != nil || done {
		return holder, err
	}
	for i := 1; i <= probeNum; i++ {
		if err := c.sendARP(ctx, probe, fmt.Sprintf("ARP probe who-has %s (conflict check, rfc5227) try %d", addr, i)); err != nil {
			return nil, err
		}
		w := announceWait
		if i < probeNum {
			w = probeMin + c.cfg.random(probeMax-probeMin)
		}
		if done, err := c.wait(ctx, time.Now().Add(w), h); err != nil || done {
			return holder, err
		}
	}
	return nil, nil
}

// Announce sends ANNOUNCE_NUM ARP Announcements for addr, ANNOUNCE_INTERVAL
// apart (RFC 5227 §2.3).
func (c *Client) Announce(ctx context.Context, addr netip.Addr) error {
	for i := 1; i <= announceNum; i++ {
		if i > 1 {
			if _, err := c.wait(ctx, time.Now().Add(announceInterval), handler{}); err != nil {
				return err
			}
		}
		g := craft.NewGratuitousARP(c.cfg.ethSrc(), addr)
		if err := c.sendARP(ctx, g, fmt.Sprintf("ARP announcement %s is-at %s %d/%d", addr, c.cfg.ethSrc(), i, announceNum)); err != nil {
			return err
		}
	}
	return nil
}

// Resolve finds the MAC of target with ARP requests sent from (from may be
// 0.0.0.0, as a probe, when no address is held): up to 3 tries, each waiting
// the first retransmission timeout capped at 1 s.
func (c *Client) Resolve(ctx context.Context, target, from netip.Addr) (MAC, error) {
	if !from.IsValid() {
		from = netip.IPv4Unspecified()
	}
	var mac MAC
	h := handler{arp: func(a *craft.ARP) (verdict, error) {
		if a.SenderIP == target && !a.IsProbe() {
			mac = MAC(slices.Clone(a.SenderMAC))
			return verdict{done: true}, nil
		}
		return verdict{ignored: "unrelated ARP"}, nil
	}}
	req := craft.NewARPRequest(c.cfg.ethSrc(), from, target)
	w := min(c.cfg.timeout(), time.Second)
	const tries = 3
	for i := 1; i <= tries; i++ {
		if err := c.sendARP(ctx, req, fmt.Sprintf("ARP who-has %s tell %s (resolve server) try %d", target, from, i)); err != nil {
			return nil, err
		}
		done, err := c.wait(ctx, time.Now().Add(w), h)
		if err != nil {
			return nil, err
		}
		if done {
			return mac, nil
		}
	}
	return nil, &NoReplyError{Message: "ARP request for " + target.String(), State: StateInvalid, Tries: tries,
		Waits: []time.Duration{w, w, w}}
}
