package oui

import (
	"net"
	"strings"
	"testing"
)

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func TestDefault(t *testing.T) {
	d := Default()
	if !strings.Contains(d.Source(), "oui-data") {
		t.Errorf("header does not name its source: %q", d.Source())
	}
	if n := d.Len(); n < 30000 {
		t.Errorf("embedded table has %d entries, want > 30000", n)
	}
	tests := []struct{ mac, want string }{
		{"00:00:00:12:34:56", "XEROX CORPORATION"},
		{"08:00:27:00:00:01", "PCS Systemtechnik GmbH"},
		{"52:54:00:00:00:01", ""}, // locally administered (QEMU), not registered
		{"ff:ff:ff:ff:ff:ff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mac, func(t *testing.T) {
			if got := d.Lookup(mac(tt.mac)); got != tt.want {
				t.Errorf("Lookup(%s) = %q, want %q", tt.mac, got, tt.want)
			}
		})
	}
}

// TestDefaultEveryEntry looks every embedded key up again: the in-place
// binary search must find each line, first and last included.
func TestDefaultEveryEntry(t *testing.T) {
	d := Default()
	for _, line := range strings.Split(strings.TrimSpace(string(d.body)), "\n") {
		k, v, _ := strings.Cut(line, "\t")
		got, ok := d.find([]byte(k))
		if !ok || string(got) != v {
			t.Fatalf("find(%s) = %q, %v; want %q", k, got, ok, v)
		}
	}
}

func TestLongestPrefix(t *testing.T) {
	// An MA-S (36-bit) block inside an MA-L assigned to the IEEE RA.
	tb, err := Parse(strings.NewReader("# test\n70B3D5\tIEEE Registration Authority\n70B3D5123\tSmall Vendor\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.Lookup(mac("70:b3:d5:12:3f:01")); got != "Small Vendor" {
		t.Errorf("MA-S lookup = %q", got)
	}
	if got := tb.Lookup(mac("70:b3:d5:99:00:01")); got != "IEEE Registration Authority" {
		t.Errorf("MA-L lookup = %q", got)
	}
}

func TestParseMacVendor(t *testing.T) {
	in := "# local names\n\n02:00:5e\tLab router\n52-54-00-12\tQEMU lab VM\n525400\tQEMU\n080027 VirtualBox NIC\n"
	tb, err := Parse(strings.NewReader(in), "mac-vendor.txt")
	if err != nil {
		t.Fatal(err)
	}
	chain := Chain{tb, Default()}
	tests := []struct{ mac, want string }{
		{"02:00:5e:00:00:01", "Lab router"},
		{"52:54:00:12:34:56", "QEMU lab VM"},
		{"52:54:00:99:34:56", "QEMU"},
		{"08:00:27:00:00:01", "VirtualBox NIC"},
		{"00:00:00:00:00:01", "XEROX CORPORATION"},
	}
	for _, tt := range tests {
		if got := chain.Lookup(mac(tt.mac)); got != tt.want {
			t.Errorf("Lookup(%s) = %q, want %q", tt.mac, got, tt.want)
		}
	}
	for _, bad := range []string{"zz\tx\n", "0011\t\n", "00112233445566\tx\n", "justone\n"} {
		if _, err := Parse(strings.NewReader(bad), "bad"); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	d := Default()
	m := mac("08:00:27:00:00:01")
	b.ReportAllocs()
	for b.Loop() {
		if d.Lookup(m) == "" {
			b.Fatal("not found")
		}
	}
}
