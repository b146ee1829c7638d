package craft

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

var (
	clientMAC = net.HardwareAddr{0x02, 0, 0x5e, 0, 0x01, 0x02}
	serverMAC = net.HardwareAddr{0x02, 0, 0x5e, 0, 0x01, 0x01}
	serverIP  = netip.MustParseAddr("198.18.1.1")
	leaseIP   = netip.MustParseAddr("198.18.1.100")
	relayIP   = netip.MustParseAddr("198.18.2.1")
)

// reply builds a server reply with the given fields.
func reply(t *testing.T, typ dhcpv4.MessageType, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithReply(&dhcpv4.DHCPv4{OpCode: dhcpv4.OpcodeBootRequest,
		ClientHWAddr: clientMAC, HWType: 1}), dhcpv4.WithMessageType(typ), dhcpv4.WithYourIP(leaseIP.AsSlice())}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRFC2131Section41 checks the framing rules of RFC 2131 §4.1 for each
// kind of message.
func TestRFC2131Section41(t *testing.T) {
	ciaddr := netip.MustParseAddr("198.18.1.100")
	tests := []struct {
		name string
		got  DHCPAddressing
		want DHCPAddressing
	}{
		{"client INIT broadcast", ClientBroadcast(clientMAC, netip.Addr{}),
			DHCPAddressing{SrcMAC: clientMAC, DstMAC: Broadcast, SrcIP: netip.IPv4Unspecified(), DstIP: ipv4Broadcast, SrcPort: 68, DstPort: 67}},
		{"client REBINDING broadcast from ciaddr", ClientBroadcast(clientMAC, ciaddr),
			DHCPAddressing{SrcMAC: clientMAC, DstMAC: Broadcast, SrcIP: ciaddr, DstIP: ipv4Broadcast, SrcPort: 68, DstPort: 67}},
		{"client RENEWING unicast", ClientUnicast(clientMAC, ciaddr, serverMAC, serverIP),
			DHCPAddressing{SrcMAC: clientMAC, DstMAC: serverMAC, SrcIP: ciaddr, DstIP: serverIP, SrcPort: 68, DstPort: 67}},
		{"server reply, giaddr set: to the relay, port 67",
			ServerReply(reply(t, dhcpv4.MessageTypeOffer, dhcpv4.WithGatewayIP(relayIP.AsSlice())), serverMAC, serverIP),
			DHCPAddressing{SrcMAC: serverMAC, SrcIP: serverIP, DstIP: relayIP, SrcPort: 67, DstPort: 67}},
		{"server NAK, giaddr zero: broadcast even with ciaddr",
			ServerReply(reply(t, dhcpv4.MessageTypeNak, dhcpv4.WithClientIP(ciaddr.AsSlice())), serverMAC, serverIP),
			DHCPAddressing{SrcMAC: serverMAC, DstMAC: Broadcast, SrcIP: serverIP, DstIP: ipv4Broadcast, SrcPort: 67, DstPort: 68}},
		{"server reply, ciaddr set: unicast to ciaddr",
			ServerReply(reply(t, dhcpv4.MessageTypeAck, dhcpv4.WithClientIP(ciaddr.AsSlice()), dhcpv4.WithBroadcast(true)), serverMAC, serverIP),
			DHCPAddressing{SrcMAC: serverMAC, DstMAC: clientMAC, SrcIP: serverIP, DstIP: ciaddr, SrcPort: 67, DstPort: 68}},
		{"server reply, broadcast bit: broadcast",
			ServerReply(reply(t, dhcpv4.MessageTypeOffer, dhcpv4.WithBroadcast(true)), serverMAC, serverIP),
			DHCPAddressing{SrcMAC: serverMAC, DstMAC: Broadcast, SrcIP: serverIP, DstIP: ipv4Broadcast, SrcPort: 67, DstPort: 68}},
		{"server reply, no broadcast bit: unicast to yiaddr and chaddr",
			ServerReply(reply(t, dhcpv4.MessageTypeOffer), serverMAC, serverIP),
			DHCPAddressing{SrcMAC: serverMAC, DstMAC: clientMAC, SrcIP: serverIP, DstIP: leaseIP, SrcPort: 67, DstPort: 68}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got, cmpOpts); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeDHCPDefaults(t *testing.T) {
	disc, err := dhcpv4.NewDiscovery(clientMAC, dhcpv4.WithTransactionID(dhcpv4.TransactionID{1, 2, 3, 4}),
		dhcpv4.WithOption(dhcpv4.OptHostName("lab1")), dhcpv4.WithRequestedOptions(dhcpv4.OptionRouter))
	if err != nil {
		t.Fatal(err)
	}
	offer := reply(t, dhcpv4.MessageTypeOffer, dhcpv4.WithServerIP(serverIP.AsSlice()))
	tests := []struct {
		name    string
		m       *dhcpv4.DHCPv4
		a       DHCPAddressing
		wantEth Ethernet
		wantIP  IPv4
		wantUDP UDP
	}{
		{"request, zero addressing", disc, DHCPAddressing{},
			Ethernet{Dst: Broadcast, Src: clientMAC, EtherType: EtherTypeIPv4},
			IPv4{TTL: 64, Protocol: ProtocolUDP, Src: netip.IPv4Unspecified(), Dst: ipv4Broadcast},
			UDP{SrcPort: 68, DstPort: 67}},
		{"reply from ServerReply, tagged, TTL and ID set", offer,
			func() DHCPAddressing {
				a := ServerReply(offer, serverMAC, serverIP)
				a.VLAN, a.TTL, a.ID = &VLAN{ID: 10}, 128, 99
				return a
			}(),
			Ethernet{Dst: clientMAC, Src: serverMAC, VLAN: &VLAN{ID: 10, TPID: EtherTypeVLAN}, EtherType: EtherTypeIPv4},
			IPv4{ID: 99, TTL: 128, Protocol: ProtocolUDP, Src: serverIP, Dst: leaseIP},
			UDP{SrcPort: 67, DstPort: 68}},
		{"custom ports", disc, DHCPAddressing{SrcPort: 1067, DstPort: 1068},
			Ethernet{Dst: Broadcast, Src: clientMAC, EtherType: EtherTypeIPv4},
			IPv4{TTL: 64, Protocol: ProtocolUDP, Src: netip.IPv4Unspecified(), Dst: ipv4Broadcast},
			UDP{SrcPort: 1067, DstPort: 1068}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := EncodeDHCP(tt.m, tt.a)
			if err != nil {
				t.Fatal(err)
			}
			hl := 14 + 20 + 8
			if tt.wantEth.VLAN != nil {
				hl += 4
			}
			if len(f) != hl+300 {
				t.Errorf("frame %d bytes, want %d (message padded to 300)", len(f), hl+300)
			}
			var p Packet
			if err := DecodePacket(f, &p); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantEth, p.Eth); diff != "" {
				t.Errorf("Ethernet (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIP, p.IPv4, cmpOpts); diff != "" {
				t.Errorf("IPv4 (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantUDP, p.UDP); diff != "" {
				t.Errorf("UDP (-want +got):\n%s", diff)
			}
			l3 := f[p.Eth.HeaderLen():]
			if !IPv4ChecksumOK(l3) || !UDPChecksumOK(p.IPv4.Src, p.IPv4.Dst, l3[20:]) {
				t.Error("checksums do not verify")
			}
			// The message is what dhcpv4 encodes, options aside.
			back, err := dhcpv4.FromBytes(p.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.m.ToBytes(), back.ToBytes()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			// Option 53 comes first (as in ISC dhclient), then ascending codes.
			if p.Payload[240] != 53 {
				t.Errorf("first option %d, want 53", p.Payload[240])
			}
		})
	}
}

func TestEncodeDHCPErrors(t *testing.T) {
	disc, _ := dhcpv4.NewDiscovery(clientMAC)
	noMAC, _ := dhcpv4.NewDiscovery(nil)
	bad := *disc
	bad.OpCode = 3
	tests := []struct {
		name string
		m    *dhcpv4.DHCPv4
		a    DHCPAddressing
	}{
		{"nil message", nil, DHCPAddressing{}},
		{"op code 3", &bad, DHCPAddressing{}},
		{"no source MAC", noMAC, DHCPAddressing{}},
		{"short destination MAC", disc, DHCPAddressing{DstMAC: net.HardwareAddr{1, 2}}},
		{"IPv6 destination", disc, DHCPAddressing{DstIP: netip.MustParseAddr("2001:db8::1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := EncodeDHCP(tt.m, tt.a)
			if err == nil {
				t.Fatalf("EncodeDHCP = %d bytes, want an error", len(f))
			}
		})
	}
}

func TestAppendDHCPMessageLayout(t *testing.T) {
	m, _ := dhcpv4.NewDiscovery(clientMAC, dhcpv4.WithTransactionID(dhcpv4.TransactionID{9, 9, 9, 9}))
	m.UpdateOption(dhcpv4.OptHostName("h"))
	m.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionRelayAgentInformation, []byte{1, 1, 'x'}))
	m.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionVendorSpecificInformation, make([]byte, 300))) // RFC 3396 split
	b, err := AppendDHCPMessage(nil, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	codes := optionCodes(t, b)
	want := []uint8{53, 12, 43, 43, 55, 82} // 53 first, 82 last, 43 split into 255+45
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("canonical order (-want +got):\n%s", diff)
	}
	// With a layout, its order first, then the rest; Tail after End.
	b, _ = AppendDHCPMessage(nil, m, &DHCPLayout{OptionOrder: []uint8{82, 55, 99}, Tail: []byte{0, 0, 7}})
	if diff := cmp.Diff([]uint8{82, 55, 53, 12, 43, 43}, optionCodes(t, b)); diff != "" {
		t.Errorf("layout order (-want +got):\n%s", diff)
	}
	if string(b[len(b)-4:]) != "\xff\x00\x00\x07" {
		t.Errorf("message ends % x, want End then the tail", b[len(b)-4:])
	}
	_, err = DecodeDHCP(AppendUDP(nil, Ethernet{}, IPv4{}, UDP{SrcPort: 68, DstPort: 67}, b[:239]))
	if err == nil {
		t.Error("DecodeDHCP of a 239-byte message succeeded")
	}
	_, err = DecodeDHCP(AppendUDP(nil, Ethernet{}, IPv4{}, UDP{SrcPort: 68, DstPort: 69}, b))
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("DecodeDHCP to port 69: %v, want ErrUnsupported", err)
	}
}

