package capture

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireTool skips the test when a tool is missing, or fails it when
// RAWLAB_REQUIRE_NETNS=1 (CI installs every tool).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("RAWLAB_REQUIRE_NETNS") == "1" {
			t.Fatalf("%s is required: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// checkTshark runs tshark with IP, UDP and ICMP checksum validation over
// a capture file and fails the test on any warning or error, or when one of
// wants is missing from its verbose output. It returns the output.
func checkTshark(t *testing.T, path string, wants ...string) string {
	t.Helper()
	tshark := requireTool(t, "tshark")
	cmd := exec.Command(tshark,
		"-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-r", path, "-V")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user preferences
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", path, err, text)
	}
	for _, bad := range []string{"[Malformed", "Expert Info (Warning", "Expert Info (Error", "appears to be damaged", "cut short"} {
		if strings.Contains(text, bad) {
			t.Errorf("tshark reports %q on %s:\n%s", bad, path, text)
		}
	}
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("tshark output lacks %q:\n%s", w, text)
		}
	}
	return text
}

// TestTsharkReadsRecording writes ARP, DHCP and ICMP frames, tagged and
// untagged, with directions and comments, in both formats, and has tshark
// dissect them with checksum validation on.
func TestTsharkReadsRecording(t *testing.T) {
	t0 := time.Now()
	recs := []Record{
		{Time: t0, Data: arpFrame(0, 1, macA, ipA, make([]byte, 6), ipB), Dir: Outbound, Comment: "rawlab arp request"},
		{Time: t0.Add(time.Millisecond), Data: arpFrame(0, 2, macB, ipB, macA, ipA), Dir: Inbound},
		{Time: t0.Add(2 * time.Millisecond), Data: ipv4Frame(0, 17, 0, nil, udpPayload(68, 67, bootp(macA))), Dir: Outbound},
		{Time: t0.Add(3 * time.Millisecond), Data: ipv4Frame(0x8100, 1, 0, nil, icmpEcho(7, 1)), Dir: Outbound, Comment: "tagged echo"},
		{Time: t0.Add(4 * time.Millisecond), Data: ipv4Frame(0, 1, 0, nil, icmpEcho(7, 2))},
	}
	for _, f := range []Format{FormatPcapng, FormatPcap} {
		t.Run(f.String(), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x."+f.String())
			r, err := CreateRecorder(p, RecorderOptions{Format: f, Interface: "veth-test"})
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				if err := r.Write(rec); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			wants := []string{
				"Address Resolution Protocol (request)", "Address Resolution Protocol (reply)",
				"Dynamic Host Configuration Protocol (Discover)", "802.1Q Virtual LAN", "Echo (ping) request",
				"[Header checksum status: Good]", "[Checksum Status: Good]",
			}
			if f == FormatPcapng {
				wants = append(wants, "Interface name: veth-test", "rawlab arp request", "tagged echo",
					"Direction: Inbound", "Direction: Outbound")
			}
			checkTshark(t, p, wants...)
		})
	}
}
