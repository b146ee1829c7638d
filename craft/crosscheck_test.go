package craft

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// crossFrames returns frames built by every builder, tagged and untagged,
// for the checks against independent decoders below.
func crossFrames(t *testing.T) map[string][]byte {
	t.Helper()
	mac, peer := mustMAC(t, "02:00:5e:00:00:01"), mustMAC(t, "02:00:5e:00:00:02")
	ip1, ip2 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	disc, err := dhcpv4.NewDiscovery(mac, dhcpv4.WithOption(dhcpv4.OptHostName("lab1")),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer))
	if err != nil {
		t.Fatal(err)
	}
	dhcpFrame, err := EncodeDHCP(disc, ClientBroadcast(mac, netip.Addr{}))
	if err != nil {
		t.Fatal(err)
	}
	a := ClientUnicast(mac, ip1, peer, ip2)
	a.VLAN = &VLAN{ID: 42, Priority: 2}
	dhcpTagged, err := EncodeDHCP(disc, a)
	if err != nil {
		t.Fatal(err)
	}
	tag := &VLAN{ID: 10, Priority: 5, DEI: true}
	return map[string][]byte{
		"arp":         AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac}, NewARPRequest(mac, ip1, ip2)),
		"arp tagged":  AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac, VLAN: tag}, NewARPProbe(mac, ip2)),
		"udp":         AppendUDP(nil, Ethernet{Dst: peer, Src: mac}, IPv4{Src: ip1, Dst: ip2, ID: 77, DontFragment: true}, UDP{SrcPort: 40000, DstPort: 9}, []byte("odd")),
		"udp tagged":  AppendUDP(nil, Ethernet{Dst: peer, Src: mac, VLAN: tag}, IPv4{Src: ip1, Dst: ip2, TTL: 3, TOS: 0xb8}, UDP{SrcPort: 1, DstPort: 2}, make([]byte, 100)),
		"icmp":        AppendICMPEcho(nil, Ethernet{Dst: peer, Src: mac}, IPv4{Src: ip1, Dst: ip2}, ICMPEcho{Type: 8, ID: 9, Seq: 3, Data: []byte("abcde")}),
		"icmp tagged": AppendICMPEcho(nil, Ethernet{Dst: peer, Src: mac, VLAN: tag}, IPv4{Src: ip2, Dst: ip1}, ICMPEcho{Type: 0, ID: 9, Seq: 3}),
		"dhcp":        dhcpFrame,
		"dhcp tagged": dhcpTagged,
	}
}

// TestGopacketAgrees decodes our frames with gopacket's layers, then has
// gopacket serialize the same layers, computing lengths and checksums
// itself: the bytes must be ours.
func TestGopacketAgrees(t *testing.T) {
	for name, frame := range crossFrames(t) {
		t.Run(name, func(t *testing.T) {
			pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
			if el := pkt.ErrorLayer(); el != nil {
				t.Fatalf("gopacket: %v", el.Error())
			}
			var ser []gopacket.SerializableLayer
			for _, l := range pkt.Layers() {
				switch l := l.(type) {
				case *layers.IPv4:
					// Make gopacket recompute: zero what we computed.
					l.Checksum, l.Length, l.IHL = 0, 0, 0
					ser = append(ser, l)
				case *layers.UDP:
					l.Checksum, l.Length = 0, 0
					if ip, ok := pkt.NetworkLayer().(*layers.IPv4); ok {
						l.SetNetworkLayerForChecksum(ip)
					}
					ser = append(ser, l)
				case *layers.ICMPv4:
					l.Checksum = 0 // its data follows as a Payload layer
					ser = append(ser, l)
				case *layers.DHCPv4:
					ser = append(ser, gopacket.Payload(l.Contents))
				case gopacket.SerializableLayer:
					ser = append(ser, l)
				}
			}
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ser...); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			// gopacket pads nothing: compare up to its length, then check
			// the rest is our zero padding.
			if len(got) > len(frame) {
				t.Fatalf("gopacket built %d bytes, we %d", len(got), len(frame))
			}
			if diff := cmp.Diff(frame[:len(got)], got); diff != "" {
				t.Errorf("(-craft +gopacket):\n%s", diff)
			}
			if strings.Trim(string(frame[len(got):]), "\x00") != "" {
				t.Errorf("padding not zero: % x", frame[len(got):])
			}
			if vl, ok := pkt.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
				if vl.VLANIdentifier != 10 && vl.VLANIdentifier != 42 {
					t.Errorf("gopacket reads VLAN %d", vl.VLANIdentifier)
				}
			}
			if d, ok := pkt.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4); ok && d.Operation != layers.DHCPOpRequest {
				t.Errorf("gopacket reads DHCP op %v", d.Operation)
			}
		})
	}
}

// TestTsharkChecksums has tshark dissect our frames with IP and UDP checksum
// validation on (ICMP is always checked): every checksum must be good, and
// no frame may carry an expert warning or error.
func TestTsharkChecksums(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	frames := crossFrames(t)
	names := make([]string, 0, len(frames))
	path := filepath.Join(t.TempDir(), "cross.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for name, fr := range frames {
		names = append(names, name)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(fr), Length: len(fr)}, fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", path,
		"-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-T", "fields", "-e", "frame.number", "-e", "frame.protocols", "-e", "_ws.expert.severity",
		"-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "icmp.checksum.status")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(frames) {
		t.Fatalf("tshark printed %d lines for %d frames:\n%s", len(lines), len(frames), out)
	}
	for i, line := range lines {
		fields := strings.Split(line, "\t")
		for len(fields) < 6 {
			fields = append(fields, "")
		}
		name := names[i]
		// Expert severities: 0x00600000 is a warning, 0x00800000 an error.
		for _, sev := range strings.Split(fields[2], ",") {
			if n, _ := strconv.ParseUint(sev, 10, 32); n >= 0x00600000 {
				t.Errorf("%s: expert info severity %#x: %s", name, n, line)
			}
		}
		// Checksum status 1 is "Good" (0 bad, 2 unverified, 3 not present).
		for j, proto := range []string{"ip", "udp", "icmp"} {
			if strings.Contains(fields[1], ":"+proto) && fields[3+j] != "1" {
				t.Errorf("%s: %s checksum status %q, want 1 (good): %s", name, proto, fields[3+j], line)
			}
		}
		if strings.HasPrefix(name, "dhcp") && !strings.Contains(fields[1], "dhcp") {
			t.Errorf("%s: tshark does not see DHCP: %s", name, fields[1])
		}
		if strings.HasSuffix(name, "tagged") && !strings.Contains(fields[1], "vlan") {
			t.Errorf("%s: tshark does not see the tag: %s", name, fields[1])
		}
	}
}
