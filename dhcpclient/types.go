package dhcpclient

import (
	"encoding/json"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

// MAC is a hardware address that prints and encodes to JSON as
// aa:bb:cc:dd:ee:ff (net.HardwareAddr would encode as base64).
type MAC net.HardwareAddr

// String returns the colon-separated form, or "" when m is empty.
func (m MAC) String() string { return net.HardwareAddr(m).String() }

// MarshalText encodes m as aa:bb:cc:dd:ee:ff.
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText decodes any form net.ParseMAC accepts; "" is an empty MAC.
func (m *MAC) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*m = nil
		return nil
	}
	hw, err := net.ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = MAC(hw)
	return nil
}

// Millis is a duration that encodes to JSON as fractional milliseconds.
type Millis time.Duration

// MarshalJSON encodes d in milliseconds with microsecond precision.
func (d Millis) MarshalJSON() ([]byte, error) {
	return []byte(formatFloat(float64(time.Duration(d).Microseconds()) / 1000)), nil
}

// UnmarshalJSON decodes fractional milliseconds.
func (d *Millis) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*d = Millis(time.Duration(f * float64(time.Millisecond)).Round(time.Microsecond))
	return nil
}

// Reply is a DHCPOFFER, or the DHCPACK to a DHCPINFORM, as received.
type Reply struct {
	Type      dhcpopt.MsgType  `json:"type"`
	Server    netip.Addr       `json:"server"`     // server identifier (option 54), else the IP source
	ServerMAC MAC              `json:"server_mac"` // Ethernet source of the frame
	SrcIP     netip.Addr       `json:"src_ip"`     // IP source of the frame
	Address   netip.Addr       `json:"address"`    // yiaddr: the address offered
	Latency   Millis           `json:"latency_ms"` // from the last transmission to its arrival
	Received  time.Time        `json:"received"`
	XID       uint32           `json:"xid"`
	Options   []dhcpopt.Option `json:"options"`
	// SName and File are the BOOTP server host name and boot file fields.
	SName string `json:"sname,omitempty"`
	File  string `json:"file,omitempty"`
	// SIAddr is the next server (BOOTP siaddr), when not zero.
	SIAddr netip.Addr `json:"siaddr,omitzero"`

	msg *dhcpv4.DHCPv4
}

// Message returns the decoded message.
func (r *Reply) Message() *dhcpv4.DHCPv4 { return r.msg }

// Selection picks an offer in Lease: the zero value takes the first; Server
// or Address restricts it to that server or that offered address.
type Selection struct {
	Server  netip.Addr
	Address netip.Addr
}

func (s Selection) match(r *Reply) bool {
	return (!s.Server.IsValid() || r.Server == s.Server || r.SrcIP == s.Server) &&
		(!s.Address.IsValid() || r.Address == s.Address)
}

// Step is one frame of the exchange, sent or received, as the recording's
// comments name it.
type Step struct {
	Time    time.Time `json:"time"`
	Elapsed Millis    `json:"elapsed_ms"` // since the client started
	Dir     string    `json:"dir"`        // "sent" or "received"
	Text    string    `json:"text"`       // e.g. "DHCPREQUEST (selecting) xid=0x1a2b3c4d try 2"
	Ignored string    `json:"ignored,omitempty"`
}

// Stats counts what the client sent and received.
type Stats struct {
	Sent     int     `json:"sent"`
	Received int     `json:"received"` // inbound frames that passed the socket filter
	Accepted int     `json:"accepted"` // DHCP replies used
	ARP      int     `json:"arp"`      // ARP frames seen
	Ignored  Ignored `json:"ignored"`
}

// Ignored counts received DHCP frames that were not accepted, by reason.
type Ignored struct {
	Malformed  int `json:"malformed"`  // undecodable frame or message
	NotReply   int `json:"not_reply"`  // a BOOTREQUEST, or not from port 67 to 68
	XID        int `json:"xid"`        // another transaction
	CHAddr     int `json:"chaddr"`     // another client
	ServerID   int `json:"server_id"`  // from a server other than the one asked
	Type       int `json:"type"`       // a message type not expected now
	VLAN       int `json:"vlan"`       // another VLAN
	Unexpected int `json:"unexpected"` // a DHCP reply when none was awaited
	Selection  int `json:"unselected"` // an offer that --select did not pick
}

// Total returns the number of ignored frames.
func (i Ignored) Total() int {
	return i.Malformed + i.NotReply + i.XID + i.CHAddr + i.ServerID + i.Type + i.VLAN + i.Unexpected + i.Selection
}

// Report is what a Client did: every step, counters, the DHCPNAKs and
// conflicts it met, and every offer it saw.
type Report struct {
	Steps     []Step           `json:"exchange"`
	Stats     Stats            `json:"stats"`
	Offers    []*Reply         `json:"offers,omitempty"`
	NAKs      []*NAKError      `json:"naks,omitempty"`
	Conflicts []*ConflictError `json:"conflicts,omitempty"`
}
