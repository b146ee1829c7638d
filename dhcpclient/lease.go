package dhcpclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rawlab/rawlab/craft/dhcpopt"
	"github.com/rawlab/rawlab/internal/outfile"
)

// DefaultLeaseTime is the lease time a Lease gets when its DHCPACK has no
// usable option 51 (missing, zero-length, malformed, or 0): one hour, as
// udhcpc assumes. Such a lease says so (LeaseTimeDefaulted, Warnings), and
// Apply refuses it.
const DefaultLeaseTime = time.Hour

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
	// and 59. A missing, malformed or zero lease time becomes
	// DefaultLeaseTime; T1 and T2 default to 0.5 and 0.875 of the lease, and
	// take those defaults too when they are inconsistent (RFC 2131 §4.4.5:
	// 0 < T1 < T2 < lease). JSON carries them in seconds.
	LeaseTime time.Duration `json:"-"`
	T1        time.Duration `json:"-"`
	T2        time.Duration `json:"-"`
	// LeaseTimeDefaulted says LeaseTime is DefaultLeaseTime because the
	// DHCPACK had no usable option 51.
	LeaseTimeDefaulted bool `json:"lease_time_defaulted"`
	// Warnings says what in the DHCPACK was defaulted, malformed or ignored.
	Warnings []string `json:"warnings,omitempty"`

	Server    netip.Addr `json:"server"`     // server identifier (option 54)
	ServerMAC MAC        `json:"server_mac"` // Ethernet source of the DHCPACK
	Relay     netip.Addr `json:"relay,omitzero"`

	Acquired time.Time `json:"acquired_time"`
	XID      XID       `json:"xid"`
	// Exchange is the time from the first DHCPDISCOVER (or DHCPREQUEST) to
	// the DHCPACK.
	Exchange Millis `json:"exchange_ms"`
	// Released is when the lease was given back with a DHCPRELEASE; a
	// released lease cannot be renewed, rebound or released again.
	Released time.Time `json:"released_time,omitzero"`
	// Applied records what Apply configured, so that Unapply removes
	// exactly that.
	Applied *Applied `json:"applied,omitempty"`

	// Options are all the options of the DHCPACK, decoded.
	Options []dhcpopt.Option `json:"options"`
	// ACK is the DHCPACK message (BOOTP payload) as received.
	ACK dhcpopt.Hex `json:"ack,omitempty"`
}

// Applied is what Apply put on an interface.
type Applied struct {
	Interface string         `json:"interface"`
	Address   netip.Prefix   `json:"address_cidr"`
	Routes    []AppliedRoute `json:"routes"`
}

// AppliedRoute is one route Apply added.
type AppliedRoute struct {
	Dst     netip.Prefix `json:"dst_cidr"`
	Gateway netip.Addr   `json:"gateway,omitzero"`
	Metric  int          `json:"metric"`
}

// Infinite reports whether the lease never expires (RFC 2132 §9.2).
func (l *Lease) Infinite() bool { return l.LeaseTime == dhcpopt.Infinite.Duration() }

// Expiry returns when the lease ends.
func (l *Lease) Expiry() time.Time { return l.Acquired.Add(l.LeaseTime) }

// Prefix returns the address with the mask's length, or a /32 when the
// lease has no valid (contiguous) mask.
func (l *Lease) Prefix() netip.Prefix {
	if p, ok := maskPrefix(l.Address, l.Mask); ok {
		return p
	}
	return netip.PrefixFrom(l.Address, 32)
}

// With returns a copy of l (or a new Lease when l is nil) for interface
// iface, chaddr, and addr and server when they are set and differ; the
// server's MAC is then forgotten.
func (l *Lease) With(iface string, addr, server netip.Addr, chaddr net.HardwareAddr) *Lease {
	n := &Lease{}
	if l != nil {
		cp := *l
		n = &cp
	}
	n.Interface, n.ClientMAC = iface, MAC(chaddr)
	if addr.IsValid() && addr != n.Address {
		n.Address, n.ServerMAC = addr, nil
	}
	if server.IsValid() && server != n.Server {
		n.Server, n.ServerMAC = server, nil
	}
	return n
}

