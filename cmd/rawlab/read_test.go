package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rawlab/rawlab/internal/jsoncheck"
)

// udpPacket returns an IPv4/UDP packet 198.18.0.1:1234 > 198.18.0.2:9
// carrying payload, checksums computed.
func udpPacket(t *testing.T, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(198, 18, 0, 1), DstIP: net.IPv4(198, 18, 0, 2)}
	udp := &layers.UDP{SrcPort: 1234, DstPort: 9}
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// linkFrame puts the link-layer header of lt in front of an IPv4 packet.
func linkFrame(lt layers.LinkType, pkt []byte) []byte {
	mac := []byte{0x02, 0, 0x5e, 0, 0x53, 1}
	switch lt {
	case layers.LinkTypeEthernet:
		h := append(append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac...), 0x08, 0x00)
		return append(h, pkt...)
	case layers.LinkTypeLinuxSLL: // 113: pkttype, hatype, halen, addr[8], protocol
		h := binary.BigEndian.AppendUint16(nil, 4) // outgoing
		h = binary.BigEndian.AppendUint16(h, 1)
		h = binary.BigEndian.AppendUint16(h, 6)
		h = append(append(h, mac...), 0, 0, 0x08, 0x00)
		return append(h, pkt...)
	case 276: // SLL2: protocol, reserved, ifindex, hatype, pkttype, halen, addr[8]
		h := []byte{0x08, 0x00, 0, 0, 0, 0, 0, 7, 0, 1, 0, 6}
		h = append(append(h, mac...), 0, 0)
		return append(h, pkt...)
	}
	return pkt // raw IP
}

// pcapFile writes one classic pcap file of link type lt holding frame.
func pcapFile(t *testing.T, path string, lt layers.LinkType, frame []byte) {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1764800000, 0), CaptureLength: len(frame), Length: len(frame)}
	if err := w.WritePacket(ci, frame); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readLines runs `rawlab read --jsonl` with stdin, checks the lines
// against docs/json.md and decodes them.
func readLines(t *testing.T, stdin []byte, args ...string) (int, []frameRecord, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"read", "--jsonl"}, args...), bytes.NewReader(stdin), &stdout, &stderr)
	if code != 0 {
		return code, nil, stderr.String()
	}
	if err := jsoncheck.Lines(stdout.Bytes()); err != nil {
		t.Errorf("read --jsonl: %v\n%s", err, stdout.String())
	}
	var out []frameRecord
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var l frameRecord
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return code, out, stderr.String()
}

// TestReadLinkTypes: Ethernet, Linux cooked v1 and v2 and raw IP (101, and
// the DLT_RAW values 12 and 14) are decoded down to UDP; any other link
// type is refused with exit 2 and its name.
func TestReadLinkTypes(t *testing.T) {
	dir := t.TempDir()
	pkt := udpPacket(t, []byte("hello"))
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, 276, layers.LinkTypeRaw, 12, 14} {
		t.Run(lt.String(), func(t *testing.T) {
			path := filepath.Join(dir, lt.String()+".pcap")
			pcapFile(t, path, lt, linkFrame(lt, pkt))
			code, frames, stderr := readLines(t, nil, path)
			if code != 0 || len(frames) != 1 {
				t.Fatalf("read: exit %d, %d frames: %s", code, len(frames), stderr)
			}
			s := frames[0].Frame
			if s.UDP == nil || s.UDP.DstPort != 9 || s.IPv4 == nil || s.Error != "" {
				t.Errorf("link type %d decoded as %+v, want IPv4/UDP to port 9", lt, s)
			}
		})
	}
	path := filepath.Join(dir, "wifi.pcap")
	pcapFile(t, path, layers.LinkTypeIEEE80211Radio, make([]byte, 40))
	code, _, stderr := runRawlab(t, "read", path)
	if code != 2 || !strings.Contains(stderr, "link type 127") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("read of an 802.11 radiotap file: exit %d, %q; want 2 and one line naming link type 127", code, stderr)
	}
}

