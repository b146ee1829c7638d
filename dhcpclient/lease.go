package dhcpclient

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

// Lease is an address granted by a DHCPACK, with the configuration that came
// with it. It saves to and loads from JSON (SaveLease, LoadLease), so that a
// later process can renew, rebind or release it.
type Lease struct {
	Interface string      `json:"interface,omitempty"`
	ClientMAC MAC         `json:"client_mac"`
	ClientID  dhcpopt.Hex `json:"client_id,omitempty"`

	Address   netip.Addr   `json:"address"`
	Mask      netip.Addr   `json:"mask,omitzero"`
	Routers   []netip.Addr `json:"routers"`
	DNS       []netip.Addr `json:"dns"`
	Domain    string       `json:"domain,omitempty"`
	Search    []string     `json:"search,omitempty"`
	Broadcast netip.Addr   `json:"broadcast,omitzero"`
	MTU       uint16       `json:"mtu,omitempty"`

	// LeaseTime, T1 (renewal) and T2 (rebinding) come from options 51, 58
	// and 59; T1 and T2 default to 0.5 and 0.875 of the lease (RFC 2131
	// §4.4.5). JSON carries them in seconds.
	LeaseTime time.Duration `json:"-"`
	T1        time.Duration `json:"-"`
	T2        time.Duration `json:"-"`

	Server    netip.Addr `json:"server"`     // server identifier (option 54)
	ServerMAC MAC        `json:"server_mac"` // Ethernet source of the DHCPACK
	Relay     netip.Addr `json:"relay,omitzero"`

	Acquired time.Time `json:"acquired"`
	XID      uint32    `json:"xid"`
	// Exchange is the time from the first DHCPDISCOVER (or DHCPREQUEST) to
	// the DHCPACK.
	Exchange Millis `json:"exchange_ms"`

	// Options are all the options of the DHCPACK, decoded.
	Options []dhcpopt.Option `json:"options"`
	// ACK is the DHCPACK message (BOOTP payload) as received.
	ACK dhcpopt.Hex `json:"ack,omitempty"`
}

// Infinite reports whether the lease never expires (RFC 2132 §9.2).
func (l *Lease) Infinite() bool { return l.LeaseTime == dhcpopt.Infinite.Duration() }

// Expiry returns when the lease ends.
func (l *Lease) Expiry() time.Time { return l.Acquired.Add(l.LeaseTime) }

// Prefix returns the address with the mask's length, or a /32 when the
// lease has no valid mask.
func (l *Lease) Prefix() netip.Prefix {
	bits := 32
	if l.Mask.Is4() {
		m := binary.BigEndian.Uint32(l.Mask.AsSlice())
		ones := 0
		for m&0x80000000 != 0 {
			ones++
			m <<= 1
		}
		if m == 0 {
			bits = ones
		}
	}
	return netip.PrefixFrom(l.Address, bits)
}

func (l *Lease) check() error {
	if l == nil || !l.Address.Is4() || l.Address.IsUnspecified() {
		return &ConfigError{Field: "lease", Reason: "no IPv4 address (give --ip or a lease file)"}
	}
	return nil
}

