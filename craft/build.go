package craft

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ParseVLANs makes a tag stack, outermost first, from VLAN IDs and
// priority code points: no priorities (all 0), one for every tag, or one
// per tag. TPIDs are left 0: encoders write 0x88a8 outside and 0x8100
// innermost (802.1ad QinQ).
func ParseVLANs(ids, priorities []int) ([]VLAN, error) {
	switch {
	case len(priorities) > 0 && len(ids) == 0:
		return nil, fmt.Errorf("craft: vlan priority without a vlan")
	case len(priorities) > 1 && len(priorities) != len(ids):
		return nil, fmt.Errorf("craft: vlan priority: %d values for %d tags: give one, or one per tag", len(priorities), len(ids))
	}
	var tags []VLAN
	for i, id := range ids {
		if id < 0 || id > MaxVLANID {
			return nil, fmt.Errorf("craft: vlan %d: want 0-%d", id, MaxVLANID)
		}
		v := VLAN{ID: uint16(id)}
		if len(priorities) > 0 {
			p := priorities[min(i, len(priorities)-1)]
			if p < 0 || p > 7 {
				return nil, fmt.Errorf("craft: vlan priority %d: want 0-7", p)
			}
			v.Priority = uint8(p)
		}
		tags = append(tags, v)
	}
	return tags, nil
}

// Finish returns a frame builder that calls build, spoils the bad checksum
// (BreakChecksum; none when bad is 0) and inserts tags after the addresses
// (AppendTagged: a frame padded to 60 bytes becomes 64 with one tag, as
// IEEE 802.1Q's minimum tagged frame). It checks frame 0 first, returning
// BreakChecksum's error when the frame lacks that checksum. The builder it
// returns reuses one scratch buffer: it is for one goroutine.
func Finish(build func(b []byte, i int) []byte, tags []VLAN, bad ChecksumLayer) (func([]byte, int) []byte, error) {
	if bad == 0 && len(tags) == 0 {
		return build, nil
	}
	if bad != 0 {
		if err := BreakChecksum(build(nil, 0), bad); err != nil {
			return nil, err
		}
	}
	var tmp []byte
	return func(b []byte, i int) []byte {
		tmp = build(tmp[:0], i)
		if bad != 0 {
			BreakChecksum(tmp, bad) // checked on frame 0
		}
		return AppendTagged(b, tmp, tags)
	}, nil
}

// NewARP builds the ARP packet of an operation named as `rawlab craft arp
// --op` takes it, and returns the Ethernet destination it goes to:
//
//	request, who-has     who-has targetIP tell senderIP (broadcast)
//	reply, is-at         senderIP is-at senderMAC, to targetMAC (broadcast without one)
//	probe                RFC 5227: sender IP 0.0.0.0, target MAC zero
//	gratuitous, announce sender and target IP both senderIP, or targetIP without one
//	N                    any operation code 1-65535
//
// An invalid senderIP means none was given (0.0.0.0); a nil targetMAC, zero.
func NewARP(op string, senderMAC, targetMAC net.HardwareAddr, senderIP, targetIP netip.Addr) (ARP, net.HardwareAddr, error) {
	spa := senderIP
	if !spa.IsValid() {
		spa = netip.IPv4Unspecified()
	}
	var p ARP
	switch o := strings.ToLower(op); {
	case o == "gratuitous" || o == "announce":
		ip := senderIP
		if !ip.IsValid() {
			ip = targetIP
		}
		if !ip.IsValid() || ip.IsUnspecified() {
			return p, nil, fmt.Errorf("craft: gratuitous arp needs a sender or target IP address")
		}
		p = NewGratuitousARP(senderMAC, ip)
	case !targetIP.IsValid():
		return p, nil, fmt.Errorf("craft: arp %s needs a target IP address", op)
	case o == "request" || o == "who-has":
		p = NewARPRequest(senderMAC, spa, targetIP)
	case o == "probe":
		p = NewARPProbe(senderMAC, targetIP)
	case o == "reply" || o == "is-at":
		p = NewARPReply(senderMAC, spa, targetMAC, targetIP)
		if targetMAC != nil {
			return p, targetMAC, nil
		}
	default:
		n, err := strconv.ParseUint(op, 0, 16)
		if err != nil || n == 0 {
			return p, nil, fmt.Errorf("craft: arp op %q: want request, reply, probe, gratuitous or a number 1-65535", op)
		}
		p = ARP{Op: ARPOp(n), SenderMAC: senderMAC, SenderIP: spa, TargetIP: targetIP}
	}
	if targetMAC != nil {
		p.TargetMAC = targetMAC
	}
	return p, Broadcast, nil
}