// TestReadMultipleInterfaces: a pcapng file whose second interface is raw
// IP has that interface's packets read, each decoded by its own link type.
func TestReadMultipleInterfaces(t *testing.T) {
	pkt := udpPacket(t, []byte("two interfaces"))
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1764800000, 0)
	for i, f := range []struct {
		intf  int
		frame []byte
	}{{0, linkFrame(layers.LinkTypeEthernet, pkt)}, {raw, pkt}, {0, linkFrame(layers.LinkTypeEthernet, pkt)}, {raw, pkt}} {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), CaptureLength: len(f.frame), Length: len(f.frame), InterfaceIndex: f.intf}
		if err := w.WritePacket(ci, f.frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Through standard input, as `read -` takes it.
	code, frames, stderr := readLines(t, b.Bytes(), "-")
	if code != 0 || len(frames) != 4 {
		t.Fatalf("read -: exit %d, %d frames, want 4: %s", code, len(frames), stderr)
	}
	for i, f := range frames {
		wantProto := "udp"
		if f.Frame.Proto != wantProto || f.Frame.UDP == nil {
			t.Errorf("frame %d (interface %d): %+v, want UDP", i, i%2, f.Frame)
		}
		if i%2 == 1 && f.Frame.Src != nil {
			t.Errorf("frame %d is raw IP but has a source MAC %v: decoded as Ethernet", i, f.Frame.Src)
		}
	}
	// --json: one document.
	var stdout, errb bytes.Buffer
	if code := run(context.Background(), []string{"read", "--json", "-"}, bytes.NewReader(b.Bytes()), &stdout, &errb); code != 0 {
		t.Fatalf("read --json: exit %d: %s", code, errb.String())
	}
	if err := jsoncheck.Document(stdout.Bytes()); err != nil {
		t.Errorf("read --json: %v", err)
	}
	var doc struct {
		Frames []frameRecord `json:"frames"`
		Count  int           `json:"count"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc.Count != 4 || len(doc.Frames) != 4 {
		t.Errorf("read --json: %v, count %d, %d frames; want one document of 4", err, doc.Count, len(doc.Frames))
	}
}

// TestReadSnapLen: a frame cut to 96 bytes keeps its wire length: the text
// says "length 1000" and decodes up to UDP; JSON carries len and caplen.
func TestReadSnapLen(t *testing.T) {
	frame := linkFrame(layers.LinkTypeEthernet, udpPacket(t, make([]byte, 1000-42)))
	if len(frame) != 1000 {
		t.Fatalf("frame of %d bytes", len(frame))
	}
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(96, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1764800000, 0), CaptureLength: 96, Length: 1000}, frame[:96]); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runRawlab(t, "read", path)
	if code != 0 || !strings.Contains(stdout, "length 1000") || !strings.Contains(stdout, "UDP, length 958") {
		t.Errorf("read: exit %d, %q %q; want length 1000 and UDP", code, stdout, stderr)
	}
	code, frames, stderr := readLines(t, nil, path)
	if code != 0 || len(frames) != 1 || frames[0].Frame.Len != 1000 || frames[0].Frame.CapLen != 96 || frames[0].Frame.UDP == nil {
		t.Errorf("read --jsonl: exit %d %s: %+v; want len 1000, caplen 96, UDP", code, stderr, frames)
	}
}

// TestCaptureBadValues: every value is checked before anything is opened:
// exit 2, one line naming the flag, no file.
func TestCaptureBadValues(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "never.pcapng")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-s", "262145"}, "-s 262145"},
		{[]string{"-s", "4294967296"}, "-s 4294967296"},
		{[]string{"-s", "5"}, "-s 5"},
		{[]string{"-s", "-1"}, "-s -1"},
		{[]string{"-C", "0"}, "-C"},
		{[]string{"-W", "3"}, "-W"},
		{[]string{"-B", "-1"}, "-B"},
		{[]string{"-Q", "sideways"}, "-Q"},
		{[]string{"--duration", "-1s"}, "--duration"},
	} {
		code, _, stderr := runRawlab(t, append([]string{"capture", "-i", "rawlab-none0", "-w", out}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("capture %v: exit %d, %q; want 2 and one line with %q", tt.args, code, stderr, tt.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("capture %v left %s behind", tt.args, out)
		}
	}
	// -w - cannot rotate.
	if code, _, stderr := runRawlab(t, "capture", "-i", "rawlab-none0", "-w", "-", "-C", "1"); code != 2 || !strings.Contains(stderr, "-w -") {
		t.Errorf("capture -w - -C 1: exit %d, %q", code, stderr)
	}
	// A symlink planted at -w is refused before the interface is looked at.
	link := filepath.Join(dir, "link.pcapng")
	if err := os.Symlink(filepath.Join(dir, "target"), link); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runRawlab(t, "capture", "-i", "rawlab-none0", "-w", link); code != 2 || !strings.Contains(stderr, "symbolic link") {
		t.Errorf("capture -w SYMLINK: exit %d, %q; want 2 naming the link", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "target")); err == nil {
		t.Errorf("the symlink's target was created")
	}
}

// TestJSONDocumentBounded: a --json document keeps at most max frames,
// counts them all and says it was cut.
func TestJSONDocumentBounded(t *testing.T) {
	var out bytes.Buffer
	p := printerFor(&out, &app{json: true})
	p.max = 2
	frame := linkFrame(layers.LinkTypeEthernet, udpPacket(t, []byte("x")))
	for range 3 {
		if err := p.PrintFrame(1, time.Unix(1764800000, 0), frame, len(frame), 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.End(nil); err != nil {
		t.Fatal(err)
	}
	if err := jsoncheck.Document(out.Bytes()); err != nil {
		t.Error(err)
	}
	var doc struct {
		Frames    []frameRecord `json:"frames"`
		Count     int           `json:"count"`
		Truncated bool          `json:"frames_truncated"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc.Frames) != 2 || doc.Count != 3 || !doc.Truncated {
		t.Errorf("document %s: %v; want 2 frames, count 3, frames_truncated", out.String(), err)
	}
}
