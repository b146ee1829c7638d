package labdhcp

import (
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

var (
	mac1 = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	mac2 = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	t0   = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// addrs lets cmp compare netip.Addr values.
var addrs = cmpopts.EquateComparable(netip.Addr{})

// clock is a settable time source for the server under test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestServer(t *testing.T, mod func(*Config)) (*Server, *clock) {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := &clock{t: t0}
	s.now = c.now
	return s, c
}

func msg(t *testing.T, mt dhcpv4.MessageType, mac net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{
		dhcpv4.WithHwAddr(mac),
		dhcpv4.WithMessageType(mt),
		dhcpv4.WithTransactionID(dhcpv4.TransactionID{0, 0, 0, 0}),
	}, mods...)...)
	if err != nil {
		t.Fatalf("dhcpv4.New: %v", err)
	}
	return m
}

func withRequested(ip string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(ip)))
}

func withServerID(ip string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(ip)))
}

// dora runs DISCOVER/OFFER/REQUEST/ACK for mac and returns the ACK.
func dora(t *testing.T, s *Server, mac net.HardwareAddr) *dhcpv4.DHCPv4 {
	t.Helper()
	offer := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac))
	if offer == nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("DISCOVER from %v: got %v, want an OFFER", mac, offer)
	}
	ack := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac,
		withRequested(offer.YourIPAddr.String()), withServerID("198.18.0.1")))
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("REQUEST from %v: got %v, want an ACK", mac, ack)
	}
	return ack
}

// reduced is what the tests compare of a reply.
type reduced struct {
	Type     string
	YIAddr   string
	Mask     string
	Router   string
	DNS      string
	NTP      string
	Bcast    string
	Domain   string
	Search   []string
	Routes   string
	Lease    time.Duration
	T1, T2   time.Duration
	ServerID string
}

func reduce(m *dhcpv4.DHCPv4) reduced {
	r := reduced{
		Type:     m.MessageType().String(),
		YIAddr:   m.YourIPAddr.String(),
		Router:   ipsString(m.Router()),
		DNS:      ipsString(m.DNS()),
		NTP:      ipsString(m.NTPServers()),
		Bcast:    m.BroadcastAddress().String(),
		Domain:   m.DomainName(),
		Routes:   dhcpv4.Routes(m.ClasslessStaticRoute()).String(),
		Lease:    m.IPAddressLeaseTime(0),
		T1:       m.IPAddressRenewalTime(0),
		T2:       m.IPAddressRebindingTime(0),
		ServerID: m.ServerIdentifier().String(),
	}
	if mask := m.SubnetMask(); mask != nil {
		r.Mask = net.IP(mask).String()
	}
	if l := m.DomainSearch(); l != nil {
		r.Search = l.Labels
	}
	return r
}

func ipsString(ips []net.IP) string {
	var s string
	for i, ip := range ips {
		if i > 0 {
			s += ","
		}
		s += ip.String()
	}
	return s
}

func TestDORA(t *testing.T) {
	s, _ := newTestServer(t, nil)
	offer := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac1, dhcpv4.WithBroadcast(true)))
	want := reduced{
		Type: "OFFER", YIAddr: "198.18.0.100", Mask: "255.255.255.0", Router: "198.18.0.1",
		DNS: "198.18.0.1", NTP: "198.18.0.1", Bcast: "198.18.0.255", Domain: "lab.rawlab.test",
		Search: []string{"lab.rawlab.test", "rawlab.test"},
		Routes: dhcpv4.Routes{
			{Dest: &net.IPNet{IP: net.IP{198, 19, 0, 0}, Mask: net.CIDRMask(16, 32)}, Router: net.IP{198, 18, 0, 1}},
			{Dest: &net.IPNet{IP: net.IP{0, 0, 0, 0}, Mask: net.CIDRMask(0, 32)}, Router: net.IP{198, 18, 0, 1}},
		}.String(),
		Lease: time.Hour, T1: 30 * time.Minute, T2: 52*time.Minute + 30*time.Second, ServerID: "198.18.0.1",
	}
	if diff := cmp.Diff(want, reduce(offer)); diff != "" {
		t.Errorf("OFFER (-want +got):\n%s", diff)
	}
	if !offer.IsBroadcast() || offer.TransactionID != (dhcpv4.TransactionID{}) || offer.ClientHWAddr.String() != mac1.String() {
		t.Errorf("OFFER header: broadcast %v xid %v chaddr %v, want the request's", offer.IsBroadcast(), offer.TransactionID, offer.ClientHWAddr)
	}
	if got := s.Leases(); len(got) != 1 || got[0].State != StateOffered || !got[0].Expires.Equal(t0.Add(time.Minute)) {
		t.Errorf("after OFFER, leases = %+v, want one offered row held a minute", got)
	}

	ack := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac1, withRequested("198.18.0.100"), withServerID("198.18.0.1")))
	want.Type = "ACK"
	if diff := cmp.Diff(want, reduce(ack)); diff != "" {
		t.Errorf("ACK (-want +got):\n%s", diff)
	}
	wantLeases := []Lease{{IP: netip.MustParseAddr("198.18.0.100"), MAC: mac1.String(), State: StateBound, Start: t0, Expires: t0.Add(time.Hour)}}
	if diff := cmp.Diff(wantLeases, s.Leases(), addrs); diff != "" {
		t.Errorf("leases (-want +got):\n%s", diff)
	}

	// A second client gets the next address; the first keeps its own on a new DISCOVER.
	if got := dora(t, s, mac2).YourIPAddr.String(); got != "198.18.0.101" {
		t.Errorf("second client got %s, want 198.18.0.101", got)
	}
	if got := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac1)).YourIPAddr.String(); got != "198.18.0.100" {
		t.Errorf("first client rediscovering got %s, want its 198.18.0.100", got)
	}
}

