package dhcpclient

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// fakeLink is a Conn whose far end is a Go function: every frame the client
// writes goes to respond, and the frames it returns are queued for reading.
type fakeLink struct {
	mu      sync.Mutex
	sent    []sentFrame
	in      chan []byte
	respond func(frame []byte) [][]byte
	// csum is the checksum status ReadFrame reports.
	csum capture.ChecksumStatus
}

type sentFrame struct {
	at    time.Time
	frame []byte
}

func newFakeLink(respond func(frame []byte) [][]byte) *fakeLink {
	return &fakeLink{in: make(chan []byte, 256), respond: respond}
}

func (f *fakeLink) WriteFrame(ctx context.Context, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cp := append([]byte(nil), frame...)
	f.mu.Lock()
	f.sent = append(f.sent, sentFrame{time.Now(), cp})
	f.mu.Unlock()
	if f.respond != nil {
		for _, r := range f.respond(cp) {
			f.in <- r
		}
	}
	return nil
}

func (f *fakeLink) ReadFrame(ctx context.Context, b []byte) (int, capture.FrameInfo, error) {
	select {
	case fr := <-f.in:
		return copy(b, fr), capture.FrameInfo{Time: time.Now(), Length: len(fr), Dir: capture.Inbound, Checksum: f.csum}, nil
	case <-ctx.Done():
		return 0, capture.FrameInfo{}, ctx.Err()
	}
}

func (f *fakeLink) frames() []sentFrame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentFrame(nil), f.sent...)
}

// dhcpSent returns the DHCP packets the client sent, decoded.
func (f *fakeLink) dhcpSent(t *testing.T) []*craft.DHCPPacket {
	t.Helper()
	var out []*craft.DHCPPacket
	for _, s := range f.frames() {
		var eth craft.Ethernet
		if _, err := craft.DecodeEthernet(s.frame, &eth); err != nil || eth.EtherType != craft.EtherTypeIPv4 {
			continue
		}
		p, err := craft.DecodeDHCP(s.frame)
		if err != nil {
			t.Fatalf("client sent an undecodable DHCP frame: %v", err)
		}
		out = append(out, p)
	}
	return out
}

var (
	clientMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x10}
	serverMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	server2MAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	holderMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x66}
	serverIP   = netip.MustParseAddr("198.18.0.1")
	server2IP  = netip.MustParseAddr("198.18.0.2")
)

// fakeServer answers like a lab DHCP server. Fields tweak its behaviour.
type fakeServer struct {
	mu        sync.Mutex
	ip        netip.Addr
	mac       net.HardwareAddr
	pool      []netip.Addr // next address offered, in turn
	next      int
	dropFirst int                               // DISCOVERs to ignore first
	naks      int                               // REQUESTs to NAK first
	holders   map[netip.Addr]net.HardwareAddr   // addresses another host answers ARP for
	arpFor    map[netip.Addr]net.HardwareAddr   // addresses the fake resolves (servers, routers)
	before    func(req *dhcpv4.DHCPv4) [][]byte // frames injected before each reply
	seen      map[dhcpv4.MessageType]int
	askARP    netip.Addr // if set, the server ARPs for it before answering a unicast REQUEST
}

func newFakeServer() *fakeServer {
	return &fakeServer{
		ip: serverIP, mac: serverMAC,
		pool:    []netip.Addr{netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("198.18.0.101"), netip.MustParseAddr("198.18.0.102")},
		holders: map[netip.Addr]net.HardwareAddr{},
		arpFor:  map[netip.Addr]net.HardwareAddr{serverIP: serverMAC},
		seen:    map[dhcpv4.MessageType]int{},
	}
}

// reply builds a server reply to req of type typ offering yiaddr.
func (s *fakeServer) reply(t testing.TB, req *dhcpv4.DHCPv4, typ dhcpv4.MessageType, yiaddr netip.Addr, mods ...dhcpv4.Modifier) []byte {
	m, err := dhcpv4.NewReplyFromRequest(req,
		dhcpv4.WithMessageType(typ),
		dhcpv4.WithServerIP(ip4(s.ip)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip4(s.ip))),
	)
	if err != nil {
		t.Fatal(err)
	}
	if typ != dhcpv4.MessageTypeNak {
		m.YourIPAddr = ip4(yiaddr)
		m.UpdateOption(dhcpv4.OptSubnetMask(net.CIDRMask(24, 32)))
		m.UpdateOption(dhcpv4.OptRouter(ip4(s.ip)))
		m.UpdateOption(dhcpv4.OptDNS(ip4(s.ip)))
		m.UpdateOption(dhcpv4.OptDomainName("lab.test"))
		m.UpdateOption(dhcpv4.OptIPAddressLeaseTime(time.Hour))
	} else {
		m.YourIPAddr = ip4(netip.Addr{})
		m.UpdateOption(dhcpv4.OptMessage("wrong address"))
	}
	for _, mod := range mods {
		mod(m)
	}
	frame, err := craft.EncodeDHCP(m, craft.ServerReply(m, s.mac, s.ip))
	if err != nil {
		t.Fatal(err)
	}
	return frame
}

