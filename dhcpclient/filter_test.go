package dhcpclient

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"golang.org/x/net/bpf"
)

// testFrames builds one frame of each kind the filter must tell apart.
func testFrames(t testing.TB) map[string][]byte {
	srv := newFakeServer()
	req, err := dhcpv4.NewDiscovery(clientMAC)
	if err != nil {
		t.Fatal(err)
	}
	offer := srv.reply(t, req, dhcpv4.MessageTypeOffer, srv.pool[0])
	request, err := craft.EncodeDHCP(req, craft.ClientBroadcast(clientMAC, netip.Addr{}))
	if err != nil {
		t.Fatal(err)
	}
	tag := func(f []byte, tpid uint16) []byte {
		return append(append(append([]byte(nil), f[:12]...), byte(tpid>>8), byte(tpid), 0x00, 0x07), f[12:]...)
	}
	relayed := append([]byte(nil), offer...)
	relayed[14+20+3] = 67 // UDP destination port 67: a reply to a relay agent
	fragment := append([]byte(nil), offer...)
	fragment[14+6] = 0x00
	fragment[14+7] = 0x10 // fragment offset 16
	arp := craft.AppendARP(nil, craft.Ethernet{Dst: craft.Broadcast, Src: serverMAC},
		craft.NewARPRequest(serverMAC, serverIP, netip.MustParseAddr("198.18.0.100")))
	dns := craft.AppendUDP(nil, craft.Ethernet{Dst: clientMAC, Src: serverMAC},
		craft.IPv4{Protocol: 17, Src: serverIP, Dst: netip.MustParseAddr("198.18.0.100")}, craft.UDP{SrcPort: 53, DstPort: 68}, make([]byte, 40))
	icmp := craft.AppendICMPEcho(nil, craft.Ethernet{Dst: clientMAC, Src: serverMAC},
		craft.IPv4{Protocol: 1, Src: serverIP, Dst: netip.MustParseAddr("198.18.0.100")}, craft.ICMPEcho{Type: 8})
	ipv6 := append([]byte(nil), offer...)
	ipv6[12], ipv6[13] = 0x86, 0xdd
	return map[string][]byte{
		"offer": offer, "offer 802.1Q": tag(offer, 0x8100), "offer 802.1ad": tag(offer, 0x88a8), "reply to relay": relayed,
		"arp": arp, "arp 802.1Q": tag(arp, 0x8100),
		"client request": request, "fragment": fragment, "dns to port 68": dns, "icmp": icmp, "ipv6": ipv6,
		"runt": offer[:13],
	}
}

func TestFilter(t *testing.T) {
	raw, err := Filter()
	if err != nil {
		t.Fatal(err)
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("filter does not disassemble")
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	accept := map[string]bool{"offer": true, "offer 802.1Q": true, "offer 802.1ad": true, "reply to relay": true,
		"arp": true, "arp 802.1Q": true}
	for name, frame := range testFrames(t) {
		t.Run(name, func(t *testing.T) {
			n, err := vm.Run(frame)
			if err != nil {
				t.Fatal(err)
			}
			if got := n > 0; got != accept[name] {
				t.Errorf("filter(%s) = %d, want accepted=%v", name, n, accept[name])
			}
		})
	}
}

// FuzzClientFrame feeds arbitrary frames to a client waiting for an offer
// and then for an ACK: nothing may panic, and only frames that decode as a
// matching reply are accepted.
func FuzzClientFrame(f *testing.F) {
	for _, frame := range testFrames(f) {
		f.Add(frame)
	}
	for _, g := range goldenServers {
		for _, rec := range readGolden(f, g.name) {
			f.Add(rec.Data)
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		link := newFakeLink(nil)
		cfg := testConfig()
		cfg.FixedXID = true
		cfg.XID = 0 // NewDiscovery in testFrames draws a random xid; the fuzzer may find 0
		c, err := New(link, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.claim = netip.MustParseAddr("198.18.0.100")
		h := handler{
			dhcp: func(r *reply) (verdict, error) { return verdict{}, nil },
			arp:  func(a *craft.ARP) (verdict, error) { return verdict{}, nil },
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := c.handle(ctx, frame, time.Now(), capture.ChecksumUnknown, h); err != nil {
			t.Fatalf("handle: %v", err)
		}
		st := c.Report().Stats
		if st.Accepted > 1 || st.Received != 1 {
			t.Fatalf("one frame gave stats %+v", st)
		}
	})
}