// optionCodes lists the option codes of message b in wire order.
func optionCodes(t *testing.T, b []byte) []uint8 {
	t.Helper()
	var codes []uint8
	for o := b[240:]; len(o) > 0 && o[0] != 255; {
		if o[0] == 0 {
			o = o[1:]
			continue
		}
		codes = append(codes, o[0])
		o = o[2+int(o[1]):]
	}
	return codes
}

// TestDHCPLayoutFidelity decodes a message with everything the dhcpv4
// model drops (Pads between options, an option split in two instances, bytes
// after hlen in chaddr and after the NUL in sname and file, hlen 20) and
// checks that it re-encodes byte for byte, and that changes to the model
// win over the layout.
func TestDHCPLayoutFidelity(t *testing.T) {
	msg := make([]byte, 240)
	msg[0], msg[1], msg[2] = 2, 1, 20 // BootReply, Ethernet, hlen 20 (> 16)
	copy(msg[4:8], "\x01\x02\x03\x04")
	copy(msg[16:20], []byte{198, 18, 1, 100})
	copy(msg[28:44], "\x02\x00\x5e\x00\x01\x02GARBAGEGARB")
	copy(msg[44:108], "srv\x00after-nul")
	copy(msg[108:236], "boot.img\x00junk")
	copy(msg[236:240], magicCookie[:])
	msg = append(msg,
		53, 1, 2, // Offer
		0, 0, // two Pads
		3, 4, 198, 18, 1, 1, // routers, first instance
		54, 4, 198, 18, 1, 1, // server identifier
		3, 4, 198, 18, 1, 2, // routers, second instance (RFC 3396)
		0,     // Pad
		80, 0, // rapid commit, empty
		255, 0, 0, 0xaa) // End, then a tail
	frame := AppendUDP(nil, Ethernet{Dst: Broadcast, Src: serverMAC}, IPv4{Src: serverIP, Dst: ipv4Broadcast},
		UDP{SrcPort: 67, DstPort: 68}, msg)
	p, err := DecodeDHCP(frame)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Msg.Router(); len(got) != 2 {
		t.Errorf("routers %v, want both instances concatenated", got)
	}
	got, err := AppendDHCPPacket(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(frame, got); diff != "" {
		t.Errorf("re-encoding (-want +got):\n%s", diff)
	}

	// Changes to the model win: a new sname, another chaddr, one more option.
	p.Msg.ServerHostName = "other"
	p.Msg.ClientHWAddr = clientMAC
	p.Msg.UpdateOption(dhcpv4.OptDomainName("lab"))
	got, err = AppendDHCPPacket(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := DecodeDHCP(got)
	if err != nil {
		t.Fatal(err)
	}
	if q.Msg.ServerHostName != "other" || q.Msg.ClientHWAddr.String() != clientMAC.String() || q.Msg.DomainName() != "lab" {
		t.Errorf("model changes lost: sname %q chaddr %v domain %q", q.Msg.ServerHostName, q.Msg.ClientHWAddr, q.Msg.DomainName())
	}
	if q.Layout.HLen != 6 || string(q.Layout.SName[:6]) != "other\x00" {
		t.Errorf("changed fields written from the layout: hlen %d sname %q", q.Layout.HLen, q.Layout.SName[:8])
	}
	// Options fall back to the received order, the new one after them.
	if diff := cmp.Diff([]uint8{53, 3, 54, 80, 15}, q.Layout.OptionOrder); diff != "" {
		t.Errorf("option order (-want +got):\n%s", diff)
	}
	if q.Msg.BootFileName != "boot.img" || string(q.Layout.File[:13]) != "boot.img\x00junk" {
		t.Errorf("unchanged file not kept as received: %q", q.Layout.File[:13])
	}
}