func TestDiscoverHonoursRequestedAddress(t *testing.T) {
	s, _ := newTestServer(t, nil)
	offer := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac1, withRequested("198.18.0.150")))
	if got := offer.YourIPAddr.String(); got != "198.18.0.150" {
		t.Errorf("offer = %s, want the requested 198.18.0.150", got)
	}
	offer = s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac2, withRequested("198.18.0.150")))
	if got := offer.YourIPAddr.String(); got != "198.18.0.100" {
		t.Errorf("offer of a held address = %s, want the first free 198.18.0.100", got)
	}
	offer = s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac2, withRequested("198.18.1.5")))
	if got := offer.YourIPAddr.String(); got != "198.18.0.100" {
		t.Errorf("offer for an off-subnet request = %s, want 198.18.0.100", got)
	}
}

func TestRenew(t *testing.T) {
	s, c := newTestServer(t, nil)
	ack := dora(t, s, mac1)
	c.t = t0.Add(40 * time.Minute)
	// RENEWING: ciaddr set, no option 50 or 54 (RFC 2131 table 4).
	renew := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac1, dhcpv4.WithClientIP(ack.YourIPAddr)))
	if renew == nil || renew.MessageType() != dhcpv4.MessageTypeAck || !renew.YourIPAddr.Equal(ack.YourIPAddr) {
		t.Fatalf("renew reply = %v, want an ACK for %v", renew, ack.YourIPAddr)
	}
	if got := s.Leases()[0].Expires; !got.Equal(c.t.Add(time.Hour)) {
		t.Errorf("after renew, expires %v, want %v", got, c.t.Add(time.Hour))
	}
	// INIT-REBOOT: option 50, no server identifier, no ciaddr.
	reboot := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac1, withRequested(ack.YourIPAddr.String())))
	if reboot == nil || reboot.MessageType() != dhcpv4.MessageTypeAck {
		t.Errorf("init-reboot reply = %v, want an ACK", reboot)
	}
}

func TestNAK(t *testing.T) {
	tests := []struct {
		name string
		mac  net.HardwareAddr
		mods []dhcpv4.Modifier
	}{
		{"selecting, address not offered", mac1, []dhcpv4.Modifier{withRequested("198.18.0.120"), withServerID("198.18.0.1")}},
		{"selecting, no offer at all", mac2, []dhcpv4.Modifier{withRequested("198.18.0.100"), withServerID("198.18.0.1")}},
		{"init-reboot, wrong subnet", mac1, []dhcpv4.Modifier{withRequested("198.19.7.7")}},
		{"init-reboot, not in pool", mac1, []dhcpv4.Modifier{withRequested("198.18.0.20")}},
		{"init-reboot, another client's", mac2, []dhcpv4.Modifier{withRequested("198.18.0.100")}},
		{"renewing, no lease", mac2, []dhcpv4.Modifier{dhcpv4.WithClientIP(net.ParseIP("198.18.0.100"))}},
		{"rebinding, wrong subnet", mac1, []dhcpv4.Modifier{dhcpv4.WithClientIP(net.ParseIP("198.19.0.100"))}},
		{"nothing requested", mac1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, nil)
			s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac1)) // mac1 holds an offer of .100
			before := s.Leases()
			m := s.Handle(msg(t, dhcpv4.MessageTypeRequest, tt.mac, tt.mods...))
			if m == nil || m.MessageType() != dhcpv4.MessageTypeNak {
				t.Fatalf("reply = %v, want a NAK", m)
			}
			if !m.YourIPAddr.IsUnspecified() || m.ServerIdentifier().String() != "198.18.0.1" || m.Message() == "" {
				t.Errorf("NAK: yiaddr %v, server id %v, message %q; want 0.0.0.0, 198.18.0.1 and a reason", m.YourIPAddr, m.ServerIdentifier(), m.Message())
			}
			if m.IPAddressLeaseTime(0) != 0 || m.SubnetMask() != nil {
				t.Errorf("NAK carries lease options: %v", m.Options)
			}
			if diff := cmp.Diff(before, s.Leases(), addrs); diff != "" {
				t.Errorf("a NAK changed the lease table (-before +after):\n%s", diff)
			}
		})
	}
}

