package dhcpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newTestClient(t *testing.T, link *fakeLink, cfg Config) *Client {
	t.Helper()
	c, err := New(link, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStateString(t *testing.T) {
	want := map[State]string{StateInvalid: "INVALID", StateInit: "INIT", StateSelecting: "SELECTING",
		StateRequesting: "REQUESTING", StateBound: "BOUND", StateInitReboot: "INIT-REBOOT",
		StateRebooting: "REBOOTING", StateRenewing: "RENEWING", StateRebinding: "REBINDING", State(99): "INVALID"}
	for s, w := range want {
		if s.String() != w {
			t.Errorf("State(%d).String() = %q, want %q", s, s.String(), w)
		}
	}
	for _, in := range []string{"short", "RFC5227", "none"} {
		if _, err := ParseARPCheck(in); err != nil {
			t.Errorf("ParseARPCheck(%q): %v", in, err)
		}
	}
	if _, err := ParseARPCheck("long"); err == nil {
		t.Errorf("ParseARPCheck(long): no error")
	}
}

func TestBackoff(t *testing.T) {
	low := func(n time.Duration) time.Duration { return 0 }
	high := func(n time.Duration) time.Duration { return n }
	s := time.Second
	tests := []struct {
		name string
		base time.Duration
		rnd  func(time.Duration) time.Duration
		want []time.Duration
	}{
		{"rfc2131 minus 1s", 4 * s, low, []time.Duration{3 * s, 7 * s, 15 * s, 31 * s, 63 * s, 63 * s}},
		{"rfc2131 plus 1s", 4 * s, high, []time.Duration{5 * s, 9 * s, 17 * s, 33 * s, 65 * s, 65 * s}},
		{"rfc2131 no jitter", 4 * s, fixedRand(false), []time.Duration{4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 64 * s}},
		{"short base scales jitter", 100 * time.Millisecond, low, []time.Duration{75 * time.Millisecond, 175 * time.Millisecond, 375 * time.Millisecond}},
		{"no rand", 2 * s, nil, []time.Duration{2 * s, 4 * s, 8 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []time.Duration
			for try := 1; try <= len(tt.want); try++ {
				got = append(got, Backoff(tt.base, try, tt.rnd))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Backoff (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLease checks the whole DORA exchange: the fields of each message
// (RFC 2131 table 5), the lease, the transcript and the counters.
func TestLease(t *testing.T) {
	srv := newFakeServer()
	link := newFakeLink(srv.handler(t))
	cfg := testConfig()
	cfg.Hostname = "client1"
	cfg.ClientID = append([]byte{1}, clientMAC...)
	cfg.FixedXID, cfg.XID = true, 0x1a2b3c4d
	c := newTestClient(t, link, cfg)
	l, err := c.Lease(ctxT(t), Selection{})
	if err != nil {
		t.Fatal(err)
	}
	sent := link.dhcpSent(t)
	if len(sent) != 2 {
		t.Fatalf("sent %d DHCP messages, want DISCOVER and REQUEST", len(sent))
	}
	d, r := sent[0], sent[1]
	type fields struct {
		Type           dhcpv4.MessageType
		XID            uint32
		EthSrc, EthDst string
		IPSrc, IPDst   string
		CIAddr         string
		Requested      string
		ServerID       string
		HasPRL         bool
		Hostname       string
	}
	get := func(p *craft.DHCPPacket) fields {
		f := fields{Type: p.Msg.MessageType(), XID: xidOf(p.Msg), EthSrc: p.Eth.Src.String(), EthDst: p.Eth.Dst.String(),
			IPSrc: p.IP.Src.String(), IPDst: p.IP.Dst.String(), CIAddr: p.Msg.ClientIPAddr.String(),
			HasPRL: p.Msg.Options.Has(dhcpv4.OptionParameterRequestList), Hostname: p.Msg.HostName()}
		if ip := p.Msg.RequestedIPAddress(); ip != nil {
			f.Requested = ip.String()
		}
		if ip := p.Msg.ServerIdentifier(); ip != nil {
			f.ServerID = ip.String()
		}
		return f
	}
	want := []fields{
		{dhcpv4.MessageTypeDiscover, 0x1a2b3c4d, clientMAC.String(), "ff:ff:ff:ff:ff:ff", "0.0.0.0", "255.255.255.255", "0.0.0.0", "", "", true, "client1"},
		{dhcpv4.MessageTypeRequest, 0x1a2b3c4d, clientMAC.String(), "ff:ff:ff:ff:ff:ff", "0.0.0.0", "255.255.255.255", "0.0.0.0", "198.18.0.100", "198.18.0.1", true, "client1"},
	}
	if diff := cmp.Diff(want, []fields{get(d), get(r)}); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if !bytes.Equal(r.Msg.Options.Get(dhcpv4.OptionClientIdentifier), cfg.ClientID) {
		t.Errorf("client id = % x, want % x", r.Msg.Options.Get(dhcpv4.OptionClientIdentifier), cfg.ClientID)
	}

	gotLease := struct {
		Address, Mask, Server string
		Routers, DNS          string
		Domain                string
		LeaseTime, T1, T2     time.Duration
		ServerMAC             string
	}{l.Address.String(), l.Mask.String(), l.Server.String(), l.Routers[0].String(), l.DNS[0].String(), l.Domain,
		l.LeaseTime, l.T1, l.T2, l.ServerMAC.String()}
	wantLease := gotLease
	wantLease.Address, wantLease.Mask, wantLease.Server = "198.18.0.100", "255.255.255.0", "198.18.0.1"
	wantLease.Routers, wantLease.DNS, wantLease.Domain = "198.18.0.1", "198.18.0.1", "lab.test"
	wantLease.LeaseTime, wantLease.T1, wantLease.T2 = time.Hour, 30*time.Minute, 52*time.Minute+30*time.Second
	wantLease.ServerMAC = serverMAC.String()
	if diff := cmp.Diff(wantLease, gotLease); diff != "" {
		t.Errorf("lease (-want +got):\n%s", diff)
	}
	if l.Prefix() != netip.MustParsePrefix("198.18.0.100/24") {
		t.Errorf("Prefix() = %s", l.Prefix())
	}

	rep := c.Report()
	var texts []string
	for _, s := range rep.Steps {
		texts = append(texts, map[string]string{"out": "sent", "in": "received"}[s.Dir.String()]+" "+s.Text)
	}
	wantTexts := []string{
		"sent DHCPDISCOVER (init) xid=0x1a2b3c4d try 1",
		"received DHCPOFFER xid=0x1a2b3c4d from 198.18.0.1 (02:00:00:00:00:01) yiaddr 198.18.0.100",
		"sent DHCPREQUEST (selecting) xid=0x1a2b3c4d try 1",
		"received DHCPACK xid=0x1a2b3c4d from 198.18.0.1 (02:00:00:00:00:01) yiaddr 198.18.0.100",
		"sent ARP probe who-has 198.18.0.100 (conflict check) try 1",
	}
	if diff := cmp.Diff(wantTexts, texts); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stats{Sent: 3, Received: 2, Accepted: 2}, rep.Stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	// The probe is an RFC 5227 probe: sender IP 0.0.0.0, broadcast.
	frames := link.frames()
	var a craft.ARP
	var eth craft.Ethernet
	payload, err := craft.DecodeEthernet(frames[len(frames)-1].frame, &eth)
	if err != nil || craft.DecodeARP(payload, &a) != nil || !a.IsProbe() || a.TargetIP != l.Address || !bytes.Equal(eth.Dst, craft.Broadcast) {
		t.Errorf("last frame is not an ARP probe for %s: %+v", l.Address, a)
	}
}

// TestRetransmission checks that lost DISCOVERs are sent again with the same
// xid, after at least the backoff of RFC 2131 §4.1.
func TestRetransmission(t *testing.T) {
	srv := newFakeServer()
	srv.dropFirst = 2
	link := newFakeLink(srv.handler(t))
	cfg := testConfig()
	cfg.ARPCheck = ARPCheckNone
	cfg.Tries = 4
	cfg.Timeout = 200 * time.Millisecond
	c := newTestClient(t, link, cfg)
	if _, err := c.Lease(ctxT(t), Selection{}); err != nil {
		t.Fatal(err)
	}
	sent := link.frames()
	var discovers []sentFrame
	for _, s := range sent {
		if p, err := craft.DecodeDHCP(s.frame); err == nil && p.Msg.MessageType() == dhcpv4.MessageTypeDiscover {
			discovers = append(discovers, s)
		}
	}
	if len(discovers) != 3 {
		t.Fatalf("sent %d DISCOVERs, want 3", len(discovers))
	}
	var xids []uint32
	for i, s := range discovers {
		p, _ := craft.DecodeDHCP(s.frame)
		xids = append(xids, xidOf(p.Msg))
		if i > 0 {
			gap := s.at.Sub(discovers[i-1].at)
			if min := Backoff(cfg.Timeout, i, cfg.Rand); gap < min {
				t.Errorf("try %d sent %v after try %d, want at least %v", i+1, gap, i, min)
			}
		}
	}
	if xids[0] != xids[1] || xids[1] != xids[2] {
		t.Errorf("retransmissions changed the xid: %#x", xids)
	}
	if !strings.Contains(c.Report().Steps[1].Text, "try 2") {
		t.Errorf("second step %q does not say try 2", c.Report().Steps[1].Text)
	}
}

func TestNoReply(t *testing.T) {
	link := newFakeLink(nil)
	cfg := testConfig()
	cfg.Timeout = 10 * time.Millisecond
	c := newTestClient(t, link, cfg)
	_, err := c.Lease(ctxT(t), Selection{})
	var nr *NoReplyError
	if !errors.As(err, &nr) {
		t.Fatalf("Lease with no server: %v, want *NoReplyError", err)
	}
	if nr.Tries != 3 || len(nr.Waits) != 3 || nr.Message != "DHCPDISCOVER" || len(link.frames()) != 3 {
		t.Errorf("NoReplyError = %+v after %d frames, want 3 DHCPDISCOVER tries", nr, len(link.frames()))
	}
	if !strings.Contains(err.Error(), "3 tries") || !strings.Contains(err.Error(), "nothing came back") {
		t.Errorf("error %q does not say how many tries and that nothing came back", err)
	}
}

func TestContextBoundsExchange(t *testing.T) {
	link := newFakeLink(nil)
	cfg := testConfig()
	cfg.Timeout = time.Hour
	c := newTestClient(t, link, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Lease(ctx, Selection{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lease = %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Lease took %v past its context", time.Since(start))
	}
}

// TestAcceptance checks that every reply that does not match is ignored and
// counted under its reason, and that the exchange still completes.
func TestAcceptance(t *testing.T) {
	tests := []struct {
		name   string
		inject func(s *fakeServer, req *dhcpv4.DHCPv4) [][]byte
		want   Ignored
	}{
		{"wrong xid", func(s *fakeServer, req *dhcpv4.DHCPv4) [][]byte {
			return [][]byte{s.reply(t, req, offerOrAck(req), s.pool[0], func(m *dhcpv4.DHCPv4) { m.TransactionID[0] ^= 0xff })}
		}, Ignored{XID: 2}},
		{"wrong chaddr", func(s *fakeServer, req *dhcpv4.DHCPv4) [][]byte {
			return [][]byte{s.reply(t, req, offerOrAck(req), s.pool[0], func(m *dhcpv4.DHCPv4) { m.ClientHWAddr = holderMAC })}
		}, Ignored{CHAddr: 2}},
		{"op BOOTREQUEST", func(s *fakeServer, req *dhcpv4.DHCPv4) [][]byte {
			f, err := craft.EncodeDHCP(req, craft.ClientBroadcast(holderMAC, netip.Addr{}))
			if err != nil {
				t.Fatal(err)
			}
			return [][]byte{f}
		}, Ignored{NotReply: 2}},
		{"truncated", func(s *fakeServer, req *dhcpv4.DHCPv4) [][]byte {
			f := s.reply(t, req, offerOrAck(req), s.pool[0])
			return [][]byte{f[:60]}
		}, Ignored{Malformed: 2}},
		{"bad option length", func(s *fakeServer, req *dhcpv4.DHCPv4) [][]byte {
			f := s.reply(t, req, offerOrAck(req), s.pool[0])
			// Option 53 is the first option: make its length run past the end.
			p, _ := craft.DecodeDHCP(f)
			i := bytes.Index(f, append([]byte{99, 130, 83, 99}, 53, 1))
			if i < 0 || p == nil {
				t.Fatal("no option 53 in reply")
			}
			bad := append([]byte(nil), f...)
			bad[i+5] = 250
			if err := craft.SetTransportChecksum(bad, 0); err != nil {
				t.Fatal(err)
			}
			return [][]byte{bad}
		}, Ignored{Malformed: 2}},
		{"other server id on ACK", func(s *fakeServer, req *dhcpv4.DHCPv4) [][]byte {
			if req.MessageType() != dhcpv4.MessageTypeRequest {
				return nil
			}
			other := &fakeServer{ip: server2IP, mac: server2MAC}
			return [][]byte{other.reply(t, req, dhcpv4.MessageTypeAck, s.pool[1])}
		}, Ignored{ServerID: 1}},
		{"ACK while selecting", func(s *fakeServer, req *dhcpv4.DHCPv4) [][]byte {
			if req.MessageType() != dhcpv4.MessageTypeDiscover {
				return nil
			}
			return [][]byte{s.reply(t, req, dhcpv4.MessageTypeAck, s.pool[1])}
		}, Ignored{Type: 1}},
		{"other VLAN", func(s *fakeServer, req *dhcpv4.DHCPv4) [][]byte {
			f := s.reply(t, req, offerOrAck(req), s.pool[0])
			tagged := append(append(append([]byte(nil), f[:12]...), 0x81, 0x00, 0x00, 0x07), f[12:]...)
			return [][]byte{tagged}
		}, Ignored{VLAN: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer()
			srv.before = func(req *dhcpv4.DHCPv4) [][]byte { return tt.inject(srv, req) }
			link := newFakeLink(srv.handler(t))
			cfg := testConfig()
			cfg.ARPCheck = ARPCheckNone
			c := newTestClient(t, link, cfg)
			l, err := c.Lease(ctxT(t), Selection{})
			if err != nil {
				t.Fatal(err)
			}
			if l.Address != srv.pool[0] || l.Server != serverIP {
				t.Errorf("lease %s from %s, want %s from %s", l.Address, l.Server, srv.pool[0], serverIP)
			}
			if diff := cmp.Diff(tt.want, c.Report().Stats.Ignored); diff != "" {
				t.Errorf("ignored (-want +got):\n%s", diff)
			}
			if n := len(link.dhcpSent(t)); n != 2 {
				t.Errorf("sent %d DHCP messages, want 2 (no retransmission)", n)
			}
		})
	}
}

func offerOrAck(req *dhcpv4.DHCPv4) dhcpv4.MessageType {
	if req.MessageType() == dhcpv4.MessageTypeDiscover {
		return dhcpv4.MessageTypeOffer
	}
	return dhcpv4.MessageTypeAck
}

func TestNAKRestartsOnce(t *testing.T) {
	srv := newFakeServer()
	srv.naks = 1
	link := newFakeLink(srv.handler(t))
	cfg := testConfig()
	cfg.ARPCheck = ARPCheckNone
	c := newTestClient(t, link, cfg)
	l, err := c.Lease(ctxT(t), Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Address != srv.pool[1] {
		t.Errorf("lease %s after NAK, want %s", l.Address, srv.pool[1])
	}
	rep := c.Report()
	if len(rep.NAKs) != 1 || rep.NAKs[0].Message != "wrong address" || rep.NAKs[0].Server != serverIP {
		t.Errorf("NAKs = %+v, want one from %s saying \"wrong address\"", rep.NAKs, serverIP)
	}
	if srv.seen[dhcpv4.MessageTypeDiscover] != 2 || srv.seen[dhcpv4.MessageTypeRequest] != 2 {
		t.Errorf("server saw %v, want 2 DISCOVERs and 2 REQUESTs", srv.seen)
	}

	srv = newFakeServer()
	srv.naks = 2
	link = newFakeLink(srv.handler(t))
	c = newTestClient(t, link, cfg)
	_, err = c.Lease(ctxT(t), Selection{})
	var nak *NAKError
	if !errors.As(err, &nak) || nak.State != StateSelecting {
		t.Fatalf("Lease after two NAKs = %v, want *NAKError in SELECTING", err)
	}
}

// TestConflict checks the RFC 5227 probe: an address another host answers
// for is declined (RFC 2131 §3.1 step 5) and the client starts again.
func TestConflict(t *testing.T) {
	srv := newFakeServer()
	srv.holders[srv.pool[0]] = holderMAC
	link := newFakeLink(srv.handler(t))
	c := newTestClient(t, link, testConfig())
	l, err := c.Lease(ctxT(t), Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Address != srv.pool[1] {
		t.Errorf("lease %s, want %s after the conflict", l.Address, srv.pool[1])
	}
	rep := c.Report()
	if len(rep.Conflicts) != 1 || rep.Conflicts[0].Address != srv.pool[0] || rep.Conflicts[0].Holder.String() != holderMAC.String() {
		t.Errorf("conflicts = %+v, want %s held by %s", rep.Conflicts, srv.pool[0], holderMAC)
	}
	var decline *craft.DHCPPacket
	for _, p := range link.dhcpSent(t) {
		if p.Msg.MessageType() == dhcpv4.MessageTypeDecline {
			decline = p
		}
	}
	if decline == nil {
		t.Fatal("no DHCPDECLINE sent")
	}
	got := []string{decline.IP.Src.String(), decline.IP.Dst.String(), decline.Msg.ClientIPAddr.String(),
		decline.Msg.RequestedIPAddress().String(), decline.Msg.ServerIdentifier().String()}
	want := []string{"0.0.0.0", "255.255.255.255", "0.0.0.0", "198.18.0.100", "198.18.0.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DECLINE src, dst, ciaddr, option 50, option 54 (-want +got):\n%s", diff)
	}

	// Two conflicts in a row: the second is returned.
	srv = newFakeServer()
	srv.holders[srv.pool[0]] = holderMAC
	srv.holders[srv.pool[1]] = holderMAC
	link = newFakeLink(srv.handler(t))
	c = newTestClient(t, link, testConfig())
	_, err = c.Lease(ctxT(t), Selection{})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Address != srv.pool[1] {
		t.Fatalf("Lease = %v, want *ConflictError for %s", err, srv.pool[1])
	}
}

func TestConflictRFC5227(t *testing.T) {
	srv := newFakeServer()
	srv.holders[srv.pool[0]] = holderMAC
	link := newFakeLink(srv.handler(t))
	cfg := testConfig()
	cfg.ARPCheck = ARPCheckRFC5227
	cfg.Rand = func(n time.Duration) time.Duration { return 0 } // PROBE_WAIT 0, probes PROBE_MIN apart
	c := newTestClient(t, link, cfg)
	start := time.Now()
	holder, err := c.CheckAddress(ctxT(t), srv.pool[0])
	if err != nil || holder.String() != holderMAC.String() {
		t.Fatalf("CheckAddress = %v, %v; want %s", holder, err, holderMAC)
	}
	if time.Since(start) > probeMin {
		t.Errorf("conflict found after %v: the first probe's answer should end the check", time.Since(start))
	}
}

// testLease is a lease as a lease file would give it.
func testLease() *Lease {
	return &Lease{Interface: "fake0", ClientMAC: MAC(clientMAC), Address: netip.MustParseAddr("198.18.0.100"),
		Mask: netip.MustParseAddr("255.255.255.0"), Server: serverIP, ServerMAC: MAC(serverMAC),
		Routers: []netip.Addr{serverIP}, LeaseTime: time.Hour, Acquired: time.Now()}
}

// TestRenewUnicast checks RENEWING addressing (RFC 2131 §4.4.5): IP from
// the leased address to the server, Ethernet to the server's MAC, ciaddr
// set, no option 50 or 54; and that the client answers the server's ARP
// for the leased address meanwhile.
func TestRenewUnicast(t *testing.T) {
	for _, knownMAC := range []bool{true, false} {
		name := "mac from lease"
		if !knownMAC {
			name = "mac resolved by ARP"
		}
		t.Run(name, func(t *testing.T) {
			srv := newFakeServer()
			srv.askARP = netip.MustParseAddr("198.18.0.100")
			link := newFakeLink(srv.handler(t))
			c := newTestClient(t, link, testConfig())
			old := testLease()
			if !knownMAC {
				old.ServerMAC = nil
			}
			l, err := c.Renew(ctxT(t), old)
			if err != nil {
				t.Fatal(err)
			}
			if l.Address != old.Address || l.LeaseTime != time.Hour {
				t.Errorf("renewed lease %s for %v", l.Address, l.LeaseTime)
			}
			sent := link.dhcpSent(t)
			if len(sent) != 1 {
				t.Fatalf("sent %d DHCP messages, want 1", len(sent))
			}
			p := sent[0]
			got := []string{p.Eth.Dst.String(), p.IP.Src.String(), p.IP.Dst.String(), p.Msg.ClientIPAddr.String(),
				p.Msg.MessageType().String()}
			want := []string{serverMAC.String(), "198.18.0.100", "198.18.0.1", "198.18.0.100", "REQUEST"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("renew eth dst, IP src, IP dst, ciaddr, type (-want +got):\n%s", diff)
			}
			if p.Msg.Options.Has(dhcpv4.OptionRequestedIPAddress) || p.Msg.Options.Has(dhcpv4.OptionServerIdentifier) {
				t.Errorf("renew carries option 50 or 54: %v", p.Msg.Options)
			}
			if !strings.Contains(c.Report().Steps[len(c.Report().Steps)-1].Text, "DHCPACK") {
				t.Errorf("last step is not the ACK: %+v", c.Report().Steps)
			}
			var answered bool
			for _, s := range c.Report().Steps {
				answered = answered || strings.HasPrefix(s.Text, "ARP reply 198.18.0.100 is-at")
			}
			if !answered {
				t.Errorf("the client did not answer the server's ARP for the leased address: %+v", c.Report().Steps)
			}
		})
	}
}

func TestRebindBroadcast(t *testing.T) {
	srv := newFakeServer()
	link := newFakeLink(srv.handler(t))
	c := newTestClient(t, link, testConfig())
	if _, err := c.Rebind(ctxT(t), testLease()); err != nil {
		t.Fatal(err)
	}
	p := link.dhcpSent(t)[0]
	got := []string{p.Eth.Dst.String(), p.IP.Src.String(), p.IP.Dst.String(), p.Msg.ClientIPAddr.String()}
	want := []string{"ff:ff:ff:ff:ff:ff", "198.18.0.100", "255.255.255.255", "198.18.0.100"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rebind eth dst, IP src, IP dst, ciaddr (-want +got):\n%s", diff)
	}
}

// TestRelease checks RFC 2131 §4.4.6: unicast from the leased address (not
// 0.0.0.0) with ciaddr and option 54, sent once.
func TestRelease(t *testing.T) {
	srv := newFakeServer()
	link := newFakeLink(srv.handler(t))
	c := newTestClient(t, link, testConfig())
	if err := c.Release(ctxT(t), testLease()); err != nil {
		t.Fatal(err)
	}
	sent := link.dhcpSent(t)
	if len(sent) != 1 {
		t.Fatalf("sent %d DHCP messages, want one DHCPRELEASE", len(sent))
	}
	p := sent[0]
	got := []string{p.Msg.MessageType().String(), p.Eth.Dst.String(), p.IP.Src.String(), p.IP.Dst.String(),
		p.Msg.ClientIPAddr.String(), p.Msg.ServerIdentifier().String()}
	want := []string{"RELEASE", serverMAC.String(), "198.18.0.100", "198.18.0.1", "198.18.0.100", "198.18.0.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("release type, eth dst, IP src, IP dst, ciaddr, option 54 (-want +got):\n%s", diff)
	}
}

func TestInitReboot(t *testing.T) {
	srv := newFakeServer()
	link := newFakeLink(srv.handler(t))
	cfg := testConfig()
	c := newTestClient(t, link, cfg)
	want := netip.MustParseAddr("198.18.0.120")
	l, err := c.RequestAddress(ctxT(t), want)
	if err != nil {
		t.Fatal(err)
	}
	if l.Address != want {
		t.Errorf("lease %s, want %s", l.Address, want)
	}
	p := link.dhcpSent(t)[0]
	if p.Msg.ServerIdentifier() != nil || p.Msg.RequestedIPAddress().String() != want.String() || !p.Msg.ClientIPAddr.IsUnspecified() {
		t.Errorf("INIT-REBOOT request: option 54 %v, option 50 %v, ciaddr %v", p.Msg.ServerIdentifier(), p.Msg.RequestedIPAddress(), p.Msg.ClientIPAddr)
	}
	if !strings.Contains(c.Report().Steps[0].Text, "(init-reboot)") {
		t.Errorf("step %q does not name INIT-REBOOT", c.Report().Steps[0].Text)
	}
}

func TestDiscoverWaitCollectsAll(t *testing.T) {
	a, b := newFakeServer(), newFakeServer()
	b.ip, b.mac = server2IP, server2MAC
	b.pool = []netip.Addr{netip.MustParseAddr("198.18.0.200")}
	ha, hb := a.handler(t), b.handler(t)
	link := newFakeLink(func(f []byte) [][]byte { return append(ha(f), hb(f)...) })
	c := newTestClient(t, link, testConfig())
	offers, err := c.Discover(ctxT(t), 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range offers {
		got = append(got, o.Server.String()+" "+o.ServerMAC.String()+" "+o.Address.String())
	}
	want := []string{"198.18.0.1 02:00:00:00:00:01 198.18.0.100", "198.18.0.2 02:00:00:00:00:02 198.18.0.200"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("offers (-want +got):\n%s", diff)
	}
	if n := len(link.dhcpSent(t)); n != 1 {
		t.Errorf("sent %d DISCOVERs, want 1 (offers came)", n)
	}

	// --select server=IP takes the second server's offer and requests it.
	link = newFakeLink(func(f []byte) [][]byte { return append(ha(f), hb(f)...) })
	cfg := testConfig()
	cfg.ARPCheck = ARPCheckNone
	c = newTestClient(t, link, cfg)
	l, err := c.Lease(ctxT(t), Selection{Server: server2IP})
	if err != nil {
		t.Fatal(err)
	}
	if l.Server != server2IP || l.Address.String() != "198.18.0.200" {
		t.Errorf("lease %s from %s, want 198.18.0.200 from %s", l.Address, l.Server, server2IP)
	}
}

func TestInform(t *testing.T) {
	srv := newFakeServer()
	link := newFakeLink(srv.handler(t))
	c := newTestClient(t, link, testConfig())
	addr := netip.MustParseAddr("198.18.0.50")
	ack, err := c.Inform(ctxT(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Server != serverIP || len(ack.Options) == 0 {
		t.Errorf("inform ack = %+v", ack)
	}
	p := link.dhcpSent(t)[0]
	if p.Msg.ClientIPAddr.String() != "198.18.0.50" || p.IP.Src != addr || p.Msg.Options.Has(dhcpv4.OptionRequestedIPAddress) {
		t.Errorf("INFORM ciaddr %v from %v (option 50: %v)", p.Msg.ClientIPAddr, p.IP.Src, p.Msg.Options.Has(dhcpv4.OptionRequestedIPAddress))
	}
}

func TestMessageFields(t *testing.T) {
	srv := newFakeServer()
	link := newFakeLink(srv.handler(t))
	cfg := testConfig()
	cfg.ARPCheck = ARPCheckNone
	cfg.Broadcast = true
	cfg.EthSrc = net.HardwareAddr{0x02, 0xee, 0, 0, 0, 1}
	cfg.VendorClass = "rawlab"
	cfg.GIAddr = netip.MustParseAddr("198.18.0.254")
	cfg.CircuitID, cfg.RemoteID = []byte("sw1/0/7"), []byte("rack42")
	cfg.RequestOptions = nil
	c := newTestClient(t, link, cfg)
	if _, err := c.Discover(ctxT(t), 0); err != nil {
		t.Fatal(err)
	}
	p := link.dhcpSent(t)[0]
	if !p.Msg.IsBroadcast() || p.Eth.Src.String() != "02:ee:00:00:00:01" || p.Msg.ClientHWAddr.String() != clientMAC.String() ||
		p.Msg.ClassIdentifier() != "rawlab" || p.Msg.GatewayIPAddr.String() != "198.18.0.254" {
		t.Errorf("DISCOVER fields: %s", p.Msg.Summary())
	}
	ri := p.Msg.RelayAgentInfo()
	if ri == nil || string(ri.Get(dhcpv4.AgentCircuitIDSubOption)) != "sw1/0/7" || string(ri.Get(dhcpv4.AgentRemoteIDSubOption)) != "rack42" {
		t.Errorf("option 82 = %v", ri)
	}
}

func TestLeaseFileRoundTrip(t *testing.T) {
	srv := newFakeServer()
	link := newFakeLink(srv.handler(t))
	cfg := testConfig()
	cfg.ARPCheck = ARPCheckNone
	c := newTestClient(t, link, cfg)
	l, err := c.Lease(ctxT(t), Selection{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lease.json")
	if err := SaveLease(path, l); err != nil {
		t.Fatal(err)
	}
	got, err := LoadLease(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Exchange = Millis(time.Duration(l.Exchange).Truncate(time.Microsecond)) // JSON keeps microseconds
	opt := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	tm := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
	if diff := cmp.Diff(l, got, opt, tm); diff != "" {
		t.Errorf("lease after save and load (-want +got):\n%s", diff)
	}
	if _, err := LoadLease(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Errorf("LoadLease(missing): no error")
	}
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no chaddr", func(c *Config) { c.HWAddr = nil }},
		{"long chaddr", func(c *Config) { c.HWAddr = make(net.HardwareAddr, 8) }},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }},
		{"vlan 0", func(c *Config) { c.VLAN = &craft.VLAN{} }},
		{"ipv6 server", func(c *Config) { c.Server = netip.MustParseAddr("::1") }},
		{"one-byte client id", func(c *Config) { c.ClientID = []byte{1} }},
		{"broadcast chaddr", func(c *Config) { c.HWAddr = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }},
		{"multicast chaddr", func(c *Config) { c.HWAddr = net.HardwareAddr{0x01, 0, 0x5e, 0, 0, 1} }},
		{"zero chaddr", func(c *Config) { c.HWAddr = make(net.HardwareAddr, 6) }},
		{"multicast Ethernet source", func(c *Config) { c.EthSrc = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1} }},
		{"circuit id of 256 bytes", func(c *Config) { c.CircuitID = make([]byte, 256) }},
		{"remote id of 256 bytes", func(c *Config) { c.RemoteID = make([]byte, 256) }},
		{"option 82 overfull", func(c *Config) { c.CircuitID, c.RemoteID = make([]byte, 200), make([]byte, 100) }},
		{"tries over 100", func(c *Config) { c.Tries = 101 }},
		{"negative decline wait", func(c *Config) { c.DeclineWait = -1 }},
		{"trusted 0.0.0.0", func(c *Config) { c.Trusted = []netip.Addr{netip.IPv4Unspecified()} }},
		{"option 53 of two bytes", func(c *Config) { c.Options = []dhcpopt.Setting{{Code: 53, Data: []byte{1, 2}}} }},
		{"option End", func(c *Config) { c.Options = []dhcpopt.Setting{{Code: 255, Data: []byte{1}}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.mod(&cfg)
			var ce *ConfigError
			_, err := New(newFakeLink(nil), cfg)
			if !errors.As(err, &ce) {
				t.Fatalf("New = %v, want *ConfigError", err)
			}
			// Package errors name values and RFC terms, never a CLI flag.
			if strings.Contains(err.Error(), "--") {
				t.Errorf("error names a flag: %v", err)
			}
		})
	}
}

// TestLeaseTimes checks the lifetimes a DHCPACK gives: a missing, zero or
// malformed option 51 becomes DefaultLeaseTime, flagged; T1 and T2
// default to 0.5 and 0.875 of the lease, and fall back to those when they
// are inconsistent (RFC 2131 §4.4.5), with a warning.
func TestLeaseTimes(t *testing.T) {
	secs := func(n uint32) []byte { return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }
	h := time.Hour
	tests := []struct {
		name      string
		opts      map[uint8][]byte
		lease     time.Duration
		t1, t2    time.Duration
		defaulted bool
		warnings  int
	}{
		{"all given", map[uint8][]byte{51: secs(600), 58: secs(200), 59: secs(400)}, 600 * time.Second, 200 * time.Second, 400 * time.Second, false, 0},
		{"T1 T2 missing", map[uint8][]byte{51: secs(800)}, 800 * time.Second, 400 * time.Second, 700 * time.Second, false, 0},
		{"no 51", map[uint8][]byte{}, h, h / 2, h / 8 * 7, true, 1},
		{"51 is 0", map[uint8][]byte{51: secs(0)}, h, h / 2, h / 8 * 7, true, 1},
		{"51 zero-length", map[uint8][]byte{51: {}}, h, h / 2, h / 8 * 7, true, 2},
		{"51 of 3 bytes", map[uint8][]byte{51: {0, 0, 1}}, h, h / 2, h / 8 * 7, true, 2},
		{"T1 > T2 > lease", map[uint8][]byte{51: secs(600), 58: secs(900), 59: secs(800)}, 600 * time.Second, 300 * time.Second, 525 * time.Second, false, 1},
		{"T1 = T2", map[uint8][]byte{51: secs(600), 58: secs(300), 59: secs(300)}, 600 * time.Second, 300 * time.Second, 525 * time.Second, false, 1},
		{"T1 0", map[uint8][]byte{51: secs(600), 58: secs(0)}, 600 * time.Second, 300 * time.Second, 525 * time.Second, false, 1},
		{"infinite", map[uint8][]byte{51: secs(0xffffffff)}, dhcpopt.Infinite.Duration(), 0, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := dhcpv4.Options{53: {5}}
			for c, v := range tt.opts {
				o[c] = v
			}
			l := &Lease{Address: netip.MustParseAddr("198.18.0.100"), Options: dhcpopt.FromOptions(o)}
			l.fill()
			if l.LeaseTime != tt.lease || l.T1 != tt.t1 || l.T2 != tt.t2 || l.LeaseTimeDefaulted != tt.defaulted || len(l.Warnings) != tt.warnings {
				t.Errorf("lease %s T1 %s T2 %s defaulted %v warnings %q; want %s %s %s %v and %d warnings",
					l.LeaseTime, l.T1, l.T2, l.LeaseTimeDefaulted, l.Warnings, tt.lease, tt.t1, tt.t2, tt.defaulted, tt.warnings)
			}
		})
	}
}

func cmpDiff(want, got any) string {
	return cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }))
}

// TestHold checks that a held lease is renewed at T1 by unicast, and that
// Hold returns the renewed lease when its context ends.
func TestHold(t *testing.T) {
	srv := newFakeServer()
	link := newFakeLink(srv.handler(t))
	c := newTestClient(t, link, testConfig())
	l := testLease()
	l.LeaseTime, l.T1, l.T2 = 2*time.Second, 20*time.Millisecond, time.Second
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	var updates []*Lease
	got, err := c.Hold(ctx, l, func(nl *Lease) error {
		updates = append(updates, nl)
		cancel() // one renewal is enough
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(updates) != 1 || got != updates[0] || got.LeaseTime != time.Hour {
		t.Fatalf("Hold = %+v after updates %v, want the renewed one-hour lease", got, updates)
	}
	p := link.dhcpSent(t)[0]
	if p.Msg.MessageType() != dhcpv4.MessageTypeRequest || p.IP.Dst != serverIP || p.IP.Src != l.Address {
		t.Errorf("renewal %s from %s to %s, want a DHCPREQUEST from %s to %s", p.Msg.MessageType(), p.IP.Src, p.IP.Dst, l.Address, serverIP)
	}

	// A lease past T2 is rebound (broadcast); one that nobody extends expires.
	link = newFakeLink(nil)
	cfg := testConfig()
	cfg.Timeout, cfg.Tries = 5*time.Millisecond, 1
	c = newTestClient(t, link, cfg)
	l = testLease()
	l.Acquired = time.Now().Add(-time.Second)
	l.LeaseTime, l.T1, l.T2 = time.Second+80*time.Millisecond, 100*time.Millisecond, 200*time.Millisecond
	if _, err := c.Hold(ctxT(t), l, nil); !errors.Is(err, ErrLeaseExpired) {
		t.Errorf("Hold of a lease nobody extends = %v, want ErrLeaseExpired", err)
	}
	p = link.dhcpSent(t)[0]
	if p.IP.Dst.String() != "255.255.255.255" || p.IP.Src != l.Address {
		t.Errorf("rebinding from %s to %s, want from %s to 255.255.255.255", p.IP.Src, p.IP.Dst, l.Address)
	}
}

// TestRFC5227Timing checks the full check's schedule (RFC 5227 §2.1.1) on a
// free address: PROBE_NUM probes, at least PROBE_MIN apart, and no verdict
// before ANNOUNCE_WAIT after the last one.
func TestRFC5227Timing(t *testing.T) {
	t.Parallel()
	link := newFakeLink(nil)
	cfg := testConfig()
	cfg.ARPCheck = ARPCheckRFC5227
	cfg.Rand = func(n time.Duration) time.Duration { return 0 } // PROBE_WAIT 0, PROBE_MIN spacing
	c := newTestClient(t, link, cfg)
	start := time.Now()
	addr := netip.MustParseAddr("198.18.0.100")
	holder, err := c.CheckAddress(ctxT(t), addr)
	if err != nil || holder != nil {
		t.Fatalf("CheckAddress of a free address = %v, %v", holder, err)
	}
	took := time.Since(start)
	sent := link.frames()
	if len(sent) != probeNum {
		t.Fatalf("%d probes sent, want %d", len(sent), probeNum)
	}
	for i := 1; i < len(sent); i++ {
		if gap := sent[i].at.Sub(sent[i-1].at); gap < probeMin {
			t.Errorf("probe %d sent %v after the previous, want at least %v", i+1, gap, probeMin)
		}
	}
	if after := start.Add(took).Sub(sent[len(sent)-1].at); after < announceWait {
		t.Errorf("verdict %v after the last probe, want at least ANNOUNCE_WAIT %v", after, announceWait)
	}
}

// vlanLink wraps a fakeLink: frames from the client must carry VLAN 7; the
// replies go back tagged in the data, or untagged with the tag in FrameInfo
// as a kernel that strips tags delivers them.
type vlanLink struct {
	*fakeLink
	stripped bool
}

func (v *vlanLink) ReadFrame(ctx context.Context, b []byte) (int, capture.FrameInfo, error) {
	n, info, err := v.fakeLink.ReadFrame(ctx, b)
	if err == nil && v.stripped && n > 16 && b[12] == 0x81 {
		info.VLAN, info.VLANTPID, info.VLANTCI = true, 0x8100, uint16(b[14])<<8|uint16(b[15])
		copy(b[12:], b[16:n])
		n -= 4
	}
	return n, info, err
}

func TestVLAN(t *testing.T) {
	for _, stripped := range []bool{false, true} {
		t.Run(fmt.Sprintf("stripped=%v", stripped), func(t *testing.T) {
			srv := newFakeServer()
			inner := srv.handler(t)
			var untagged int
			link := newFakeLink(func(frame []byte) [][]byte {
				var eth craft.Ethernet
				if _, err := craft.DecodeEthernet(frame, &eth); err != nil || eth.VLAN == nil || eth.VLAN.ID != 7 {
					untagged++
					return nil
				}
				plain := append(append([]byte(nil), frame[:12]...), frame[16:]...)
				var out [][]byte
				for _, r := range inner(plain) {
					// A reply on another VLAN first, then the real one on VLAN 7.
					other := append(append(append([]byte(nil), r[:12]...), 0x81, 0x00, 0x00, 0x08), r[12:]...)
					out = append(out, other, append(append(append([]byte(nil), r[:12]...), 0x81, 0x00, 0x00, 0x07), r[12:]...))
				}
				return out
			})
			cfg := testConfig()
			cfg.VLAN = &craft.VLAN{ID: 7}
			cfg.ARPCheck = ARPCheckNone
			c, err := New(&vlanLink{link, stripped}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.Lease(ctxT(t), Selection{})
			if err != nil {
				t.Fatal(err)
			}
			if untagged != 0 || l.Address != srv.pool[0] {
				t.Errorf("%d untagged frames sent; lease %s", untagged, l.Address)
			}
			if got := c.Report().Stats.Ignored.VLAN; got != 2 {
				t.Errorf("ignored %d frames of VLAN 8, want 2", got)
			}
		})
	}
}

func TestInitRebootConflict(t *testing.T) {
	srv := newFakeServer()
	want := netip.MustParseAddr("198.18.0.120")
	srv.holders[want] = holderMAC
	link := newFakeLink(srv.handler(t))
	c := newTestClient(t, link, testConfig())
	_, err := c.RequestAddress(ctxT(t), want)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Address != want || ce.Holder.String() != holderMAC.String() {
		t.Fatalf("RequestAddress of a held address = %v, want *ConflictError naming %s", err, holderMAC)
	}
	if srv.seen[dhcpv4.MessageTypeDecline] != 1 {
		t.Errorf("server saw %v, want one DHCPDECLINE", srv.seen)
	}
}

// TestApplyRefuses checks the leases Apply refuses before touching the
// interface: no usable lease time, infinite, expired, released, and
// addresses no host may hold.
func TestApplyRefuses(t *testing.T) {
	good := func() *Lease {
		return &Lease{Interface: "eth0", Address: netip.MustParseAddr("198.18.0.100"), Mask: netip.MustParseAddr("255.255.255.0"),
			LeaseTime: time.Hour, Acquired: time.Now()}
	}
	if err := checkApply(good()); err != nil {
		t.Fatalf("a good lease is refused: %v", err)
	}
	for name, mod := range map[string]func(l *Lease){
		"defaulted lease time": func(l *Lease) { l.LeaseTimeDefaulted = true },
		"infinite":             func(l *Lease) { l.LeaseTime = dhcpopt.Infinite.Duration() },
		"expired":              func(l *Lease) { l.Acquired = time.Now().Add(-2 * time.Hour) },
		"released":             func(l *Lease) { l.Released = time.Now() },
		"network address":      func(l *Lease) { l.Address = netip.MustParseAddr("198.18.0.0") },
		"broadcast address":    func(l *Lease) { l.Address = netip.MustParseAddr("198.18.0.255") },
		"multicast":            func(l *Lease) { l.Address = netip.MustParseAddr("224.0.0.5") },
		"loopback":             func(l *Lease) { l.Address = netip.MustParseAddr("127.0.0.2") },
		"limited broadcast":    func(l *Lease) { l.Address = netip.MustParseAddr("255.255.255.255") },
	} {
		l := good()
		mod(l)
		if err := checkApply(l); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
}