// leaseFrom builds a Lease from a DHCPACK; values the ACK omits are kept
// from prev when there is one (a renewal).
func (c *Client) leaseFrom(r *reply, prev *Lease) *Lease {
	m := r.msg
	l := &Lease{
		Interface: c.cfg.Interface,
		ClientMAC: MAC(bytes.Clone(c.cfg.HWAddr)),
		ClientID:  dhcpopt.Hex(bytes.Clone(c.cfg.ClientID)),
		Address:   addr4(m.YourIPAddr),
		Server:    r.server,
		ServerMAC: MAC(bytes.Clone(r.pkt.Eth.Src)),
		Acquired:  r.at,
		XID:       c.xid,
		Options:   dhcpopt.FromMessage(m),
		ACK:       dhcpopt.Hex(bytes.Clone(r.pkt.Raw)),
	}
	if !c.start.IsZero() {
		l.Exchange = Millis(r.at.Sub(c.start))
	}
	if gi := addr4(m.GatewayIPAddr); gi.IsValid() && !gi.IsUnspecified() {
		l.Relay = gi
	}
	if prev != nil {
		l.Mask, l.Routers, l.DNS, l.Domain, l.Search = prev.Mask, prev.Routers, prev.DNS, prev.Domain, prev.Search
		l.Broadcast, l.MTU, l.LeaseTime = prev.Broadcast, prev.MTU, prev.LeaseTime
		if prev.Server == l.Server && prev.Relay.IsValid() {
			l.ServerMAC = prev.ServerMAC
		}
		if l.Interface == "" {
			l.Interface = prev.Interface
		}
	}
	for _, o := range l.Options {
		if o.Err != "" {
			continue
		}
		switch o.Code {
		case dhcpopt.SubnetMask:
			l.Mask = o.Value.(netip.Addr)
		case dhcpopt.Router:
			l.Routers = o.Value.([]netip.Addr)
		case dhcpopt.DomainServer:
			l.DNS = o.Value.([]netip.Addr)
		case dhcpopt.DomainName:
			l.Domain = o.Value.(string)
		case dhcpopt.DomainSearch:
			l.Search = o.Value.([]string)
		case dhcpopt.BroadcastAddress:
			l.Broadcast = o.Value.(netip.Addr)
		case dhcpopt.InterfaceMTU:
			l.MTU = o.Value.(uint16)
		case dhcpopt.LeaseTime:
			l.LeaseTime = o.Value.(dhcpopt.Seconds).Duration()
		case dhcpopt.RenewalTime:
			l.T1 = o.Value.(dhcpopt.Seconds).Duration()
		case dhcpopt.RebindingTime:
			l.T2 = o.Value.(dhcpopt.Seconds).Duration()
		}
	}
	// RFC 2131 §4.4.5: T1 defaults to 0.5 * lease, T2 to 0.875 * lease.
	if l.T1 == 0 && !l.Infinite() {
		l.T1 = l.LeaseTime / 2
	}
	if l.T2 == 0 && !l.Infinite() {
		l.T2 = l.LeaseTime * 7 / 8
	}
	return l
}

// leaseWire adds the durations in seconds to the JSON form.
type leaseWire struct {
	LeaseTime uint32 `json:"lease_time"`
	T1        uint32 `json:"t1"`
	T2        uint32 `json:"t2"`
	Expires   string `json:"expires,omitempty"`
}

// MarshalJSON encodes l with lease_time, t1 and t2 in seconds.
func (l *Lease) MarshalJSON() ([]byte, error) {
	type plain Lease
	cp := *l
	if cp.Routers == nil {
		cp.Routers = []netip.Addr{}
	}
	if cp.DNS == nil {
		cp.DNS = []netip.Addr{}
	}
	if cp.Options == nil {
		cp.Options = []dhcpopt.Option{}
	}
	l = &cp
	w := leaseWire{LeaseTime: secs32(l.LeaseTime), T1: secs32(l.T1), T2: secs32(l.T2)}
	if !l.Acquired.IsZero() && !l.Infinite() {
		w.Expires = l.Expiry().UTC().Format(time.RFC3339)
	}
	return json.Marshal(struct {
		*plain
		leaseWire
	}{(*plain)(l), w})
}

// UnmarshalJSON decodes what MarshalJSON wrote. Options are decoded again
// from the saved DHCPACK when it is there.
func (l *Lease) UnmarshalJSON(b []byte) error {
	type plain Lease
	var v struct {
		*plain
		leaseWire
		Options json.RawMessage `json:"options"`
	}
	v.plain = (*plain)(l)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	l.LeaseTime = time.Duration(v.leaseWire.LeaseTime) * time.Second
	l.T1 = time.Duration(v.leaseWire.T1) * time.Second
	l.T2 = time.Duration(v.leaseWire.T2) * time.Second
	l.Options = nil
	if len(l.ACK) > 0 {
		if m, err := dhcpv4.FromBytes(l.ACK); err == nil {
			l.Options = dhcpopt.FromMessage(m)
		}
	}
	return nil
}

func secs32(d time.Duration) uint32 { return uint32(min(max(d/time.Second, 0), 0xffffffff)) }

// SaveLease writes l to path as indented JSON, atomically (a temporary file
// renamed over path).
func SaveLease(path string, l *Lease) error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("dhcpclient: lease file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lease-*.json")
	if err != nil {
		return fmt.Errorf("dhcpclient: lease file: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("dhcpclient: lease file %s: write: %w", path, errorsJoin(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("dhcpclient: lease file: %w", err)
	}
	return nil
}

// LoadLease reads a lease SaveLease wrote.
func LoadLease(path string) (*Lease, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dhcpclient: lease file: %w", err)
	}
	var l Lease
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("dhcpclient: lease file %s: %w", path, err)
	}
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("dhcpclient: lease file %s: %w", path, err)
	}
	return &l, nil
}