func TestRequestForAnotherServer(t *testing.T) {
	s, _ := newTestServer(t, nil)
	s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac1))
	if m := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac1, withRequested("198.18.0.100"), withServerID("198.18.0.2"))); m != nil {
		t.Errorf("REQUEST naming another server got %v, want no reply", m)
	}
	if got := s.Leases(); len(got) != 0 {
		t.Errorf("our offer should be freed, leases = %+v", got)
	}
}

func TestRelease(t *testing.T) {
	s, _ := newTestServer(t, nil)
	ack := dora(t, s, mac1)
	// A release from another client for that address changes nothing.
	s.Handle(msg(t, dhcpv4.MessageTypeRelease, mac2, dhcpv4.WithClientIP(ack.YourIPAddr), withServerID("198.18.0.1")))
	if got := len(s.Leases()); got != 1 {
		t.Fatalf("release by a stranger: %d leases, want 1", got)
	}
	if m := s.Handle(msg(t, dhcpv4.MessageTypeRelease, mac1, dhcpv4.WithClientIP(ack.YourIPAddr), withServerID("198.18.0.1"))); m != nil {
		t.Errorf("RELEASE got reply %v, want none", m)
	}
	if got := s.Leases(); len(got) != 0 {
		t.Errorf("after release, leases = %+v, want none", got)
	}
	// The freed address goes to the next client.
	if got := dora(t, s, mac2).YourIPAddr.String(); got != ack.YourIPAddr.String() {
		t.Errorf("after release the next client got %s, want %s", got, ack.YourIPAddr)
	}
}

func TestDecline(t *testing.T) {
	s, c := newTestServer(t, nil)
	ack := dora(t, s, mac1)
	s.Handle(msg(t, dhcpv4.MessageTypeDecline, mac1, withRequested(ack.YourIPAddr.String()), withServerID("198.18.0.1")))
	ls := s.Leases()
	if len(ls) != 1 || ls[0].State != StateDeclined {
		t.Fatalf("after decline, leases = %+v, want one declined row", ls)
	}
	// The client starts again and gets another address; nobody gets the bad one.
	for _, mac := range []net.HardwareAddr{mac1, mac2} {
		if got := dora(t, s, mac).YourIPAddr; got.Equal(ack.YourIPAddr) {
			t.Errorf("%v was given the declined %v", mac, got)
		}
	}
	// Once the hold is over the address returns to the pool.
	c.t = t0.Add(2 * time.Hour)
	s.Handle(msg(t, dhcpv4.MessageTypeRelease, mac1, dhcpv4.WithClientIP(net.ParseIP("198.18.0.101"))))
	s.Handle(msg(t, dhcpv4.MessageTypeRelease, mac2, dhcpv4.WithClientIP(net.ParseIP("198.18.0.102"))))
	if got := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac2)).YourIPAddr; !got.Equal(net.ParseIP("198.18.0.101")) {
		t.Errorf("got %v; want 198.18.0.101, the first never-used address", got)
	}
}

func TestExhaustion(t *testing.T) {
	s, c := newTestServer(t, func(c *Config) {
		c.PoolStart = netip.MustParseAddr("198.18.0.100")
		c.PoolEnd = netip.MustParseAddr("198.18.0.101")
	})
	dora(t, s, mac1)
	dora(t, s, mac2)
	mac3 := net.HardwareAddr{0x02, 0, 0, 0, 0, 3}
	if m := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac3)); m != nil {
		t.Errorf("DISCOVER with the pool exhausted got %v, want no reply", m)
	}
	// An expired lease is reused.
	c.t = t0.Add(61 * time.Minute)
	if m := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac3)); m == nil || m.YourIPAddr.String() != "198.18.0.100" {
		t.Errorf("DISCOVER after expiry got %v, want an OFFER of 198.18.0.100", m)
	}
}

