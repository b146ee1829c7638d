package craft

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestSummaryAgainstTcpdump writes frames built here to a pcap file, lets
// tcpdump -e -n read it, and compares each line with Summary.String for the
// formats Summarize copies from tcpdump: 802.1Q tags, ARP, ICMP echo, UDP,
// TCP without options. It covers what the lab captures lack (no 8021q
// module there): tagged frames with priority and DEI, probes, TCP.
func TestSummaryAgainstTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed")
	}
	mac, peer := mustMAC(t, "02:00:5e:00:00:01"), mustMAC(t, "02:00:5e:00:00:02")
	ip1, ip2 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	seg := unhexString(t, "0016c350"+"000003e8"+"000007d0"+"5018"+"fa00"+"0000"+"0000"+"616263")
	c := ^fold(sum(pseudoHeaderSum(ip1, ip2, ProtocolTCP, len(seg)), seg))
	seg[16], seg[17] = byte(c>>8), byte(c)
	tcp := AppendEthernet(nil, Ethernet{Dst: peer, Src: mac, VLAN: &VLAN{ID: 7}, EtherType: EtherTypeIPv4})
	tcp = AppendIPv4(tcp, IPv4{TTL: 64, DontFragment: true, Protocol: ProtocolTCP, Src: ip1, Dst: ip2}, len(seg))
	tcp = append(tcp, seg...)

	// 802.1ad: service tag 100 (PCP 5) over customer tag 10 (PCP 1), and
	// two stacked 802.1Q tags.
	arp := AppendARPPacket(nil, NewARPRequest(mac, ip1, ip2))
	qinq := append(unhexString(t, "ffffffffffff02005e000001"+"88a8a064"+"8100200a"+"0806"), arp...)
	qq := append(unhexString(t, "ffffffffffff02005e000001"+"81000064"+"8100000a"+"0806"), arp...)
	icmpInner := AppendICMPEcho(nil, Ethernet{Dst: peer, Src: mac}, IPv4{Src: ip1, Dst: ip2}, ICMPEcho{Type: 8, ID: 5, Seq: 6})
	qinqICMP := append(append(append([]byte(nil), icmpInner[:12]...), unhexString(t, "88a80064"+"81000fff")...), icmpInner[12:]...)

	// ICMP destination unreachable quoting the datagram it refers to.
	quoted := AppendUDP(nil, Ethernet{}, IPv4{ID: 3, Src: ip1, Dst: ip2}, UDP{SrcPort: 40000, DstPort: 9}, []byte("x"))[14:]
	quoted = quoted[:IPv4HeaderLen+8]
	unreach := func(code uint8) []byte {
		msg := append([]byte{3, code, 0, 0, 0, 0, 0, 0}, quoted...)
		c := Checksum(msg)
		msg[2], msg[3] = byte(c>>8), byte(c)
		f := AppendEthernet(nil, Ethernet{Dst: mac, Src: peer, EtherType: EtherTypeIPv4})
		f = AppendIPv4(f, IPv4{TTL: 64, Protocol: ProtocolICMP, Src: ip2, Dst: ip1}, len(msg))
		return append(f, msg...)
	}

	frames := [][]byte{
		qinq, qq, qinqICMP, unreach(0), unreach(1), unreach(2), unreach(3),
		AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac, VLAN: &VLAN{ID: 10}}, NewARPRequest(mac, ip1, ip2)),
		AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac, VLAN: &VLAN{ID: 4094, Priority: 6, DEI: true}}, NewARPProbe(mac, ip2)),
		AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac}, NewGratuitousARP(mac, ip1)),
		AppendARP(nil, Ethernet{Dst: mac, Src: peer, VLAN: &VLAN{ID: 1}}, NewARPReply(peer, ip2, mac, ip1)),
		AppendICMPEcho(nil, Ethernet{Dst: peer, Src: mac, VLAN: &VLAN{ID: 100, Priority: 5}}, IPv4{Src: ip1, Dst: ip2},
			ICMPEcho{Type: ICMPEchoRequest, ID: 4660, Seq: 9, Data: []byte("0123456789abcdef")}),
		AppendICMPEcho(nil, Ethernet{Dst: mac, Src: peer}, IPv4{Src: ip2, Dst: ip1}, ICMPEcho{Type: ICMPEchoReply, ID: 1, Seq: 65535}),
		AppendUDP(nil, Ethernet{Dst: peer, Src: mac, VLAN: &VLAN{ID: 20}}, IPv4{Src: ip1, Dst: ip2}, UDP{SrcPort: 40000, DstPort: 9}, []byte("discard")),
		tcp,
	}
	path := filepath.Join(t.TempDir(), "frames.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// -t: no timestamps; -Z root keeps tcpdump from switching to a user that
	// cannot read the test's temporary directory when run as root.
	args := []string{"-t", "-e", "-n", "-r", path}
	if os.Geteuid() == 0 {
		args = append([]string{"-Z", "root"}, args...)
	}
	out, err := exec.Command(tcpdump, args...).Output()
	if err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(frames) {
		t.Fatalf("tcpdump printed %d lines for %d frames:\n%s", len(lines), len(frames), out)
	}
	for i, fr := range frames {
		got := Summarize(fr).String()
		// Summarize adds the undecoded payload in hex; tcpdump without -X does not.
		if h := strings.Index(got, ", hex "); h >= 0 {
			got = got[:h]
		}
		if diff := cmp.Diff(lines[i], got); diff != "" {
			t.Errorf("frame %d (-tcpdump +Summarize):\n%s", i, diff)
		}
	}
}
