package craft

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// The golden files under testdata/ were captured by testdata/capture.sh in
// network namespaces: a Linux kernel answering ARP and ICMP echo; dnsmasq
// and Kea serving busybox udhcpc; ISC dhcpd serving ISC dhclient. Each .pcap sits next to the `tcpdump -X -e -n -r`
// text it gives.
var goldenFiles = []string{"arp.pcap", "icmp.pcap", "dhcp.pcap", "dhcp-broadcast.pcap", "dhcp-isc.pcap", "dhcp-kea.pcap"}

// readPcap returns the frames of testdata/name.
func readPcap(tb testing.TB, name string) [][]byte {
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
	var frames [][]byte
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		if ci.CaptureLength != ci.Length {
			tb.Fatalf("%s: frame %d truncated by the capture", name, len(frames))
		}
		frames = append(frames, data)
	}
	if len(frames) == 0 {
		tb.Fatalf("%s: no frames", name)
	}
	return frames
}

// tcpdumpLines returns the header lines of testdata/name (the .txt next to a
// .pcap) without their timestamps.
func tcpdumpLines(tb testing.TB, name string) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", strings.TrimSuffix(name, ".pcap")+".txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	ts := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{6} `)
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if ts.MatchString(sc.Text()) {
			lines = append(lines, ts.ReplaceAllString(sc.Text(), ""))
		}
	}
	return lines
}

// cmpOpts compares decoded values: netip.Addr by value, empty and nil
// slices alike.
var cmpOpts = cmp.Options{cmpopts.EquateComparable(netip.Addr{}), cmpopts.EquateEmpty()}

func TestGoldenPacketRoundTrip(t *testing.T) {
	for _, name := range goldenFiles {
		for i, frame := range readPcap(t, name) {
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) {
				var p Packet
				if err := DecodePacket(frame, &p); err != nil {
					t.Fatalf("DecodePacket: %v", err)
				}
				got := AppendPacket(nil, &p)
				if diff := cmp.Diff(frame, got); diff != "" {
					t.Errorf("AppendPacket(DecodePacket(x)) != x (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestGoldenLayers(t *testing.T) {
	arp := readPcap(t, "arp.pcap")
	kernel := mustMAC(t, "02:00:5e:00:00:02")
	us := mustMAC(t, "02:00:5e:00:00:01")
	ip1, ip2 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	wantARP := []ARP{
		{Op: ARPRequest, SenderMAC: us, SenderIP: ip1, TargetMAC: make(net.HardwareAddr, 6), TargetIP: ip2},
		{Op: ARPReply, SenderMAC: kernel, SenderIP: ip2, TargetMAC: us, TargetIP: ip1},
		{Op: ARPRequest, SenderMAC: us, SenderIP: netip.IPv4Unspecified(), TargetMAC: Broadcast, TargetIP: ip2},
		{Op: ARPReply, SenderMAC: kernel, SenderIP: ip2, TargetMAC: us, TargetIP: netip.IPv4Unspecified()},
		{Op: ARPRequest, SenderMAC: us, SenderIP: ip1, TargetMAC: Broadcast, TargetIP: ip1},
	}
	if len(arp) != len(wantARP) {
		t.Fatalf("arp.pcap has %d frames, want %d", len(arp), len(wantARP))
	}
	for i, frame := range arp {
		var eth Ethernet
		payload, err := DecodeEthernet(frame, &eth)
		if err != nil {
			t.Fatal(err)
		}
		if eth.EtherType != EtherTypeARP || eth.VLAN != nil {
			t.Errorf("frame %d: EtherType %v VLAN %v, want ARP untagged", i, eth.EtherType, eth.VLAN)
		}
		var a ARP
		if err := DecodeARP(payload, &a); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantARP[i], a, cmpOpts); diff != "" {
			t.Errorf("frame %d (-want +got):\n%s", i, diff)
		}
		// The contract builder makes the kernel's frame, padded to 60 bytes.
		built := AppendARP(nil, eth, a)
		want := append(append([]byte(nil), frame...), make([]byte, MinFrameLen-len(frame))...)
		if diff := cmp.Diff(want, built); diff != "" {
			t.Errorf("frame %d: AppendARP (-kernel +craft):\n%s", i, diff)
		}
	}
	var a2 ARP
	DecodeARP(arp[2][14:], &a2)
	var a4 ARP
	DecodeARP(arp[4][14:], &a4)
	if !a2.IsProbe() || a2.IsGratuitous() || !a4.IsGratuitous() || a4.IsProbe() {
		t.Errorf("arping -D is probe %v (want true), arping -U is gratuitous %v (want true)", a2.IsProbe(), a4.IsGratuitous())
	}

	icmp := readPcap(t, "icmp.pcap")
	for i, want := range []struct {
		typ      uint8
		src, dst netip.Addr
	}{{ICMPEchoRequest, ip1, ip2}, {ICMPEchoReply, ip2, ip1}} {
		var p Packet
		if err := DecodePacket(icmp[i], &p); err != nil {
			t.Fatal(err)
		}
		if p.Layers != LayerIPv4|LayerICMPEcho {
			t.Fatalf("frame %d: layers %v", i, p.Layers)
		}
		if p.ICMP.Type != want.typ || p.IPv4.Src != want.src || p.IPv4.Dst != want.dst || p.IPv4.TTL != 64 {
			t.Errorf("frame %d: type %d %s > %s ttl %d, want type %d %s > %s ttl 64", i,
				p.ICMP.Type, p.IPv4.Src, p.IPv4.Dst, p.IPv4.TTL, want.typ, want.src, want.dst)
		}
		// ping -s 40 -p 7261776c6162: 8 bytes of timestamp, then the pattern.
		if len(p.ICMP.Data) != 40 || !strings.Contains(string(p.ICMP.Data), "rawlab") {
			t.Errorf("frame %d: data %q, want 40 bytes with the ping pattern", i, p.ICMP.Data)
		}
		// The contract builder makes the kernel's frame byte for byte.
		if diff := cmp.Diff(icmp[i], AppendICMPEcho(nil, p.Eth, p.IPv4, p.ICMP)); diff != "" {
			t.Errorf("frame %d: AppendICMPEcho (-kernel +craft):\n%s", i, diff)
		}
		l3 := icmp[i][EthernetHeaderLen:]
		if !IPv4ChecksumOK(l3) || Checksum(l3[20:]) != 0 {
			t.Errorf("frame %d: checksums of the kernel's frame do not verify", i)
		}
	}
	// The reply echoes the request's identifier, sequence and data.
	var req, rep Packet
	DecodePacket(icmp[0], &req)
	DecodePacket(icmp[1], &rep)
	if req.ICMP.ID != rep.ICMP.ID || req.ICMP.Seq != rep.ICMP.Seq || string(req.ICMP.Data) != string(rep.ICMP.Data) {
		t.Errorf("reply %+v does not echo request %+v", rep.ICMP, req.ICMP)
	}
}

// TestGoldenSummaryMatchesTcpdump checks Summarize against the lines
// `tcpdump -e -n` printed for the same ARP and ICMP frames.
func TestGoldenSummaryMatchesTcpdump(t *testing.T) {
	for _, name := range []string{"arp.pcap", "icmp.pcap"} {
		frames, lines := readPcap(t, name), tcpdumpLines(t, name)
		if len(frames) != len(lines) {
			t.Fatalf("%s: %d frames, %d tcpdump lines", name, len(frames), len(lines))
		}
		for i, frame := range frames {
			if diff := cmp.Diff(lines[i], Summarize(frame).String()); diff != "" {
				t.Errorf("%s frame %d (-tcpdump +Summarize):\n%s", name, i, diff)
			}
		}
	}
}

func TestGoldenDHCP(t *testing.T) {
	dora := []dhcpv4.MessageType{dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeOffer,
		dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeAck}
	tests := []struct {
		file             string
		client, server   string
		serverIP, leased string
		types            []dhcpv4.MessageType
	}{
		// dnsmasq and busybox udhcpc: unicast replies, then a renewal and a release.
		{"dhcp.pcap", "02:00:5e:00:01:02", "02:00:5e:00:01:01", "198.18.1.1", "198.18.1.100",
			append(dora, dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeRelease)},
		// dnsmasq and udhcpc -B: broadcast replies.
		{"dhcp-broadcast.pcap", "02:00:5e:00:01:02", "02:00:5e:00:01:01", "198.18.1.1", "198.18.1.100", dora},
		// ISC dhcpd and ISC dhclient: TOS 0x10, TTL 128, other option orders.
		{"dhcp-isc.pcap", "02:00:5e:00:02:02", "02:00:5e:00:02:01", "198.18.2.1", "198.18.2.100", dora},
		// Kea 2.2 and udhcpc: DF set, messages not padded to 300 bytes.
		{"dhcp-kea.pcap", "02:00:5e:00:03:02", "02:00:5e:00:03:01", "198.18.3.1", "198.18.3.100", dora},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			client, server := mustMAC(t, tt.client), mustMAC(t, tt.server)
			serverIP, leased := netip.MustParseAddr(tt.serverIP), netip.MustParseAddr(tt.leased)
			frames := readPcap(t, tt.file)
			if len(frames) != len(tt.types) {
				t.Fatalf("%d frames, want %d", len(frames), len(tt.types))
			}
			var xid dhcpv4.TransactionID
			for i, frame := range frames {
				p, err := DecodeDHCP(frame)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				// encode(decode(x)) == x, byte for byte.
				got, err := AppendDHCPPacket(nil, p)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(frame, got); diff != "" {
					t.Errorf("frame %d: AppendDHCPPacket(DecodeDHCP(x)) != x (-want +got):\n%s", i, diff)
				}
				if string(p.Raw) != string(frame[42:]) {
					t.Errorf("frame %d: Raw is not the UDP payload", i)
				}
				m := p.Msg
				if m.MessageType() != tt.types[i] {
					t.Errorf("frame %d: type %v, want %v", i, m.MessageType(), tt.types[i])
				}
				if i == 0 {
					xid = m.TransactionID
				}
				if m.MessageType() != dhcpv4.MessageTypeRelease && m.TransactionID != xid {
					t.Errorf("frame %d: xid %v, want %v", i, m.TransactionID, xid)
				}
				if m.ClientHWAddr.String() != client.String() {
					t.Errorf("frame %d: chaddr %v, want %v", i, m.ClientHWAddr, client)
				}
				if m.OpCode == dhcpv4.OpcodeBootReply {
					if !m.YourIPAddr.Equal(leased.AsSlice()) || !m.ServerIdentifier().Equal(serverIP.AsSlice()) {
						t.Errorf("frame %d: yiaddr %v server-id %v, want %v %v", i, m.YourIPAddr, m.ServerIdentifier(), leased, serverIP)
					}
					checkServerReply(t, i, p, server, serverIP)
				} else {
					checkClientForm(t, i, p, client, server, serverIP)
				}
				// Every checksum the peers computed verifies.
				l3 := frame[EthernetHeaderLen:]
				if !IPv4ChecksumOK(l3) || !UDPChecksumOK(p.IP.Src, p.IP.Dst, l3[20:]) {
					t.Errorf("frame %d: checksums do not verify", i)
				}
			}
		})
	}
}

// checkServerReply checks that ServerReply, RFC 2131 §4.1, chooses the
// addressing dnsmasq used for its reply.
func checkServerReply(t *testing.T, i int, p *DHCPPacket, server net.HardwareAddr, serverIP netip.Addr) {
	t.Helper()
	a := ServerReply(p.Msg, server, serverIP)
	got := DHCPAddressing{SrcMAC: p.Eth.Src, DstMAC: p.Eth.Dst, SrcIP: p.IP.Src, DstIP: p.IP.Dst,
		SrcPort: p.UDP.SrcPort, DstPort: p.UDP.DstPort}
	if diff := cmp.Diff(a, got, cmpOpts); diff != "" {
		t.Errorf("frame %d: dnsmasq's addressing differs from ServerReply (-ServerReply +dnsmasq):\n%s", i, diff)
	}
}

// checkClientForm checks udhcpc's frames against ClientBroadcast (no lease
// yet) and ClientUnicast (renewing, releasing).
func checkClientForm(t *testing.T, i int, p *DHCPPacket, client, server net.HardwareAddr, serverIP netip.Addr) {
	t.Helper()
	var want DHCPAddressing
	if ci := addrFromIP(p.Msg.ClientIPAddr); ci.IsValid() && !ci.IsUnspecified() {
		want = ClientUnicast(client, ci, server, serverIP)
	} else {
		want = ClientBroadcast(client, netip.Addr{})
	}
	got := DHCPAddressing{SrcMAC: p.Eth.Src, DstMAC: p.Eth.Dst, SrcIP: p.IP.Src, DstIP: p.IP.Dst,
		SrcPort: p.UDP.SrcPort, DstPort: p.UDP.DstPort}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("frame %d: udhcpc's addressing differs from RFC 2131 §4.1 (-want +got):\n%s", i, diff)
	}
}

func mustMAC(tb testing.TB, s string) net.HardwareAddr {
	tb.Helper()
	m, err := ParseMAC(s)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