func TestInform(t *testing.T) {
	s, _ := newTestServer(t, nil)
	m := s.Handle(msg(t, dhcpv4.MessageTypeInform, mac1, dhcpv4.WithClientIP(net.ParseIP("198.18.0.7"))))
	if m == nil || m.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("INFORM reply = %v, want an ACK", m)
	}
	if !m.YourIPAddr.IsUnspecified() || !m.ClientIPAddr.Equal(net.ParseIP("198.18.0.7")) {
		t.Errorf("INFORM ACK yiaddr %v ciaddr %v, want 0.0.0.0 and 198.18.0.7", m.YourIPAddr, m.ClientIPAddr)
	}
	if m.IPAddressLeaseTime(0) != 0 || m.Options.Has(dhcpv4.OptionRenewTimeValue) {
		t.Errorf("INFORM ACK carries lease times (RFC 2131 §4.3.5 forbids): %v", m.Options)
	}
	if m.DNS() == nil || m.DomainName() == "" {
		t.Errorf("INFORM ACK lacks the options: %v", m.Options)
	}
	if len(s.Leases()) != 0 {
		t.Errorf("INFORM created a lease")
	}
}

func TestHostnameOnlyWhenAsked(t *testing.T) {
	s, _ := newTestServer(t, nil)
	// A parameter request list without 12 (with no list at all, everything counts as asked).
	if m := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac1, dhcpv4.WithRequestedOptions(dhcpv4.OptionRouter))); m.Options.Has(dhcpv4.OptionHostName) {
		t.Errorf("hostname sent unasked")
	}
	m := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac1, dhcpv4.WithRequestedOptions(dhcpv4.OptionHostName)))
	if got := m.HostName(); got != "host-198-18-0-100" {
		t.Errorf("hostname = %q, want host-198-18-0-100", got)
	}
}

func TestClientIdentifier(t *testing.T) {
	s, _ := newTestServer(t, nil)
	id := dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 2, 3}))
	offer := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac1, id))
	// Same client id from another MAC: the same client (RFC 2132 §9.14).
	ack := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac2, id, withRequested(offer.YourIPAddr.String()), withServerID("198.18.0.1")))
	if ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("got %v, want ACK", ack.MessageType())
	}
	if got := ack.Options.Get(dhcpv4.OptionClientIdentifier); string(got) != "\x01\x02\x03" {
		t.Errorf("ACK client id = %x, want it echoed (RFC 6842)", got)
	}
}

func TestIgnored(t *testing.T) {
	s, _ := newTestServer(t, nil)
	reply := msg(t, dhcpv4.MessageTypeDiscover, mac1)
	reply.OpCode = dhcpv4.OpcodeBootReply
	relayed := msg(t, dhcpv4.MessageTypeDiscover, mac1, dhcpv4.WithGatewayIP(net.ParseIP("198.19.0.1")))
	for name, m := range map[string]*dhcpv4.DHCPv4{"boot reply": reply, "foreign relay": relayed} {
		if got := s.Handle(m); got != nil {
			t.Errorf("%s: got %v, want no reply", name, got)
		}
	}
}

func TestLeaseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leases.json")
	s, _ := newTestServer(t, func(c *Config) { c.LeaseFile = path })
	ack := dora(t, s, mac1)
	got, err := ReadLeaseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s.Leases(), got, addrs); diff != "" {
		t.Errorf("lease file (-table +file):\n%s", diff)
	}
	// A new server on the same file knows the client.
	s2, err := New(Config{
		ServerIP: s.cfg.ServerIP, Subnet: s.cfg.Subnet, PoolStart: s.cfg.PoolStart, PoolEnd: s.cfg.PoolEnd,
		LeaseTime: time.Hour, LeaseFile: path,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2.now = func() time.Time { return t0.Add(time.Minute) }
	renew := s2.Handle(msg(t, dhcpv4.MessageTypeRequest, mac1, dhcpv4.WithClientIP(ack.YourIPAddr)))
	if renew == nil || renew.MessageType() != dhcpv4.MessageTypeAck {
		t.Errorf("renew against the reloaded table = %v, want an ACK", renew)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"pool outside subnet", func(c *Config) { c.PoolEnd = netip.MustParseAddr("198.18.1.10") }},
		{"outside lab range", func(c *Config) {
			c.Subnet = netip.MustParsePrefix("10.0.0.0/24")
			c.ServerIP = netip.MustParseAddr("10.0.0.1")
			c.PoolStart = netip.MustParseAddr("10.0.0.10")
			c.PoolEnd = netip.MustParseAddr("10.0.0.20")
		}},
		{"pool reversed", func(c *Config) { c.PoolStart, c.PoolEnd = c.PoolEnd, c.PoolStart }},
		{"short lease", func(c *Config) { c.LeaseTime = time.Second }},
		{"T1 after T2", func(c *Config) { c.T1 = 50 * time.Minute; c.T2 = 40 * time.Minute }},
		{"bad search", func(c *Config) { c.Search = []string{"a..b"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mod(&cfg)
			if _, err := New(cfg, nil); err == nil {
				t.Errorf("New accepted %+v", cfg)
			}
		})
	}
}
