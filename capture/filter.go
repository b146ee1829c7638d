package capture

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/net/bpf"
)

// AcceptLength is what the built-in filters return for an accepted frame:
// the number of bytes the kernel keeps, 262144 as tcpdump uses.
const AcceptLength = 262144

// EtherType values the built-in filters test (IEEE 802.3, IEEE 802.1Q).
const (
	etherTypeIPv4  = 0x0800
	etherTypeARP   = 0x0806
	etherTypeVLAN  = 0x8100 // 802.1Q C-tag
	etherTypeQinQ  = 0x88a8 // 802.1ad S-tag
	ipProtoICMP    = 1
	ipProtoUDP     = 17
	dhcpServerPort = 67
	dhcpClientPort = 68
)

// builtinFilters maps a name to a function returning the block that tests
// the EtherType in A for a frame whose network header starts at byte base
// (14 untagged, 18 after one 802.1Q tag). A block always ends in a return.
var builtinFilters = map[string]func(base uint32) []bpf.Instruction{
	"all":  func(uint32) []bpf.Instruction { return []bpf.Instruction{bpf.RetConstant{Val: AcceptLength}} },
	"arp":  arpBlock,
	"icmp": icmpBlock,
	"dhcp": dhcpBlock,
}

// FilterNames returns the names BuiltinFilter accepts, sorted.
func FilterNames() []string {
	names := make([]string, 0, len(builtinFilters))
	for n := range builtinFilters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// BuiltinFilter returns the classic BPF program for one of the built-in
// filters:
//
//   - "all": every frame;
//   - "arp": EtherType 0x0806;
//   - "icmp": IPv4 protocol 1 (any fragment, as tcpdump's "icmp");
//   - "dhcp": IPv4, unfragmented (MF clear, offset 0), UDP, source or
//     destination port 67 or 68 (RFC 2131 §4.1).
//
// Each accepts the frame untagged, with one 802.1Q (0x8100) or 802.1ad
// (0x88a8) tag in the data, or with the tag stripped by the kernel (the
// data is then untagged and the tag travels out of band, so the untagged
// path matches it). The programs use no ancillary loads, so they run in
// golang.org/x/net/bpf's VM as in the kernel.
func BuiltinFilter(name string) ([]bpf.RawInstruction, error) {
	block, ok := builtinFilters[name]
	if !ok {
		return nil, fmt.Errorf("capture: unknown filter %q (want one of %s)", name, strings.Join(FilterNames(), ", "))
	}
	if name == "all" {
		return bpf.Assemble(block(14))
	}
	untagged := block(14)
	tagged := block(18)
	prog := []bpf.Instruction{
		// A = EtherType (or TPID of a tag) at byte 12.
		bpf.LoadAbsolute{Off: 12, Size: 2},
		// A tag: skip the untagged block and reload the inner EtherType.
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeVLAN, SkipTrue: 1 + uint8(len(untagged))},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeQinQ, SkipTrue: uint8(len(untagged))},
	}
	prog = append(prog, untagged...)
	prog = append(prog, bpf.LoadAbsolute{Off: 16, Size: 2})
	prog = append(prog, tagged...)
	return bpf.Assemble(prog)
}

func arpBlock(uint32) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeARP, SkipFalse: 1},
		bpf.RetConstant{Val: AcceptLength},
		bpf.RetConstant{Val: 0},
	}
}

// icmpBlock: the IPv4 protocol field is byte 9 of the header (RFC 791 §3.1).
func icmpBlock(base uint32) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeIPv4, SkipFalse: 3},
		bpf.LoadAbsolute{Off: base + 9, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: ipProtoICMP, SkipFalse: 1},
		bpf.RetConstant{Val: AcceptLength},
		bpf.RetConstant{Val: 0},
	}
}

// dhcpBlock: IPv4 (RFC 791 §3.1: protocol at byte 9, flags and fragment
// offset in bytes 6-7, IHL in the low nibble of byte 0), then UDP ports at
// bytes 0-1 and 2-3 of the UDP header (RFC 768).
func dhcpBlock(base uint32) []bpf.Instruction {
	const (
		accept = 12
		reject = 13
	)
	return []bpf.Instruction{
		/* 0 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeIPv4, SkipFalse: reject - 1},
		/* 1 */ bpf.LoadAbsolute{Off: base + 9, Size: 1},
		/* 2 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: ipProtoUDP, SkipFalse: reject - 3},
		/* 3 */ bpf.LoadAbsolute{Off: base + 6, Size: 2},
		// MF set or a non-zero offset: a fragment, whose ports are not here.
		/* 4 */ bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x3fff, SkipTrue: reject - 5},
		/* 5 */ bpf.LoadMemShift{Off: base}, // X = 4 * IHL
		/* 6 */ bpf.LoadIndirect{Off: base, Size: 2}, // UDP source port
		/* 7 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: dhcpServerPort, SkipTrue: accept - 8},
		/* 8 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: dhcpClientPort, SkipTrue: accept - 9},
		/* 9 */ bpf.LoadIndirect{Off: base + 2, Size: 2}, // UDP destination port
		/* 10 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: dhcpServerPort, SkipTrue: accept - 11},
		/* 11 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: dhcpClientPort, SkipFalse: reject - 12},
		/* 12 */ bpf.RetConstant{Val: AcceptLength},
		/* 13 */ bpf.RetConstant{Val: 0},
	}
}

// ApplySnapLen returns a copy of prog in which every constant return larger
// than snaplen returns snaplen, so the kernel copies at most snaplen bytes
// of a frame (as libpcap compiles its filters). A nil or empty prog becomes
// a single "ret #snaplen". snaplen <= 0 returns prog unchanged.
func ApplySnapLen(prog []bpf.RawInstruction, snaplen int) []bpf.RawInstruction {
	if snaplen <= 0 {
		return prog
	}
	const retK = 0x06 // BPF_RET | BPF_K
	if len(prog) == 0 {
		return []bpf.RawInstruction{{Op: retK, K: uint32(snaplen)}}
	}
	out := make([]bpf.RawInstruction, len(prog))
	copy(out, prog)
	for i := range out {
		if out[i].Op == retK && out[i].K > uint32(snaplen) {
			out[i].K = uint32(snaplen)
		}
	}
	return out
}
