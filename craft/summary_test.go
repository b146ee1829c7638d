package craft

import (
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarizeString(t *testing.T) {
	mac := mustMAC(t, "02:00:5e:00:00:01")
	peer := mustMAC(t, "02:00:5e:00:00:02")
	ip1, ip2 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	eth := Ethernet{Dst: peer, Src: mac}
	ipHdr := IPv4{Src: ip1, Dst: ip2}
	udp := AppendUDP(nil, eth, ipHdr, UDP{SrcPort: 5000, DstPort: 6000}, []byte("hi"))
	badIP := append([]byte(nil), udp...)
	badIP[24] ^= 0xff // IPv4 header checksum
	badUDP := append([]byte(nil), udp...)
	badUDP[40] ^= 0xff // UDP checksum
	frag := AppendEthernet(nil, Ethernet{Dst: peer, Src: mac, EtherType: EtherTypeIPv4})
	frag = AppendIPv4(frag, IPv4{ID: 5, FragOffset: 185, TTL: 64, Protocol: ProtocolUDP, Src: ip1, Dst: ip2}, 8)
	frag = append(frag, 1, 2, 3, 4, 5, 6, 7, 8)
	unreach := AppendEthernet(nil, Ethernet{Dst: peer, Src: mac, EtherType: EtherTypeIPv4})
	unreach = AppendIPv4(unreach, IPv4{TTL: 64, Protocol: ProtocolICMP, Src: ip2, Dst: ip1}, 8)
	msg := []byte{3, 3, 0, 0, 0, 0, 0, 0}
	msg[2], msg[3] = byte(Checksum(msg)>>8), byte(Checksum(msg))
	unreach = append(unreach, msg...)
	ipv6 := AppendEthernet(nil, Ethernet{Dst: peer, Src: mac, EtherType: EtherTypeIPv6})
	ipv6 = append(ipv6, unhexString(t, "6000000000083a40"+"fe800000000000000000000000000001"+"ff020000000000000000000000000001"+"8000000000000000")...)

	// A TCP SYN-ACK with 3 bytes of data and a correct checksum.
	seg := unhexString(t, "0016c350"+"000003e8"+"000007d0"+"5012"+"fa00"+"0000"+"0000"+"616263")
	c := ^fold(sum(pseudoHeaderSum(ip1, ip2, ProtocolTCP, len(seg)), seg))
	seg[16], seg[17] = byte(c>>8), byte(c)
	tcp := AppendEthernet(nil, Ethernet{Dst: peer, Src: mac, EtherType: EtherTypeIPv4})
	tcp = AppendIPv4(tcp, IPv4{TTL: 64, Protocol: ProtocolTCP, Src: ip1, Dst: ip2}, len(seg))
	tcp = append(tcp, seg...)
	badTCP := append([]byte(nil), tcp...)
	badTCP[len(badTCP)-1] ^= 1

	head := "02:00:5e:00:00:01 > 02:00:5e:00:00:02, "
	tests := []struct {
		name  string
		frame []byte
		want  string
		proto string
	}{
		{"arp request tagged", AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac, VLAN: &VLAN{ID: 10, Priority: 3}}, NewARPRequest(mac, ip1, ip2)),
			"02:00:5e:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype 802.1Q (0x8100), length 60: vlan 10, p 3, ethertype ARP (0x0806), Request who-has 198.18.0.2 tell 198.18.0.1, length 42", "arp"},
		{"arp reply dei", AppendARP(nil, Ethernet{Dst: peer, Src: mac, VLAN: &VLAN{ID: 4, DEI: true}}, NewARPReply(mac, ip1, peer, ip2)),
			head + "ethertype 802.1Q (0x8100), length 60: vlan 4, p 0, DEI, ethertype ARP (0x0806), Reply 198.18.0.1 is-at 02:00:5e:00:00:01, length 42", "arp"},
		{"udp", udp, head + "ethertype IPv4 (0x0800), length 60: 198.18.0.1.5000 > 198.18.0.2.6000: UDP, length 2, hex 6869", "udp"},
		{"bad ip checksum", badIP, head + "ethertype IPv4 (0x0800), length 60: 198.18.0.1.5000 > 198.18.0.2.6000: UDP, length 2, bad ip cksum, hex 6869", "udp"},
		{"bad udp checksum", badUDP, head + "ethertype IPv4 (0x0800), length 60: 198.18.0.1.5000 > 198.18.0.2.6000: UDP, length 2, bad udp cksum, hex 6869", "udp"},
		{"echo", AppendICMPEcho(nil, eth, ipHdr, ICMPEcho{Type: 8, ID: 42, Seq: 7}),
			head + "ethertype IPv4 (0x0800), length 60: 198.18.0.1 > 198.18.0.2: ICMP echo request, id 42, seq 7, length 8", "icmp"},
		{"port unreachable", unreach, head + "ethertype IPv4 (0x0800), length 42: 198.18.0.2 > 198.18.0.1: ICMP port unreachable, length 8, hex 00000000", "icmp"},
		{"fragment", frag, head + "ethertype IPv4 (0x0800), length 42: 198.18.0.1 > 198.18.0.2: ip-proto-17, hex 0102030405060708", "ipv4"},
		{"ipv6", ipv6, head + "ethertype IPv6 (0x86dd), length 62: fe80::1 > ff02::1: ip6-next-header-58, payload length 8, hex 8000000000000000", "ipv6"},
		{"not dhcp on dhcp ports", AppendUDP(nil, eth, ipHdr, UDP{SrcPort: 68, DstPort: 67}, []byte("hello")),
			head + "ethertype IPv4 (0x0800), length 60: 198.18.0.1.68 > 198.18.0.2.67: BOOTP/DHCP, length 5, hex 68656c6c6f [truncated: dhcp: message of 5 bytes, want at least 240: unexpected EOF]", "udp"},
		{"tcp", tcp, head + "ethertype IPv4 (0x0800), length 57: 198.18.0.1.22 > 198.18.0.2.50000: Flags [S.], seq 1000:1003, ack 2000, win 64000, length 3, hex 616263", "tcp"},
		{"tcp bad checksum", badTCP, head + "ethertype IPv4 (0x0800), length 57: 198.18.0.1.22 > 198.18.0.2.50000: Flags [S.], seq 1000:1003, ack 2000, win 64000, length 3, bad tcp cksum, hex 616262", "tcp"},
		{"unknown ethertype", append(AppendEthernet(nil, Ethernet{Dst: peer, Src: mac, EtherType: 0x88b5}), 0xde, 0xad),
			head + "ethertype Unknown (0x88b5), length 16: hex dead", "ethernet"},
		{"802.3 length", append(AppendEthernet(nil, Ethernet{Dst: peer, Src: mac, EtherType: 3}), 0xaa, 0xaa, 0x03),
			head + "802.3, length 17: hex aaaa03", "ethernet"},
		{"qinq truncated inner tag", unhexString(t, "02005e00000202005e000001"+"88a80064"+"8100"),
			head + "ethertype 802.1Q-QinQ (0x88a8), length 18: vlan 100, p 0, ethertype 802.1Q (0x8100) [truncated: 802.1q: unexpected EOF]", "ethernet"},
		{"truncated ethernet", []byte{1, 2, 3}, "length 3: truncated Ethernet frame, hex 010203 [truncated: ethernet: unexpected EOF]", ""},
		{"truncated tag", AppendEthernet(nil, Ethernet{Dst: peer, Src: mac, VLAN: &VLAN{ID: 1}})[:16],
			head + "ethertype 802.1Q (0x8100), length 16: hex 0001 [truncated: 802.1q: unexpected EOF]", "ethernet"},
		{"truncated arp", AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac}, NewARPRequest(mac, ip1, ip2))[:30],
			"02:00:5e:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 30: ARP, hex 000108000604000102005e000001c612 [truncated: arp: unexpected EOF]", "ethernet"},
		{"truncated ipv4", udp[:30], head + "ethertype IPv4 (0x0800), length 30: IPv4, hex 4500001e000000004011eea7c6120001 [truncated: ipv4: unexpected EOF]", "ethernet"},
		{"truncated udp", func() []byte {
			f := AppendEthernet(nil, Ethernet{Dst: peer, Src: mac, EtherType: EtherTypeIPv4})
			f = AppendIPv4(f, IPv4{TTL: 64, Protocol: ProtocolUDP, Src: ip1, Dst: ip2}, 4)
			return append(f, 0, 1, 0, 2)
		}(), head + "ethertype IPv4 (0x0800), length 38: 198.18.0.1 > 198.18.0.2: UDP, length 4, hex 00010002 [truncated: udp: unexpected EOF]", "ipv4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.frame)
			if diff := cmp.Diff(tt.want, s.String()); diff != "" {
				t.Errorf("String (-want +got):\n%s", diff)
			}
			if s.Proto != tt.proto || s.Len != len(tt.frame) {
				t.Errorf("Proto %q Length %d, want %q %d", s.Proto, s.Len, tt.proto, len(tt.frame))
			}
			if strings.Contains(s.String(), "\n") {
				t.Error("String is not one line")
			}
		})
	}
}

