package craft

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"net/netip"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/pcapgo"
)

// linkFrame is one record of a golden file: its bytes, its length on the
// wire and the file's link type.
type linkFrame struct {
	data []byte
	wire int
	lt   LinkType
}

func readLinkPcap(tb testing.TB, name string) []linkFrame {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	var out []linkFrame
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out = append(out, linkFrame{data: data, wire: ci.Length, lt: LinkType(r.LinkType())})
	}
}

// linkGolden are built frames (testdata/edge.py) with the lines
// `tcpdump -e -n -r` printed for them (SLL2's interface name, which
// depends on the host, removed): the edges of issue 12 items 2, 6 and 11.
var linkGolden = []string{"edge.pcap", "cut.pcap", "sll.pcap", "sll2.pcap", "raw.pcap"}

// TestSummarizeLinkMatchesTcpdump checks SummarizeLink against tcpdump for
// snap-length cuts (wire lengths from the headers), Linux cooked v1 and
// v2, raw IP, ICMP errors with their quoted headers, redirects,
// timestamps, fragments, plain BOOTP, RARP and ARP with odd types.
func TestSummarizeLinkMatchesTcpdump(t *testing.T) {
	for _, name := range linkGolden {
		frames, lines := readLinkPcap(t, name), tcpdumpLines(t, name)
		if len(frames) != len(lines) {
			t.Fatalf("%s: %d frames, %d tcpdump lines", name, len(frames), len(lines))
		}
		for i, f := range frames {
			s := SummarizeLink(f.lt, f.data, f.wire)
			if s.Len != f.wire || s.CapLen != len(f.data) {
				t.Errorf("%s frame %d: len %d caplen %d, want %d %d", name, i, s.Len, s.CapLen, f.wire, len(f.data))
			}
			got := s.String()
			if strings.Contains(lines[i], "[|") {
				// tcpdump marks a header cut short; Summary says so in Error.
				if s.Error == "" {
					t.Errorf("%s frame %d: %s: no error for a header tcpdump calls cut: %s", name, i, got, lines[i])
				}
				continue
			}
			// Summary adds the undecoded bytes in hex; tcpdump without -X does not.
			if h := strings.Index(got, ", hex "); h >= 0 {
				got = got[:h]
			}
			if diff := cmp.Diff(lines[i], got); diff != "" {
				t.Errorf("%s frame %d (-tcpdump +SummarizeLink):\n%s", name, i, diff)
			}
			if s.Error != "" {
				t.Errorf("%s frame %d: error %q", name, i, s.Error)
			}
		}
	}
}