// handler returns the fakeLink respond function for the server.
func (s *fakeServer) handler(t testing.TB) func([]byte) [][]byte {
	return func(frame []byte) [][]byte {
		s.mu.Lock()
		defer s.mu.Unlock()
		var eth craft.Ethernet
		payload, err := craft.DecodeEthernet(frame, &eth)
		if err != nil {
			t.Errorf("client sent a bad frame: %v", err)
			return nil
		}
		if eth.EtherType == craft.EtherTypeARP {
			var a craft.ARP
			if err := craft.DecodeARP(payload, &a); err != nil {
				t.Errorf("client sent a bad ARP: %v", err)
				return nil
			}
			if a.Op != craft.ARPRequest {
				return nil
			}
			mac, ok := s.holders[a.TargetIP]
			if !ok {
				mac, ok = s.arpFor[a.TargetIP]
			}
			if !ok || a.IsGratuitous() {
				return nil
			}
			rep := craft.NewARPReply(mac, a.TargetIP, a.SenderMAC, a.SenderIP)
			return [][]byte{craft.AppendARP(nil, craft.Ethernet{Dst: a.SenderMAC, Src: mac}, rep)}
		}
		p, err := craft.DecodeDHCP(frame)
		if err != nil {
			t.Errorf("client sent a bad DHCP frame: %v", err)
			return nil
		}
		req := p.Msg
		typ := req.MessageType()
		s.seen[typ]++
		var out [][]byte
		if s.before != nil {
			out = append(out, s.before(req)...)
		}
		switch typ {
		case dhcpv4.MessageTypeDiscover:
			if s.dropFirst > 0 {
				s.dropFirst--
				return nil
			}
			out = append(out, s.reply(t, req, dhcpv4.MessageTypeOffer, s.pool[s.next%len(s.pool)]))
		case dhcpv4.MessageTypeRequest:
			if sid := req.ServerIdentifier(); sid != nil && !sid.Equal(ip4(s.ip)) {
				return out // the client chose another server
			}
			if s.naks > 0 {
				s.naks--
				s.next++
				return append(out, s.reply(t, req, dhcpv4.MessageTypeNak, netip.Addr{}))
			}
			addr := addr4(req.RequestedIPAddress())
			if !addr.IsValid() {
				addr = addr4(req.ClientIPAddr)
			}
			if s.askARP.IsValid() {
				a := craft.NewARPRequest(s.mac, s.ip, s.askARP)
				out = append(out, craft.AppendARP(nil, craft.Ethernet{Dst: craft.Broadcast, Src: s.mac}, a))
			}
			out = append(out, s.reply(t, req, dhcpv4.MessageTypeAck, addr))
		case dhcpv4.MessageTypeDecline:
			s.next++
		case dhcpv4.MessageTypeInform:
			out = append(out, s.reply(t, req, dhcpv4.MessageTypeAck, netip.Addr{}, func(m *dhcpv4.DHCPv4) {
				m.YourIPAddr = ip4(netip.Addr{})
				m.Options.Del(dhcpv4.OptionIPAddressLeaseTime)
			}))
		}
		return out
	}
}

// fixedRand makes jitter deterministic: always the middle of the range
// (zero jitter) when mid is set, else the top.
func fixedRand(top bool) func(time.Duration) time.Duration {
	return func(n time.Duration) time.Duration {
		if top {
			return n
		}
		return n / 2
	}
}

func xidOf(m *dhcpv4.DHCPv4) uint32 { return binary.BigEndian.Uint32(m.TransactionID[:]) }

func testConfig() Config {
	// The fake answers inside WriteFrame, so replies are queued before the
	// client waits: the timeouts only matter when nothing answers, and are
	// generous so that a loaded machine does not retransmit.
	return Config{Interface: "fake0", HWAddr: clientMAC, Timeout: 500 * time.Millisecond, Tries: 3,
		Rand: fixedRand(false), ProbeWait: 100 * time.Millisecond, DeclineWait: 50 * time.Millisecond}
}
