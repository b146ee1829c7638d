package labdhcp

import (
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// TestDestination checks where replies go (RFC 2131 §4.1).
func TestDestination(t *testing.T) {
	s, _ := newTestServer(t, nil)
	peer := &net.UDPAddr{IP: net.IPv4zero, Port: 68}
	dora(t, s, mac2) // mac2 holds 198.18.0.100, offers to mac1 are of .101
	tests := []struct {
		name      string
		req       *dhcpv4.DHCPv4
		reply     dhcpv4.MessageType
		want      string
		wantBcast bool // the reply's broadcast flag afterwards
	}{
		{"offer, no flag: unicast to yiaddr", msg(t, dhcpv4.MessageTypeDiscover, mac1), dhcpv4.MessageTypeOffer, "198.18.0.101:68", false},
		{"offer, broadcast flag", msg(t, dhcpv4.MessageTypeDiscover, mac1, dhcpv4.WithBroadcast(true)), dhcpv4.MessageTypeOffer, "255.255.255.255:68", true},
		{"renewing: to ciaddr", msg(t, dhcpv4.MessageTypeRequest, mac2, dhcpv4.WithClientIP(net.ParseIP("198.18.0.100"))), dhcpv4.MessageTypeAck, "198.18.0.100:68", false},
		{"nak: broadcast", msg(t, dhcpv4.MessageTypeRequest, mac1, withRequested("198.19.0.1")), dhcpv4.MessageTypeNak, "255.255.255.255:68", false},
		{"relayed: to the relay's port 67", msg(t, dhcpv4.MessageTypeDiscover, mac1, dhcpv4.WithGatewayIP(net.ParseIP("198.18.0.254"))), dhcpv4.MessageTypeOffer, "198.18.0.254:67", false},
		{"relayed nak: broadcast bit set", msg(t, dhcpv4.MessageTypeRequest, mac1, dhcpv4.WithGatewayIP(net.ParseIP("198.18.0.254")), withRequested("198.19.0.1")), dhcpv4.MessageTypeNak, "198.18.0.254:67", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := s.Handle(tt.req)
			if reply == nil || reply.MessageType() != tt.reply {
				t.Fatalf("Handle = %v, want a %v", reply, tt.reply)
			}
			if got := s.destination(tt.req, reply, peer).String(); got != tt.want {
				t.Errorf("destination = %s, want %s", got, tt.want)
			}
			if reply.IsBroadcast() != tt.wantBcast {
				t.Errorf("reply broadcast flag = %v, want %v", reply.IsBroadcast(), tt.wantBcast)
			}
		})
	}
}
