package capture

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/rawlab/rawlab/capture/filter"
	"golang.org/x/net/bpf"
)

// AcceptLength is what the built-in filters return for an accepted frame:
// the number of bytes the kernel keeps, 262144 as tcpdump uses.
const AcceptLength = 262144

// etherTypeVLAN is the 802.1Q TPID (IEEE 802.1Q), reported for a stripped
// tag whose TPID the kernel did not give.
const etherTypeVLAN = 0x8100

// MaxSnapLen is the largest snap length CompileFilter accepts, tcpdump's
// MAXIMUM_SNAPLEN.
const MaxSnapLen = 262144

// The built-in filters' pieces, in pcap-filter(7) (RFC 791 §3.1: flags and
// fragment offset in bytes 6-7 of the IPv4 header; RFC 768: UDP ports in
// bytes 0-3; RFC 2131 §4.1: servers use port 67, clients port 68; RFC 826:
// the ARP opcode in bytes 6-7, 2 for a reply).
const (
	// unfragmented: neither MF nor a fragment offset, so the UDP header
	// is in this packet.
	unfragmented = "ip[6:2] & 0x3fff = 0"
	// dhcpAny: an unfragmented IPv4 UDP datagram from or to port 67 or 68.
	dhcpAny = "(" + unfragmented + " and (udp port 67 or udp port 68))"
	// dhcpReply: what a DHCP client receives, from port 67 to port 68, or
	// to port 67 (a relay's view, when giaddr is set).
	dhcpReply = "(arp or (" + unfragmented + " and udp[0:2] = 67 and (udp[2:2] = 68 or udp[2:2] = 67)))"
	// oneTag: an 802.1Q or 802.1ad tag in the frame; "vlan" then moves the
	// offsets of what follows by 4 bytes. (libpcap's "vlan" alone also
	// takes the pre-standard TPID 0x9100, which these receive filters
	// never did.)
	oneTag = "(ether[12:2] = 0x8100 or ether[12:2] = 0x88a8) and vlan"
)

// builtin is one row of the table of built-in filters.
type builtin struct {
	name string
	expr string // pcap-filter(7), compiled for tags in the frame
	sll  string // the same for a Linux cooked capture (no tags, no MAC header)
}

// builtins is the documented table of built-in filters; see BuiltinFilter
// for what each matches. Every expression is compiled by capture/filter
// with tags in the frame (Options.KernelVLAN false), so its program needs
// no ancillary load and gives the same verdict live, where the kernel
// strips the outer tag before the filter runs (the frame is then one tag
// shorter), and offline, where every tag is in the frame.
//
// The compiled programs are kept in builtinPrograms (filter_programs.go),
// written by "go test ./capture -run TestBuiltinPrograms -update" and
// checked by that test against what the expressions compile to today, so
// that opening a socket costs no compilation (a few milliseconds for
// "dhcp-client").
var builtins = []builtin{
	{"all", "", ""},
	{"arp", "arp", "arp"},
	{"icmp", "icmp", "icmp"},
	{"icmp-vlan", "icmp or (vlan and (icmp or (vlan and icmp)))", "icmp"},
	{"dhcp", dhcpAny + " or (vlan and (" + dhcpAny + " or (vlan and " + dhcpAny + ")))", dhcpAny},
	{"dhcp-client", dhcpReply + " or (" + oneTag + " and " + dhcpReply + ")", dhcpReply},
	{"arp-reply", "(arp and arp[6:2] = 2) or (" + oneTag + " and arp and arp[6:2] = 2)", "arp and arp[6:2] = 2"},
	{"arp-vlan", "arp or (" + oneTag + " and arp)", "arp"},
}

func lookupBuiltin(name string) (builtin, bool) {
	for _, b := range builtins {
		if b.name == name {
			return b, true
		}
	}
	return builtin{}, false
}

// FilterNames returns the names BuiltinFilter accepts, sorted.
func FilterNames() []string {
	names := make([]string, 0, len(builtins))
	for _, b := range builtins {
		names = append(names, b.name)
	}
	slices.Sort(names)
	return names
}

// BuiltinExpression returns the pcap-filter(7) expression a built-in filter
// name stands for ("" for "all"), and whether name is one.
func BuiltinExpression(name string) (string, bool) {
	b, ok := lookupBuiltin(name)
	return b.expr, ok
}

