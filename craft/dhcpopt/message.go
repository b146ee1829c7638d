package dhcpopt

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// MessageSpec describes a DHCPv4 message (RFC 2131 §2) field by field, the way
// `rawlab craft dhcp` takes it; Build makes it. Zero addresses and empty
// strings are left out.
type MessageSpec struct {
	Type      dhcpv4.MessageType // option 53; OFFER, ACK and NAK are replies (op 2)
	XID       uint32
	CHAddr    net.HardwareAddr
	Broadcast bool // the flags field's BROADCAST bit

	CIAddr, YIAddr, SIAddr, GIAddr netip.Addr

	RequestedIP netip.Addr // option 50
	ServerID    netip.Addr // option 54
	Hostname    string     // option 12
	VendorClass string     // option 60
	ClientID    []byte     // option 61, as ParseClientID gives it
	Request     []Code     // option 55
	// Options are further options in ParseSetting's grammar. One that sets
	// an option the fields above set, to another value, is a
	// *ConflictError: "53=5" with Type DISCOVER contradicts itself.
	Options []string
}

// Build returns the message m describes.
func (m *MessageSpec) Build() (*dhcpv4.DHCPv4, error) {
	if m.Type < dhcpv4.MessageTypeDiscover || m.Type > dhcpv4.MessageTypeInform {
		return nil, fmt.Errorf("dhcpopt: message type %d: want 1 (DISCOVER) to 8 (INFORM)", uint8(m.Type))
	}
	fixed := map[Code][]byte{53: {byte(m.Type)}}
	var mods []dhcpv4.Modifier
	set := func(c Code, v []byte) {
		fixed[c] = v
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(c), v)))
	}
	for _, o := range []struct {
		c Code
		a netip.Addr
	}{{50, m.RequestedIP}, {54, m.ServerID}} {
		if o.a.IsValid() {
			set(o.c, o.a.AsSlice())
		}
	}
	for _, o := range []struct {
		c Code
		v string
	}{{12, m.Hostname}, {60, m.VendorClass}} {
		if o.v != "" {
			set(o.c, []byte(o.v))
		}
	}
	if len(m.ClientID) > 0 {
		set(61, m.ClientID)
	}
	if len(m.Request) > 0 {
		b := make([]byte, len(m.Request))
		for i, c := range m.Request {
			b[i] = byte(c)
		}
		set(55, b)
	}
	extra, _, err := Compile(m.Options, fixed)
	if err != nil {
		return nil, err
	}
	x := m.XID
	base := []dhcpv4.Modifier{
		dhcpv4.WithTransactionID(dhcpv4.TransactionID{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}),
		dhcpv4.WithHwAddr(m.CHAddr),
		dhcpv4.WithMessageType(m.Type),
	}
	msg, err := dhcpv4.New(append(append(base, mods...), extra...)...)
	if err != nil {
		return nil, fmt.Errorf("dhcpopt: %w", err)
	}
	switch m.Type {
	case dhcpv4.MessageTypeOffer, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak:
		msg.OpCode = dhcpv4.OpcodeBootReply
	}
	if m.Broadcast {
		msg.SetBroadcast()
	}
	for _, f := range []struct {
		dst *net.IP
		a   netip.Addr
	}{{&msg.ClientIPAddr, m.CIAddr}, {&msg.YourIPAddr, m.YIAddr}, {&msg.ServerIPAddr, m.SIAddr}, {&msg.GatewayIPAddr, m.GIAddr}} {
		if f.a.IsValid() {
			*f.dst = net.IP(f.a.AsSlice())
		}
	}
	return msg, nil
}

// ParseMessageType parses a message type name as docs/json.md spells it,
// in any case ("discover", "ACK"), or its number 1-8.
func ParseMessageType(s string) (dhcpv4.MessageType, error) {
	for t := dhcpv4.MessageTypeDiscover; t <= dhcpv4.MessageTypeInform; t++ {
		if strings.EqualFold(s, t.String()) || s == fmt.Sprint(uint8(t)) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("dhcpopt: message type %q: want discover, offer, request, decline, ack, nak, release or inform", s)
}

// ParseXID parses a transaction ID, decimal or 0x-hex; "" gives a random
// one (crypto/rand), as a client picks it (RFC 2131 §4.4.1).
func ParseXID(s string) (uint32, error) {
	if s == "" {
		var b [4]byte
		rand.Read(b[:]) // never fails since Go 1.24
		return binary.BigEndian.Uint32(b[:]), nil
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("dhcpopt: xid %q: want an integer from 0 to 0xffffffff", s)
	}
	return uint32(n), nil
}