func TestSummarizeLinkFields(t *testing.T) {
	sll := readLinkPcap(t, "sll.pcap")
	sll2 := readLinkPcap(t, "sll2.pcap")
	cut := readLinkPcap(t, "cut.pcap")
	edge := readLinkPcap(t, "edge.pcap")
	sum := func(f linkFrame) Summary { return SummarizeLink(f.lt, f.data, f.wire) }

	s := sum(cut[0])
	if s.Len != 1000 || s.CapLen != 96 || s.UDP == nil || s.UDP.Length != 958 || s.UDP.ChecksumOK != nil || s.IPv4.Length != 986 {
		t.Errorf("cut frame: %+v udp %+v", s, s.UDP)
	}
	if s := sum(cut[2]); s.UDP == nil || s.UDP.ChecksumOK == nil || !*s.UDP.ChecksumOK {
		t.Errorf("whole frame: checksum not verified: %+v", s.UDP)
	}
	want := &CookedSummary{PacketType: "outgoing", Direction: "out", HAType: 1}
	if diff := cmp.Diff(want, sum(sll[1]).Cooked); diff != "" {
		t.Errorf("SLL outgoing (-want +got):\n%s", diff)
	}
	if s := sum(sll[0]); s.Src.String() != "02:00:00:00:00:01" || s.Cooked.Direction != "in" || s.Proto != "udp" {
		t.Errorf("SLL host: %+v", s)
	}
	want = &CookedSummary{PacketType: "host", Direction: "in", HAType: 1, IfIndex: 2}
	if diff := cmp.Diff(want, sum(sll2[0]).Cooked); diff != "" {
		t.Errorf("SLL2 (-want +got):\n%s", diff)
	}
	// Frames 0-17 are destination unreachable quoting a UDP (or TCP, GRE)
	// header; 18-21 redirects; 26, 27 timestamps; 32 plain BOOTP.
	port := sum(edge[3])
	wantQ := &QuotedSummary{Src: mustAddr("198.18.0.1"), Dst: mustAddr("198.18.0.2"), Protocol: 17, ID: 1, Length: 29, SrcPort: 40000, DstPort: 9}
	if diff := cmp.Diff(wantQ, port.ICMP.Quoted, cmpOpts); diff != "" {
		t.Errorf("quoted header (-want +got):\n%s", diff)
	}
	if r := sum(edge[19]); r.ICMP.Gateway != mustAddr("198.18.0.254") || r.ICMP.Code != 1 {
		t.Errorf("redirect: %+v", r.ICMP)
	}
	if ts := sum(edge[27]); ts.ICMP.ID != 0x1234 || ts.ICMP.Seq != 7 || ts.ICMP.Transmit != 3723006 {
		t.Errorf("timestamp reply: %+v", ts.ICMP)
	}
	if mtu := sum(edge[4]); mtu.ICMP.MTU != 1400 {
		t.Errorf("need to frag: mtu %d, want 1400", mtu.ICMP.MTU)
	}
	first := sum(edge[28])
	if first.ICMP == nil || first.ICMP.ID != 5 || first.ICMP.ChecksumOK != nil || !first.IPv4.MoreFrags {
		t.Errorf("first fragment of an echo: %+v %+v", first.ICMP, first.IPv4)
	}
	b := sum(edge[32])
	if b.Proto != "bootp" || b.DHCP == nil || b.DHCP.MsgType != "" || b.DHCP.XID != "0x0000002a" || b.DHCP.ServerName != "srv\x1b[31m" {
		t.Errorf("plain BOOTP: %+v %+v", b, b.DHCP)
	}
	rarp := sum(edge[35])
	if rarp.Proto != "rarp" || rarp.ARP.Op != 4 || rarp.ARP.TargetIP != mustAddr("198.18.0.5") {
		t.Errorf("RARP reply: %+v", rarp.ARP)
	}
	odd := sum(edge[40])
	if odd.ARP == nil || odd.ARP.HType != 0x1234 || odd.ARP.HLen != 8 || odd.ARP.SenderHW != "02:00:00:00:00:01:61:62" || odd.ARP.SenderMAC != nil {
		t.Errorf("ARP htype 0x1234: %+v", odd.ARP)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestSummarizeLinkJSON(t *testing.T) {
	f := readLinkPcap(t, "sll.pcap")[0]
	b, err := json.Marshal(SummarizeLink(f.lt, f.data, f.wire))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	cooked, _ := got["cooked"].(map[string]any)
	for _, c := range []struct {
		key  string
		got  any
		want any
	}{
		{"link_type", got["link_type"], "LINUX_SLL"},
		{"len", got["len"], 1002.0},
		{"caplen", got["caplen"], 96.0},
		{"src_mac", got["src_mac"], "02:00:00:00:00:01"},
		{"cooked.direction", cooked["direction"], "in"},
		{"cooked.packet_type", cooked["packet_type"], "host"},
	} {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s\n%s", c.key, diff, b)
		}
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(SummarizeLink(f.lt, f.data, f.wire), back, cmpOpts); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestSummarizeLinkEdges(t *testing.T) {
	tests := []struct {
		name  string
		lt    LinkType
		frame []byte
		wire  int
		want  string
	}{
		{"unknown link type", 147, []byte{1, 2}, 2, "length 2: link type linktype(147) not decoded, hex 0102"},
		{"short sll", LinkLinuxSLL, []byte{0, 0, 0}, 3, "length 3: truncated linux_sll header, hex 000000 [truncated: linux_sll: unexpected EOF]"},
		{"short sll2", LinkLinuxSLL2, make([]byte, 19), 19, "length 19: truncated linux_sll2 header, hex " + strings.Repeat("00", 19) + " [truncated: linux_sll2: unexpected EOF]"},
		{"raw version 5", LinkRaw, []byte{0x50, 0}, 2, "ip: IP version 5, hex 5000 [raw ip: version 5 is not 4 or 6: malformed]"},
		{"raw empty", LinkRaw, nil, 0, "ip [truncated: raw ip: unexpected EOF]"},
		{"DLT_RAW 12 is raw", 12, unhexString(t, "4500001c000100004001"+"0000c6120001c6120002"+"0800f7fe00010000"), 28, "ip: 198.18.0.1 > 198.18.0.2: ICMP echo request, id 1, seq 0, length 8, bad ip cksum"},
		{"wire below caplen", LinkEthernet, make([]byte, 14), 3, "00:00:00:00:00:00 > 00:00:00:00:00:00, 802.3, length 14"},
		{"cut inside the ipv4 header", LinkEthernet, unhexString(t, "ffffffffffff020000000001080045000028"), 60,
			"02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 60: IPv4, hex 45000028 [truncated: ipv4: unexpected EOF]"},
		{"total beyond the wire", LinkEthernet, unhexString(t, "ffffffffffff020000000001080045000400000100004011"+"0000c6120001c6120002"), 100,
			"02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 100: IPv4, hex 45000400000100004011" + "0000c6120001c6120002 [truncated: ipv4: unexpected EOF]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := SummarizeLink(tt.lt, tt.frame, tt.wire)
			if diff := cmp.Diff(tt.want, s.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzSummarizeLink(f *testing.F) {
	for _, name := range linkGolden {
		for _, fr := range readLinkPcap(f, name) {
			f.Add(uint16(fr.lt), fr.data, uint16(fr.wire-len(fr.data)))
		}
	}
	for _, lt := range []LinkType{LinkEthernet, LinkRaw, LinkLinuxSLL, LinkLinuxSLL2, 12, 14, 228, 229, 0} {
		f.Add(uint16(lt), []byte{}, uint16(0))
	}
	f.Fuzz(func(t *testing.T, lt uint16, frame []byte, missing uint16) {
		s := SummarizeLink(LinkType(lt), frame, len(frame)+int(missing))
		if s.Len != len(frame)+int(missing) || s.CapLen != len(frame) {
			t.Fatalf("len %d caplen %d for %d+%d bytes", s.Len, s.CapLen, len(frame), missing)
		}
		if line := s.String(); strings.ContainsAny(line, "\n\r") || strings.Contains(line, "craft:") {
			t.Fatalf("not one line, or a package prefix in it: %q", line)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Summary
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
	})
}

// FuzzSummarizeRARP fuzzes the ARP/RARP decoder behind an Ethernet header,
// so that every input reaches it: types, lengths and addresses of any size.
func FuzzSummarizeRARP(f *testing.F) {
	for _, fr := range readLinkPcap(f, "edge.pcap") {
		if t := EtherType(uint16(fr.data[12])<<8 | uint16(fr.data[13])); t == EtherTypeARP || t == EtherTypeRARP {
			f.Add(fr.data[14:], t == EtherTypeRARP)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, rarp bool) {
		typ := []byte{0x08, 0x06}
		if rarp {
			typ = []byte{0x80, 0x35}
		}
		frame := append(append(unhexString(t, "ffffffffffff020000000001"), typ...), body...)
		s := Summarize(frame)
		if s.ARP != nil && len(body) < 8+2*(int(s.ARP.HLen)+int(s.ARP.PLen)) {
			t.Fatalf("decoded %+v from %d bytes", s.ARP, len(body))
		}
		checkSummary(t, s)
	})
}

// FuzzSummarizeICMP fuzzes the ICMP decoder (errors and their quoted
// header, redirects, timestamps) behind valid Ethernet and IPv4 headers,
// whole or as a first fragment.
func FuzzSummarizeICMP(f *testing.F) {
	for _, fr := range readLinkPcap(f, "edge.pcap") {
		if len(fr.data) > 34 && fr.data[23] == ProtocolICMP {
			f.Add(fr.data[34:], false)
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte, first bool) {
		if len(msg) > 1400 {
			return
		}
		ip := IPv4{TTL: 64, Protocol: ProtocolICMP, MoreFragments: first, Src: mustAddr("198.18.0.1"), Dst: mustAddr("198.18.0.2")}
		frame := AppendIPv4(AppendEthernet(nil, Ethernet{Dst: Broadcast, Src: Broadcast, EtherType: EtherTypeIPv4}), ip, len(msg))
		s := Summarize(append(frame, msg...))
		if len(msg) >= 4 && (s.ICMP == nil || s.ICMP.Length != len(msg) || (s.ICMP.ChecksumOK == nil) != first) {
			t.Fatalf("ICMP %+v for a %d-byte message (first fragment %v)", s.ICMP, len(msg), first)
		}
		checkSummary(t, s)
	})
}

// checkSummary checks what holds for every Summary: one line without a
// package prefix, JSON that decodes back.
func checkSummary(t *testing.T, s Summary) {
	t.Helper()
	if line := s.String(); strings.ContainsAny(line, "\n\r") || strings.Contains(line, "craft:") {
		t.Fatalf("not one line, or a package prefix in it: %q", line)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}