// BuiltinFilter returns the classic BPF program of a built-in filter,
// compiled from its expression (BuiltinExpression) by capture/filter. Each
// accepted frame returns AcceptLength.
//
// Two are tcpdump's own words and match exactly what tcpdump's do (no
// implicit VLAN matching: on a live socket a frame whose tag the kernel
// stripped looks untagged, as it does to tcpdump):
//
//   - "arp": EtherType 0x0806;
//   - "icmp": IPv4 protocol 1, any fragment.
//
// The others are rawlab's shorthands:
//
//   - "all": every frame;
//   - "dhcp": unfragmented IPv4 (MF clear, offset 0) UDP from or to port
//     67 or 68 (RFC 2131 §4.1), untagged, behind one tag (802.1Q, 802.1ad
//     or 0x9100) or two (QinQ: 802.1ad outer, 802.1Q inner). Live, the
//     kernel strips the outer tag and the rest still matches, so a capture
//     and a read of its file agree (for up to two tags in the frame);
//   - "dhcp-client": what a DHCP client receives (dhcpclient's receive
//     filter): ARP, or unfragmented IPv4 UDP from port 67 to port 68 or
//     67, untagged or behind one 802.1Q or 802.1ad tag;
//   - "arp-reply": ARP replies (opcode 2, RFC 826), untagged or behind one
//     802.1Q or 802.1ad tag (arpscan's receive filter);
//   - "arp-vlan": every ARP frame, untagged or behind one 802.1Q or
//     802.1ad tag (arpscan's passive receive filter);
//   - "icmp-vlan": tcpdump's "icmp" untagged or behind one or two tags,
//     the same live and offline as "dhcp" (for a sender waiting for
//     replies on stacked VLANs, whose outer tag the kernel strips).
//
// The programs use no ancillary loads, so they run in filter.VM and in
// golang.org/x/net/bpf's VM as in the kernel.
func BuiltinFilter(name string) ([]bpf.RawInstruction, error) {
	prog, ok := builtinPrograms[name]
	if _, known := lookupBuiltin(name); !ok || !known {
		q := strconv.Quote(name)
		if len(name) > 40 {
			q = strconv.Quote(strings.ToValidUTF8(name[:40], "")) + "…"
		}
		return nil, fmt.Errorf("capture: unknown filter %s (want one of %s)", q, strings.Join(FilterNames(), ", "))
	}
	return slices.Clone(prog), nil
}

// FilterConfig says what CompileFilter compiles for.
type FilterConfig struct {
	// SnapLen is what an accepted frame returns: 0 means AcceptLength;
	// at most MaxSnapLen.
	SnapLen int
	// Live asks for code for a packet socket, where the kernel strips the
	// outer VLAN tag (filter.Options.KernelVLAN). Built-in filters are
	// the same program live and offline.
	Live bool
	// LinkType is the file's link type for offline use: 0 or
	// filter.LinkTypeEthernet, or filter.LinkTypeLinuxSLL; any other is
	// refused with *filter.UnsupportedLinkTypeError.
	LinkType uint32
}

// CompileFilter turns what a user gives as a filter into a program: "" (no
// filter: nil), a built-in name (BuiltinFilter; on a Linux cooked capture
// its untagged part), or a pcap-filter(7) expression compiled by
// capture/filter. Run the result offline with filter.NewVM and
// VM.Run(data, filter.Aux{Len: wireLength}), so that "len", "less" and
// "greater" see the record's original length.
func CompileFilter(expr string, cfg FilterConfig) ([]bpf.Instruction, error) {
	if cfg.SnapLen < 0 || cfg.SnapLen > MaxSnapLen {
		return nil, fmt.Errorf("capture: snap length %d out of range: 0 to %d", cfg.SnapLen, MaxSnapLen)
	}
	snaplen := uint32(AcceptLength)
	if cfg.SnapLen > 0 {
		snaplen = uint32(cfg.SnapLen)
	}
	opt := filter.Options{SnapLen: snaplen, KernelVLAN: cfg.Live, LinkType: cfg.LinkType}
	if opt.LinkType == filter.LinkTypeLinuxSLL {
		opt.KernelVLAN = false
	}
	expr = strings.TrimSpace(expr)
	if expr == "" {
		if opt.LinkType != 0 && opt.LinkType != filter.LinkTypeEthernet && opt.LinkType != filter.LinkTypeLinuxSLL {
			return nil, &filter.UnsupportedLinkTypeError{LinkType: opt.LinkType}
		}
		return nil, nil
	}
	if b, ok := lookupBuiltin(expr); ok {
		if opt.LinkType == filter.LinkTypeLinuxSLL {
			opt.KernelVLAN = false
			return filter.Compile(b.sll, opt)
		}
		raw, err := BuiltinFilter(expr)
		if err != nil {
			return nil, err
		}
		prog, ok := bpf.Disassemble(ApplySnapLen(raw, int(snaplen)))
		if !ok {
			return nil, fmt.Errorf("capture: built-in filter %q does not disassemble", expr)
		}
		return prog, nil
	}
	return filter.Compile(expr, opt)
}

// ApplySnapLen returns a copy of prog in which every constant return larger
// than snaplen returns snaplen, so the kernel copies at most snaplen bytes
// of a frame (as libpcap compiles its filters). A nil or empty prog becomes
// a single "ret #snaplen". snaplen <= 0 returns prog unchanged; a snaplen
// beyond 32 bits is taken as the largest 32-bit value, not wrapped.
func ApplySnapLen(prog []bpf.RawInstruction, snaplen int) []bpf.RawInstruction {
	if snaplen <= 0 {
		return prog
	}
	k := uint32(min(uint64(snaplen), math.MaxUint32))
	const retK = 0x06 // BPF_RET | BPF_K
	if len(prog) == 0 {
		return []bpf.RawInstruction{{Op: retK, K: k}}
	}
	out := make([]bpf.RawInstruction, len(prog))
	copy(out, prog)
	for i := range out {
		if out[i].Op == retK && out[i].K > k {
			out[i].K = k
		}
	}
	return out
}