func TestSummarizeLongHex(t *testing.T) {
	f := append(AppendEthernet(nil, Ethernet{Dst: Broadcast, Src: Broadcast, EtherType: 0x9000}), make([]byte, 100)...)
	s := Summarize(f)
	if len(s.Hex) != 200 {
		t.Errorf("Hex holds %d digits, want all 200", len(s.Hex))
	}
	if !strings.HasSuffix(s.String(), strings.Repeat("0", 2*maxHexInLine)+"...") {
		t.Errorf("String does not cut the hex at %d bytes: %s", maxHexInLine, s)
	}
}

func TestSummarizeDHCPGolden(t *testing.T) {
	frames := readPcap(t, "dhcp.pcap")
	want := []string{
		"02:00:5e:00:01:02 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 342: 0.0.0.0.68 > 255.255.255.255.67: DHCP Discover, xid %s, chaddr 02:00:5e:00:01:02, hostname \"rawlab\", length 300",
		"02:00:5e:00:01:01 > 02:00:5e:00:01:02, ethertype IPv4 (0x0800), length 342: 198.18.1.1.67 > 198.18.1.100.68: DHCP Offer, xid %s, chaddr 02:00:5e:00:01:02, yiaddr 198.18.1.100, siaddr 198.18.1.1, server-id 198.18.1.1, lease 3600s, length 300",
		"02:00:5e:00:01:02 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 342: 0.0.0.0.68 > 255.255.255.255.67: DHCP Request, xid %s, chaddr 02:00:5e:00:01:02, server-id 198.18.1.1, requested 198.18.1.100, hostname \"rawlab\", length 300",
		"02:00:5e:00:01:01 > 02:00:5e:00:01:02, ethertype IPv4 (0x0800), length 342: 198.18.1.1.67 > 198.18.1.100.68: DHCP Ack, xid %s, chaddr 02:00:5e:00:01:02, yiaddr 198.18.1.100, siaddr 198.18.1.1, server-id 198.18.1.1, lease 3600s, hostname \"rawlab\", length 300",
	}
	for i, w := range want {
		p, err := DecodeDHCP(frames[i])
		if err != nil {
			t.Fatal(err)
		}
		w = strings.Replace(w, "%s", "0x"+hex.EncodeToString(p.Msg.TransactionID[:]), 1)
		s := Summarize(frames[i])
		if diff := cmp.Diff(w, s.String()); diff != "" {
			t.Errorf("frame %d (-want +got):\n%s", i, diff)
		}
		if s.Proto != "dhcp" || s.DHCP == nil || s.UDP == nil || s.UDP.ChecksumOK == nil || !*s.UDP.ChecksumOK || !s.IPv4.ChecksumOK {
			t.Errorf("frame %d: %+v", i, s)
		}
	}
}

