package craft

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMAC(t *testing.T) {
	want := net.HardwareAddr{0xaa, 0xbb, 0xcc, 0x0d, 0xee, 0xff}
	tests := []struct {
		in      string
		want    net.HardwareAddr
		wantErr string // substring of the error; "" means success
	}{
		{in: "aa:bb:cc:0d:ee:ff", want: want},
		{in: "AA:BB:CC:0D:EE:FF", want: want},
		{in: "aa:bb:cc:d:ee:ff", want: want}, // BSD/macOS drop leading zeros
		{in: "aa-bb-cc-0d-ee-ff", want: want},
		{in: "aabb.cc0d.eeff", want: want},
		{in: "AABB.CC0D.EEFF", want: want},
		{in: "aabbcc-0deeff", want: want},
		{in: "aabbcc0deeff", want: want},
		{in: "ff:ff:ff:ff:ff:ff", want: Broadcast},
		{in: "00:00:00:00:00:00", want: net.HardwareAddr{0, 0, 0, 0, 0, 0}},

		{in: "", wantErr: "empty"},
		{in: "aa:bb:cc:dd:ee", wantErr: "want 6 groups, got 5"},
		{in: "aa:bb:cc:dd:ee:ff:00:11", wantErr: "want 6 groups, got 8"}, // EUI-64
		{in: "aa:bb:cc:dd:ee:fg", wantErr: "invalid character 'g' at position 17"},
		{in: "aa:bb::dd:ee:ff", wantErr: "empty group 3"},
		{in: "aaa:bb:cc:dd:ee:ff", wantErr: "more than 2 hex digits"},
		{in: "aa:bb-cc:dd:ee:ff", wantErr: "mixed separators"},
		{in: "aabb.ccdd", wantErr: "want 3 groups, got 2"},
		{in: "aabb.ccd.eeff", wantErr: `group 2 "ccd" is not 4 hex digits`},
		{in: "aabbccddeef", wantErr: "want 12 hex digits, got 11"},
		{in: "aabbccddeeffaa", wantErr: "want 12 hex digits, got 14"},
		{in: "zzbbccddeeff", wantErr: "invalid character 'z' at position 1"},
		{in: " aa:bb:cc:dd:ee:ff", wantErr: "invalid character ' ' at position 1"},
		{in: "aa:bb:cc:dd:ee:ff\n", wantErr: "invalid character '\\n' at position 18"},
		{in: "aa:bb:cc:dd:ee:ff:", wantErr: "want 6 groups, got 7"},
		{in: "aabb-ccdd-eeff", wantErr: "want 6 groups, got 3"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMAC(tt.in)
			if tt.wantErr != "" {
				var me *MACError
				if !errors.As(err, &me) {
					t.Fatalf("ParseMAC(%q) = %v, %v; want a *MACError", tt.in, got, err)
				}
				if me.Input != tt.in || !strings.Contains(me.Reason, tt.wantErr) {
					t.Errorf("ParseMAC(%q): %+v; want reason containing %q", tt.in, me, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "craft: invalid MAC address ") || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q is not one line with the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMAC(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseMAC(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestRandomMAC(t *testing.T) {
	seen := map[string]bool{}
	for range 64 {
		m := RandomMAC()
		if len(m) != 6 {
			t.Fatalf("RandomMAC() = %v, want 6 bytes", m)
		}
		if m[0]&0x02 == 0 || m[0]&0x01 != 0 {
			t.Errorf("RandomMAC() = %v: want locally administered (0x02) unicast (not 0x01)", m)
		}
		seen[m.String()] = true
	}
	if len(seen) < 60 { // 46 random bits: a collision among 64 is ~3e-11
		t.Errorf("64 RandomMAC calls gave only %d distinct addresses", len(seen))
	}
}

func TestFlagValues(t *testing.T) {
	var m MACFlag
	if err := m.Set("02-00-5E-00-53-01"); err != nil || m.String() != "02:00:5e:00:53:01" || m.Type() != "MAC" {
		t.Errorf("MACFlag: %v %q", err, m.String())
	}
	if err := m.Set("random"); err != nil || m.HardwareAddr[0]&3 != 2 {
		t.Errorf("MACFlag random: %v %s", err, m)
	}
	if err := m.Set("02:00"); err == nil || strings.Contains(err.Error(), "craft:") {
		t.Errorf("MACFlag 02:00: %v, want an error without the package prefix", err)
	}
	var a IPv4Flag
	if a.String() != "" || a.Or(netip.IPv4Unspecified()) != netip.IPv4Unspecified() {
		t.Errorf("unset IPv4Flag: %q", a.String())
	}
	if err := a.Set("198.18.0.1"); err != nil || a.String() != "198.18.0.1" || a.Or(netip.Addr{}) != a.Addr {
		t.Errorf("IPv4Flag: %v %q", err, a.String())
	}
	for _, bad := range []string{"::1", "198.18.0.300", ""} {
		if err := a.Set(bad); err == nil {
			t.Errorf("IPv4Flag.Set(%q): no error", bad)
		}
	}
}