// ErrReleased says a lease file's lease was given back already.
var ErrReleased = errors.New("dhcpclient: lease was released")

func (l *Lease) check() error {
	if l == nil || !l.Address.Is4() || l.Address.IsUnspecified() {
		return &ConfigError{Field: "lease", Reason: "no IPv4 address"}
	}
	return nil
}

// CheckExtend reports whether l may still be renewed, rebound or released:
// it has an address and has not been released.
func (l *Lease) CheckExtend() error {
	if err := l.check(); err != nil {
		return err
	}
	if !l.Released.IsZero() {
		return fmt.Errorf("%w at %s", ErrReleased, l.Released.UTC().Format(time.RFC3339))
	}
	return nil
}

// leaseFrom builds a Lease from a DHCPACK; values the ACK omits are kept
// from prev when there is one (a renewal), except the times, which a
// DHCPACK must carry (RFC 2131 table 3).
func (c *Client) leaseFrom(r *reply, prev *Lease) *Lease {
	m := r.msg
	l := &Lease{
		Interface: c.cfg.Interface,
		ClientMAC: MAC(bytes.Clone(c.cfg.HWAddr)),
		ClientID:  dhcpopt.Hex(bytes.Clone(c.cfg.ClientID)),
		Address:   addr4(m.YourIPAddr),
		Server:    r.server,
		ServerMAC: MAC(bytes.Clone(r.pkt.eth.Src)),
		Acquired:  r.at.UTC(),
		XID:       XID(c.xid),
		Options:   dhcpopt.FromMessage(m),
		ACK:       dhcpopt.Hex(bytes.Clone(r.pkt.raw)),
	}
	if !c.start.IsZero() {
		l.Exchange = Millis(r.at.Sub(c.start))
	}
	if gi := addr4(m.GatewayIPAddr); gi.IsValid() && !gi.IsUnspecified() {
		l.Relay = gi
	}
	if prev != nil {
		l.Mask, l.Routers, l.DNS, l.Domain, l.Search = prev.Mask, prev.Routers, prev.DNS, prev.Domain, prev.Search
		l.Broadcast, l.MTU, l.Applied = prev.Broadcast, prev.MTU, prev.Applied
		if prev.Server == l.Server && prev.Relay.IsValid() {
			l.ServerMAC = prev.ServerMAC
		}
		if l.Interface == "" {
			l.Interface = prev.Interface
		}
	}
	l.fill()
	return l
}

// fill sets the lease's fields from its options, with the defaults and
// warnings of DefaultLeaseTime and RFC 2131 §4.4.5.
func (l *Lease) fill() {
	var lt, t1, t2 *time.Duration
	for _, o := range l.Options {
		if o.Err != "" {
			l.Warnings = append(l.Warnings, fmt.Sprintf("option %d (%s) malformed: %s; ignored", o.Code, o.Name, o.Err))
			if o.Code == dhcpopt.SubnetMask {
				l.Mask = netip.Addr{}
			}
			continue
		}
		switch o.Code {
		case dhcpopt.SubnetMask:
			l.Mask = o.Value.(netip.Addr)
			if _, ok := maskPrefix(l.Address, l.Mask); !ok {
				l.Warnings = append(l.Warnings, fmt.Sprintf("subnet mask %s (option 1) is not contiguous; using /32", l.Mask))
			}
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
			d := o.Value.(dhcpopt.Seconds).Duration()
			lt = &d
		case dhcpopt.RenewalTime:
			d := o.Value.(dhcpopt.Seconds).Duration()
			t1 = &d
		case dhcpopt.RebindingTime:
			d := o.Value.(dhcpopt.Seconds).Duration()
			t2 = &d
		}
	}
	switch {
	case lt == nil:
		l.defaultLease("the DHCPACK has no usable lease time (option 51)")
	case *lt == 0:
		l.defaultLease("the DHCPACK's lease time (option 51) is 0")
	default:
		l.LeaseTime = *lt
	}
	if l.Infinite() {
		l.T1, l.T2 = 0, 0
		return
	}
	// RFC 2131 §4.4.5: T1 defaults to 0.5 * lease, T2 to 0.875 * lease.
	d1, d2 := l.LeaseTime/2, l.LeaseTime/8*7 // /8 first: 7 * 2^32 s overflows
	l.T1, l.T2 = d1, d2
	if t1 != nil {
		l.T1 = *t1
	}
	if t2 != nil {
		l.T2 = *t2
	}
	if !(l.T1 > 0 && l.T1 < l.T2 && l.T2 < l.LeaseTime) {
		l.Warnings = append(l.Warnings, fmt.Sprintf(
			"T1 %s and T2 %s are inconsistent with the lease time %s (RFC 2131 §4.4.5 wants 0 < T1 < T2 < lease); using 0.5 and 0.875 of the lease",
			secText(l.T1), secText(l.T2), secText(l.LeaseTime)))
		l.T1, l.T2 = d1, d2
	}
}