func TestSummaryJSON(t *testing.T) {
	frames := readPcap(t, "dhcp.pcap")
	s := Summarize(frames[1]) // dnsmasq's Offer
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	dhcp, _ := got["dhcp"].(map[string]any)
	checks := []struct {
		path string
		got  any
		want any
	}{
		{"proto", got["proto"], "dhcp"},
		{"len", got["len"], 342.0},
		{"caplen", got["caplen"], 342.0},
		{"src_mac", got["src_mac"], "02:00:5e:00:01:01"},
		{"ethertype", got["ethertype"], "0x0800"},
		{"dhcp.msg_type", dhcp["msg_type"], "OFFER"},
		{"dhcp.yiaddr", dhcp["yiaddr"], "198.18.1.100"},
		{"dhcp.server_id", dhcp["server_id"], "198.18.1.1"},
		{"dhcp.client_mac", dhcp["client_mac"], "02:00:5e:00:01:02"},
		{"dhcp.xid", dhcp["xid"], "0xcaccfb3c"},
		{"dhcp.ciaddr (0.0.0.0 omitted)", dhcp["ciaddr"], nil},
		{"vlans (untagged, omitted)", got["vlans"], nil},
		{"hex (all decoded, omitted)", got["hex"], nil},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s\njson: %s", c.path, diff, b)
		}
	}
	// JSON round-trips into a Summary.
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, back, cmpOpts); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

func TestSummaryTags(t *testing.T) {
	mac := mustMAC(t, "02:00:5e:00:00:01")
	arp := AppendARPPacket(nil, NewARPProbe(mac, netip.MustParseAddr("198.18.0.9")))
	frame := append(unhexString(t, "ffffffffffff02005e000001"+"88a8b064"+"8100200a"+"0806"), arp...)
	s := Summarize(frame)
	want := []VLAN{
		{TPID: EtherTypeQinQ, Priority: 5, DEI: true, ID: 100},
		{TPID: EtherTypeVLAN, Priority: 1, ID: 10},
	}
	if diff := cmp.Diff(want, s.VLANs); diff != "" {
		t.Errorf("VLANs (-want +got):\n%s", diff)
	}
	if s.EtherType != EtherTypeARP || s.ARP == nil || !s.ARP.Probe {
		t.Errorf("EtherType %v, ARP %+v", s.EtherType, s.ARP)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"op":"request"`) {
		t.Errorf("JSON %s: ARP op not \"request\"", b)
	}
	const wantJSON = `"vlans":[{"id":100,"priority":5,"dei":true,"tpid":"0x88a8"},{"id":10,"priority":1,"dei":false,"tpid":"0x8100"}]`
	if !strings.Contains(string(b), wantJSON) {
		t.Errorf("JSON %s\nlacks %s", b, wantJSON)
	}
}

func TestARPOpText(t *testing.T) {
	for _, op := range []ARPOp{ARPRequest, ARPReply, 0, 9, 65535} {
		b, err := op.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back ARPOp
		if err := back.UnmarshalText(b); err != nil || back != op {
			t.Errorf("%d -> %q -> %d, %v", op, b, back, err)
		}
	}
	var o ARPOp
	if err := o.UnmarshalText([]byte("who-has")); err == nil {
		t.Error("UnmarshalText(who-has) succeeded")
	}
}
