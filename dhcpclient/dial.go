package dhcpclient

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/rawlab/rawlab/capture"
	"golang.org/x/net/bpf"
)

// Dial opens the client's socket on the named interface: one AF_PACKET
// socket with the program of Filter attached before bind, kept open until
// Close. A nil cfg.HWAddr becomes the interface's MAC. The interface is
// checked (exists, up, Ethernet) and cfg validated before the socket is
// opened; without CAP_NET_RAW the error wraps os.ErrPermission. The
// interface goes promiscuous while the socket is open when chaddr or the
// Ethernet source is not the interface's own MAC, so that frames sent to
// that MAC arrive.
func Dial(ifname string, cfg Config) (*Client, error) {
	ifi, err := capture.LookupInterface(ifname)
	if err != nil {
		return nil, err
	}
	return DialInterface(ifi, cfg)
}

// DialInterface is Dial for an interface the caller has already looked up
// (with capture.LookupInterface), saving a second lookup.
func DialInterface(ifi *net.Interface, cfg Config) (*Client, error) {
	ifname := ifi.Name
	if cfg.HWAddr == nil {
		cfg.HWAddr = ifi.HardwareAddr
	}
	if cfg.Interface == "" {
		cfg.Interface = ifname
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	prog, err := Filter()
	if err != nil {
		return nil, err
	}
	promisc := !sameMAC(cfg.HWAddr, ifi.HardwareAddr) || !sameMAC(cfg.ethSrc(), ifi.HardwareAddr)
	conn, err := capture.Listen(ifname, capture.Config{Filter: prog, Promiscuous: promisc})
	if err != nil {
		return nil, err
	}
	if cfg.HasAddr == nil {
		cfg.HasAddr = func(a netip.Addr) bool {
			addrs, err := ifi.Addrs()
			if err != nil {
				return false
			}
			for _, x := range addrs {
				if p, err := netip.ParsePrefix(x.String()); err == nil && p.Addr().Unmap() == a {
					return true
				}
			}
			return false
		}
	}
	c, err := New(conn, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c.closer = conn
	return c, nil
}

// Offsets and values the filter tests (IEEE 802.3, 802.1Q; RFC 791 §3.1;
// RFC 768; RFC 2131 §4.1).
const (
	etherTypeIPv4 = 0x0800
	etherTypeARP  = 0x0806
	etherTypeVLAN = 0x8100
	etherTypeQinQ = 0x88a8
	protoUDP      = 17
	acceptLen     = 65535
)

// filterBlock tests the EtherType in A for a frame whose network header
// starts at base: ARP passes; IPv4 passes when it is an unfragmented UDP
// datagram from port 67 to port 68 (a server reply) or 67 (a reply to a
// relay, when giaddr is used).
func filterBlock(base uint32) []bpf.Instruction {
	return []bpf.Instruction{
		/* 0 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeARP, SkipTrue: 11},
		/* 1 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeIPv4, SkipFalse: 11},
		/* 2 */ bpf.LoadAbsolute{Off: base + 9, Size: 1}, // protocol
		/* 3 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: protoUDP, SkipFalse: 9},
		/* 4 */ bpf.LoadAbsolute{Off: base + 6, Size: 2}, // flags, fragment offset
		/* 5 */ bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x3fff, SkipTrue: 7},
		/* 6 */ bpf.LoadMemShift{Off: base}, // X = 4 * IHL
		/* 7 */ bpf.LoadIndirect{Off: base, Size: 2}, // UDP source port
		/* 8 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 67, SkipFalse: 4},
		/* 9 */ bpf.LoadIndirect{Off: base + 2, Size: 2}, // UDP destination port
		/* 10 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 68, SkipTrue: 1},
		/* 11 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 67, SkipFalse: 1},
		/* 12 */ bpf.RetConstant{Val: acceptLen},
		/* 13 */ bpf.RetConstant{Val: 0},
	}
}

// Filter returns the classic BPF program Dial attaches: DHCP replies (UDP
// from port 67 to 68 or 67, unfragmented IPv4) and ARP, untagged, with one
// 802.1Q or 802.1ad tag in the data, or with the tag stripped by the kernel
// (the untagged path then matches). Everything else stays in the kernel.
func Filter() ([]bpf.RawInstruction, error) {
	untagged, tagged := filterBlock(14), filterBlock(18)
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeVLAN, SkipTrue: uint8(len(untagged)) + 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeQinQ, SkipTrue: uint8(len(untagged))},
	}
	prog = append(prog, untagged...)
	prog = append(prog, bpf.LoadAbsolute{Off: 16, Size: 2})
	prog = append(prog, tagged...)
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("dhcpclient: filter: %w", err)
	}
	return raw, nil
}
