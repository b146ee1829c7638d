package dhcpclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rawlab/rawlab/capture"
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

// XID is a DHCP transaction ID. It encodes to JSON as "0x" and 8
// lower-case hex digits, the form read and craft use; it decodes that form
// or a number (older lease files).
type XID uint32

// String returns x as 0x0000002a.
func (x XID) String() string { return fmt.Sprintf("0x%08x", uint32(x)) }

// MarshalText encodes x as 0x0000002a.
func (x XID) MarshalText() ([]byte, error) { return []byte(x.String()), nil }

// UnmarshalJSON decodes "0x0000002a" or 42.
func (x *XID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n uint32
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("dhcpclient: xid: want \"0x\" and 8 hex digits")
		}
		*x = XID(n)
		return nil
	}
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return fmt.Errorf("dhcpclient: xid %q: want 0x and 8 hex digits", s)
	}
	*x = XID(v)
	return nil
}

// msgTypeName is a message type as JSON writes it: the RFC 2131 name
// without its DHCP prefix ("OFFER"), or "type(N)".
func msgTypeName(t dhcpopt.MsgType) string {
	s := t.String()
	if strings.HasPrefix(s, "DHCP") {
		return s[4:]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Reply is a DHCPOFFER, or the DHCPACK to a DHCPINFORM, as received.
type Reply struct {
	Type      dhcpopt.MsgType  `json:"-"`
	Server    netip.Addr       `json:"server"`     // server identifier (option 54), else the IP source
	ServerMAC MAC              `json:"server_mac"` // Ethernet source of the frame
	SrcIP     netip.Addr       `json:"src_ip"`     // IP source of the frame
	Address   netip.Addr       `json:"yiaddr"`     // the address offered
	Latency   Millis           `json:"latency_ms"` // from the last transmission to its arrival
	Received  time.Time        `json:"received_time"`
	XID       XID              `json:"xid"`
	Options   []dhcpopt.Option `json:"options"`
	// SName and File are the BOOTP server host name and boot file fields,
	// exactly as received; empty when option 52 overloads them with options.
	SName string `json:"sname,omitempty"`
	File  string `json:"file,omitempty"`
	// SIAddr is the next server (BOOTP siaddr), when not zero.
	SIAddr netip.Addr `json:"siaddr,omitzero"`
	// Rogue is set when Config.Trusted is given and this reply is not from
	// one of those servers.
	Rogue bool `json:"rogue"`
	// Notes lists what was tolerated in the reply (no End option, options
	// in an overloaded field).
	Notes []string `json:"notes,omitempty"`

	msg *dhcpv4.DHCPv4
}

// MarshalJSON adds msg_type to the fields.
func (r *Reply) MarshalJSON() ([]byte, error) {
	type plain Reply
	return json.Marshal(struct {
		MsgType string `json:"msg_type"`
		*plain
	}{msgTypeName(r.Type), (*plain)(r)})
}

// Message returns the decoded message.
func (r *Reply) Message() *dhcpv4.DHCPv4 { return r.msg }

// Selection picks an offer in Lease: the zero value takes the first; Server
// (its server identifier or IP source) or Address restricts it to that
// server or that offered address. It chooses among offers; Config.Trusted
// is what keeps rogue servers out.
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
	Time    time.Time         `json:"time"`
	Elapsed Millis            `json:"elapsed_ms"` // since the client started
	Dir     capture.Direction `json:"-"`          // out (sent) or in (received)
	Text    string            `json:"text"`       // e.g. "DHCPREQUEST (selecting) xid=0x1a2b3c4d try 2"
	Ignored string            `json:"ignored,omitempty"`
}

// MarshalJSON adds the direction, "in" or "out".
func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	return json.Marshal(struct {
		plain
		Direction string `json:"direction"`
	}{plain(s), s.Dir.String()})
}

// Stats counts what the client sent and received.
type Stats struct {
	Sent     int     `json:"sent"`
	Received int     `json:"received"` // inbound frames that passed the socket filter and were read
	Dropped  uint64  `json:"dropped"`  // frames the kernel dropped for a full socket buffer
	Accepted int     `json:"accepted"` // DHCP replies used
	ARP      int     `json:"arp"`      // ARP frames seen
	Ignored  Ignored `json:"ignored"`
}

// Ignored counts received DHCP frames that were not accepted, by reason.
type Ignored struct {
	Malformed  int `json:"malformed"`       // undecodable frame or message
	NotReply   int `json:"not_reply"`       // a BOOTREQUEST, or not from port 67 to 68
	XID        int `json:"wrong_xid"`       // another transaction
	CHAddr     int `json:"wrong_chaddr"`    // another client
	ServerID   int `json:"wrong_server_id"` // from a server other than the one asked
	Type       int `json:"wrong_type"`      // a message type not expected now
	VLAN       int `json:"other_vlan"`      // another VLAN
	Unexpected int `json:"unexpected"`      // a DHCP reply when none was awaited
	Selection  int `json:"unselected"`      // an offer the Selection did not pick
	Checksum   int `json:"bad_checksum"`    // a bad IPv4 header or UDP checksum (RFC 1122)
	Rogue      int `json:"rogue"`           // from a server not in Config.Trusted
	Address    int `json:"bad_yiaddr"`      // a yiaddr no client may hold
}

// String lists the non-zero counts: ": 3 xid, 1 rogue", or "".
func (i Ignored) String() string {
	var parts []string
	for _, x := range []struct {
		n int
		s string
	}{{i.Malformed, "malformed"}, {i.NotReply, "not a reply"}, {i.XID, "wrong xid"}, {i.CHAddr, "wrong chaddr"},
		{i.ServerID, "wrong server id"}, {i.Type, "unexpected type"}, {i.VLAN, "other VLAN"}, {i.Unexpected, "late"},
		{i.Selection, "not selected"}, {i.Checksum, "bad checksum"}, {i.Rogue, "rogue"}, {i.Address, "bad yiaddr"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.s))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// Total returns the number of ignored frames.
func (i Ignored) Total() int {
	return i.Malformed + i.NotReply + i.XID + i.CHAddr + i.ServerID + i.Type + i.VLAN + i.Unexpected + i.Selection +
		i.Checksum + i.Rogue + i.Address
}

// MaxOffers bounds the offers kept in a Report; more are counted only.
const MaxOffers = 256

// Report is what a Client did: every step, counters, the DHCPNAKs and
// conflicts it met, and every offer it saw.
type Report struct {
	Steps  []Step   `json:"exchange"`
	Stats  Stats    `json:"stats"`
	Offers []*Reply `json:"offers,omitempty"`
	// OffersDropped counts offers past MaxOffers, not kept.
	OffersDropped int              `json:"offers_dropped,omitempty"`
	NAKs          []*NAKError      `json:"naks,omitempty"`
	Conflicts     []*ConflictError `json:"conflicts,omitempty"`
}

// Result is what a DHCP client command reports, as one JSON document
// (docs/json.md, section dhcp).
type Result struct {
	Interface string   `json:"interface"`
	Verb      string   `json:"verb"`
	Offers    []*Reply `json:"offers,omitempty"`
	Lease     *Lease   `json:"lease,omitempty"`
	ACK       *Reply   `json:"ack,omitempty"`
	Sent      string   `json:"sent,omitempty"` // RELEASE or DECLINE
	Applied   bool     `json:"applied"`
	Report    Report   `json:"report"`
	Error     string   `json:"error,omitempty"`
	// Interrupted is set when the command was stopped (SIGINT).
	Interrupted bool `json:"interrupted,omitempty"`
}
