package dhcpclient

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// goldenServers are the lab exchanges recorded by `rawlab dhcp lease -i
// rldc0 --xid 0x1a2b3c4d --hostname rawlab --no-arp-check --pcap
// testdata/SERVER.pcapng` against each server (dnsmasq 2.90 with options 6,
// 26, 42, 119, 121 and 252; ISC dhcpd 4.4; Kea 2.2 with option 121 in hex;
// busybox 1.35 udhcpd -a 0).
var goldenServers = []struct {
	name     string
	address  string
	mask     string
	routers  []netip.Addr
	search   []string
	dnsFirst string
}{
	{"dnsmasq", "198.18.0.112", "255.255.255.0", []netip.Addr{netip.MustParseAddr("198.18.0.1")}, []string{"lab.test", "example.test"}, "198.18.0.53"},
	{"iscdhcpd", "198.18.0.100", "255.255.255.0", []netip.Addr{netip.MustParseAddr("198.18.0.1")}, nil, "198.18.0.53"},
	{"kea", "198.18.0.100", "255.255.255.0", []netip.Addr{netip.MustParseAddr("198.18.0.1")}, nil, "198.18.0.53"},
	{"udhcpd", "198.18.0.150", "255.255.255.0", []netip.Addr{netip.MustParseAddr("198.18.0.1")}, nil, "198.18.0.53"},
}

// readGolden returns the frames of a recorded exchange, in order.
func readGolden(t testing.TB, name string) []capture.Record {
	t.Helper()
	r, err := capture.OpenFile(filepath.Join("testdata", name+".pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []capture.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

// TestGoldenReplay replays each server's recorded replies to a client set up
// as the recording's was: the client must send the recorded DISCOVER and
// REQUEST byte for byte, and accept the server's OFFER and ACK into a lease.
func TestGoldenReplay(t *testing.T) {
	for _, g := range goldenServers {
		t.Run(g.name, func(t *testing.T) {
			recs := readGolden(t, g.name)
			if len(recs) != 4 {
				t.Fatalf("%d frames recorded, want DISCOVER, OFFER, REQUEST, ACK", len(recs))
			}
			discover, err := craft.DecodeDHCP(recs[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			link := newFakeLink(func(frame []byte) [][]byte {
				p, err := craft.DecodeDHCP(frame)
				if err != nil {
					return nil
				}
				switch p.Msg.MessageType() {
				case dhcpv4.MessageTypeDiscover:
					return [][]byte{recs[1].Data}
				case dhcpv4.MessageTypeRequest:
					return [][]byte{recs[3].Data}
				}
				return nil
			})
			// Recorded on a veth from a server on the same host: the
			// kernel left the UDP checksum to be computed (CHECKSUM_PARTIAL).
			link.csum = capture.ChecksumPartial
			cfg := Config{HWAddr: discover.Msg.ClientHWAddr, FixedXID: true, XID: 0x1a2b3c4d, Hostname: "rawlab",
				ARPCheck: ARPCheckNone, Timeout: time.Second, Tries: 1}
			c, err := New(link, cfg)
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.Lease(ctxT(t), Selection{})
			if err != nil {
				t.Fatal(err)
			}
			sent := link.frames()
			for i, want := range []capture.Record{recs[0], recs[2]} {
				if !bytes.Equal(sent[i].frame, want.Data) {
					t.Errorf("sent frame %d differs from the recording:\n got % x\nwant % x", i, sent[i].frame, want.Data)
				}
			}
			if l.Address.String() != g.address || l.Mask.String() != g.mask || l.Server.String() != "198.18.0.1" ||
				l.LeaseTime != time.Hour || l.T1 != 30*time.Minute || l.T2 != 52*time.Minute+30*time.Second {
				t.Errorf("lease %s mask %s from %s, %v/%v/%v", l.Address, l.Mask, l.Server, l.LeaseTime, l.T1, l.T2)
			}
			if d := cmpDiff(g.routers, l.Routers); d != "" {
				t.Errorf("routers (-want +got):\n%s", d)
			}
			if d := cmpDiff(g.search, l.Search); d != "" {
				t.Errorf("search (-want +got):\n%s", d)
			}
			if len(l.DNS) == 0 || l.DNS[0].String() != g.dnsFirst || l.Domain != "lab.test" {
				t.Errorf("dns %v domain %q", l.DNS, l.Domain)
			}
			for _, o := range l.Options {
				if o.Err != "" {
					t.Errorf("option %v did not decode", o)
				}
			}
			if st := c.Report().Stats; st.Accepted != 2 || st.Ignored.Total() != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}
