package craft

import (
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestMatchers(t *testing.T) {
	mac, peer := mustMAC(t, "02:00:5e:00:00:01"), mustMAC(t, "02:00:5e:00:00:02")
	ip1, ip2 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	reply := AppendARP(nil, Ethernet{Dst: mac, Src: peer, VLAN: &VLAN{ID: 5}}, NewARPReply(peer, ip2, mac, ip1))
	request := AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac}, NewARPRequest(mac, ip1, ip2))
	m := MatchARPReply(ip2.As4())
	if !m(reply) || m(request) || MatchARPReply(ip1.As4())(reply) {
		t.Error("MatchARPReply")
	}
	echo := func(typ uint8, seq uint16, data string) []byte {
		return AppendICMPEcho(nil, Ethernet{Dst: mac, Src: peer}, IPv4{Src: ip2, Dst: ip1}, ICMPEcho{Type: typ, ID: 7, Seq: seq, Data: []byte(data)})
	}
	e := MatchEchoReply(7, 65535, 3, []byte("ab")) // 65535, 0, 1
	for _, tt := range []struct {
		frame []byte
		want  bool
	}{
		{echo(0, 65535, "ab"), true}, {echo(0, 1, "ab"), true}, {echo(0, 2, "ab"), false},
		{echo(8, 0, "ab"), false}, {echo(0, 0, "ax"), false}, {reply, false},
	} {
		if got := e(tt.frame); got != tt.want {
			t.Errorf("MatchEchoReply(%s) = %v", Summarize(tt.frame), got)
		}
	}
	xid := dhcpv4.TransactionID{1, 2, 3, 4}
	offer, _ := dhcpv4.New(dhcpv4.WithTransactionID(xid), dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer), dhcpv4.WithHwAddr(mac))
	offer.OpCode = dhcpv4.OpcodeBootReply
	disc, _ := dhcpv4.New(dhcpv4.WithTransactionID(xid), dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover))
	fo, err := EncodeDHCP(offer, ServerReply(offer, peer, ip2))
	if err != nil {
		t.Fatal(err)
	}
	fd, _ := EncodeDHCP(disc, ClientBroadcast(mac, netip.Addr{}))
	if d := MatchDHCPReply(xid); !d(fo) || d(fd) || MatchDHCPReply(dhcpv4.TransactionID{9})(fo) {
		t.Error("MatchDHCPReply")
	}
	for in, want := range map[string]string{"0x0a0b": "\n\v", "0a:0b 0c-0d.0e\n": "\n\v\f\r\x0e"} {
		if got, err := ParseHex(in); err != nil || string(got) != want {
			t.Errorf("ParseHex(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0x", "abc", "zz"} {
		if _, err := ParseHex(bad); err == nil {
			t.Errorf("ParseHex(%q): no error", bad)
		}
	}
	if p := EchoPattern(300); len(p) != 300 || p[255] != 255 || p[256] != 0 {
		t.Errorf("EchoPattern: %d bytes", len(p))
	}
}