func (l *Lease) defaultLease(why string) {
	l.LeaseTime, l.LeaseTimeDefaulted = DefaultLeaseTime, true
	l.Warnings = append(l.Warnings, fmt.Sprintf("%s; assuming %s", why, secText(DefaultLeaseTime)))
}

func secText(d time.Duration) string { return fmt.Sprintf("%d s", int64(d/time.Second)) }

// leaseWire adds the durations in seconds to the JSON form.
type leaseWire struct {
	LeaseTime uint32 `json:"lease_time_s"`
	T1        uint32 `json:"t1_s"`
	T2        uint32 `json:"t2_s"`
	Expires   string `json:"expires_time,omitempty"`
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
		w.Expires = l.Expiry().UTC().Format(time.RFC3339Nano)
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
		return jsonError(err)
	}
	l.LeaseTime = time.Duration(v.leaseWire.LeaseTime) * time.Second
	l.T1 = time.Duration(v.leaseWire.T1) * time.Second
	l.T2 = time.Duration(v.leaseWire.T2) * time.Second
	l.Options = nil
	if len(l.ACK) > 0 {
		if m, _, err := parseBOOTP(bytes.Clone(l.ACK)); err == nil {
			l.Options = dhcpopt.FromMessage(m)
		}
	}
	return nil
}

func secs32(d time.Duration) uint32 { return uint32(min(max(d/time.Second, 0), 0xffffffff)) }

// jsonError rewords an encoding/json error without Go type names.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("not JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return fmt.Errorf("field %q has a %s where another kind of value belongs", strings.TrimPrefix(te.Field, "plain."), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("JSON cut short")
	}
	return err
}

// SaveLease writes l to path as indented JSON, atomically: a temporary
// file beside it, created with outfile (mode 0600, no symlink followed,
// owned by the sudo user), renamed over path.
func SaveLease(path string, l *Lease) error {
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%d.tmp", filepath.Base(path), os.Getpid()))
	f, err := outfile.Create(tmp, 0o600)
	if err != nil {
		return fmt.Errorf("dhcpclient: lease file: %w", err)
	}
	werr := WriteLeaseFile(f, l)
	if cerr := f.Close(); werr != nil || cerr != nil {
		os.Remove(tmp)
		return errorsJoin(werr, cerr)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dhcpclient: lease file: %w", err)
	}
	return nil
}

// WriteLeaseFile rewrites the open lease file f with l, as indented JSON:
// for a file opened before privileges were dropped.
func WriteLeaseFile(f *os.File, l *Lease) error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err == nil {
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
	}
	if err != nil {
		return fmt.Errorf("dhcpclient: lease file %s: %w", f.Name(), err)
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
		return nil, fmt.Errorf("dhcpclient: lease file %s: %w", path, jsonError(err))
	}
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("dhcpclient: lease file %s: no IPv4 address", path)
	}
	return &l, nil
}
