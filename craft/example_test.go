package craft_test

import (
	"fmt"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rawlab/rawlab/craft"
)

func ExampleAppendARP() {
	mac, _ := craft.ParseMAC("02:00:5e:00:00:01")
	probe := craft.NewARPProbe(mac, netip.MustParseAddr("198.18.0.7"))
	buf := make([]byte, 0, 64) // reused across sends: no allocation
	buf = craft.AppendARP(buf[:0], craft.Ethernet{Dst: craft.Broadcast, Src: mac, VLAN: &craft.VLAN{ID: 10}}, probe)
	fmt.Println(craft.Summarize(buf))
	// Output:
	// 02:00:5e:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype 802.1Q (0x8100), length 60: vlan 10, p 0, ethertype ARP (0x0806), Request who-has 198.18.0.7 tell 0.0.0.0, length 42
}

func ExampleEncodeDHCP() {
	mac, _ := craft.ParseMAC("02:00:5e:00:01:02")
	m, _ := dhcpv4.NewDiscovery(mac, dhcpv4.WithTransactionID(dhcpv4.TransactionID{0xde, 0xad, 0xbe, 0xef}),
		dhcpv4.WithOption(dhcpv4.OptHostName("lab1")))
	frame, err := craft.EncodeDHCP(m, craft.ClientBroadcast(mac, netip.Addr{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(craft.Summarize(frame))
	// Output:
	// 02:00:5e:00:01:02 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 342: 0.0.0.0.68 > 255.255.255.255.67: DHCP Discover, xid 0xdeadbeef, chaddr 02:00:5e:00:01:02, hostname "lab1", length 300
}

func ExampleDecodePacket() {
	frame := craft.AppendICMPEcho(nil, craft.Ethernet{Dst: craft.Broadcast, Src: craft.Broadcast},
		craft.IPv4{Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.2")},
		craft.ICMPEcho{Type: craft.ICMPEchoRequest, ID: 7, Seq: 1, Data: []byte("ping")})
	var p craft.Packet // reuse it: decoding allocates nothing
	if err := craft.DecodePacket(frame, &p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Layers, p.IPv4.Src, p.IPv4.TTL, p.ICMP.ID, p.ICMP.Seq, string(p.ICMP.Data), len(p.Trailer))
	// Output:
	// IPv4|ICMPEcho 198.18.0.1 64 7 1 ping 14
}
