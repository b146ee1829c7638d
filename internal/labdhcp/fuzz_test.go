package labdhcp

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/rfc1035label"
)

// FuzzHandle feeds arbitrary bytes to the server as a request arriving from
// the wire: whatever decodes must be handled without a panic, and any reply
// must encode to a message that decodes again with the same type and xid.
func FuzzHandle(f *testing.F) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	for _, m := range []*dhcpv4.DHCPv4{
		mustNew(f, dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover)),
		mustNew(f, dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IP{198, 18, 0, 100})),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IP{198, 18, 0, 1}))),
		mustNew(f, dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
			dhcpv4.WithClientIP(net.IP{198, 18, 0, 100})),
		mustNew(f, dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeInform),
			dhcpv4.WithClientIP(net.IP{198, 18, 0, 7})),
		mustNew(f, dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IP{198, 18, 0, 100}))),
	} {
		f.Add(m.ToBytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := dhcpv4.FromBytes(b)
		if err != nil {
			return
		}
		s, err := New(DefaultConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		s.now = func() time.Time { return t0 }
		// Twice: the second sees the state the first left.
		for range 2 {
			reply := s.Handle(req)
			if reply == nil {
				continue
			}
			back, err := dhcpv4.FromBytes(reply.ToBytes())
			if err != nil {
				t.Fatalf("reply to %v does not decode: %v", req.MessageType(), err)
			}
			if back.MessageType() != reply.MessageType() || back.TransactionID != req.TransactionID {
				t.Fatalf("reply decodes as %v xid %v, want %v xid %v", back.MessageType(), back.TransactionID, reply.MessageType(), req.TransactionID)
			}
		}
	})
}

func mustNew(f *testing.F, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	m, err := dhcpv4.New(mods...)
	if err != nil {
		f.Fatal(err)
	}
	return m
}

// FuzzEncodeSearch: whatever list EncodeSearch accepts decodes back to itself.
func FuzzEncodeSearch(f *testing.F) {
	f.Add("lab.rawlab.test,rawlab.test")
	f.Add("a.b.c,b.c,c,x.b.c")
	f.Add("Eng.Apple.com,marketing.apple.com")
	f.Fuzz(func(t *testing.T, list string) {
		names := strings.Split(list, ",")
		b, err := EncodeSearch(names)
		if err != nil {
			return
		}
		l, err := rfc1035label.FromBytes(b)
		if err != nil {
			t.Fatalf("EncodeSearch(%q) = %x, which does not decode: %v", names, b, err)
		}
		for i := range names {
			names[i] = strings.TrimSuffix(names[i], ".")
		}
		if strings.Join(l.Labels, ",") != strings.Join(names, ",") {
			t.Fatalf("EncodeSearch(%q) decodes to %q", names, l.Labels)
		}
	})
}
