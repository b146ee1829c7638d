package dhcpopt

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// goldenOptions returns the options area of every DHCP message in
// testdata/NAME.pcapng: lab exchanges recorded with `rawlab dhcp lease
// --pcap` against dnsmasq 2.90, ISC dhcpd 4.4, Kea 2.2 and busybox udhcpd
// (DISCOVER, OFFER, REQUEST, ACK).
func goldenOptions(t testing.TB, name string) [][]byte {
	t.Helper()
	r, err := capture.OpenFile(filepath.Join("testdata", name+".pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out [][]byte
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p, err := craft.DecodeDHCP(rec.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Raw[240:])
	}
}

var goldenNames = []string{"dnsmasq", "iscdhcpd", "kea", "udhcpd"}

// TestGolden decodes every option the four servers sent and checks the
// texts of the richer ones: dnsmasq's domain search list uses a compression
// pointer (RFC 1035 §4.1.4), Kea's option 121 was given as hex.
func TestGolden(t *testing.T) {
	want := map[string]map[Code]string{
		"dnsmasq": {
			DomainSearch:         "lab.test, example.test",
			ClasslessStaticRoute: "198.19.0.0/16 via 198.18.0.254",
			WPAD:                 "http://wpad.lab.test/wpad.dat",
			InterfaceMTU:         "1500",
			NTPServers:           "198.18.0.123",
			DomainServer:         "198.18.0.53",
			LeaseTime:            "3600 s (1h)",
			RenewalTime:          "1800 s (30m)",
			RebindingTime:        "3150 s (52m30s)",
			BroadcastAddress:     "198.18.0.255",
			Hostname:             "rawlab",
		},
		"kea":      {ClasslessStaticRoute: "198.19.0.0/16 via 198.18.0.1", DomainName: "lab.test", Hostname: "rawlab"},
		"iscdhcpd": {DomainName: "lab.test", SubnetMask: "255.255.255.0 (/24)", Router: "198.18.0.1"},
		"udhcpd":   {DomainName: "lab.test", ServerIdentifier: "198.18.0.1", MessageType: "DHCPACK"},
	}
	for _, name := range goldenNames {
		t.Run(name, func(t *testing.T) {
			msgs := goldenOptions(t, name)
			if len(msgs) != 4 {
				t.Fatalf("%d messages, want 4", len(msgs))
			}
			for i, m := range msgs {
				opts, err := Parse(m)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				for _, o := range opts {
					if o.Err != "" {
						t.Errorf("message %d: %v", i, o)
					}
				}
			}
			ack, _ := Parse(msgs[3])
			for code, text := range want[name] {
				o, ok := Find(ack, code)
				if !ok || o.Text != text {
					t.Errorf("ACK option %d = %q (present %v), want %q", code, o.Text, ok, text)
				}
			}
			if name == "dnsmasq" {
				o, _ := Find(ack, DomainSearch)
				if !bytes.Contains(o.Raw, []byte{0xc0}) {
					t.Errorf("dnsmasq's option 119 % x has no compression pointer", o.Raw)
				}
			}
		})
	}
}
