package netnstest

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLabPrefix(t *testing.T) {
	tests := []struct {
		cidr string
		ok   bool
	}{
		{"198.18.0.1/24", true},
		{"198.19.255.254/16", true},
		{"198.18.0.0/15", true},
		{"198.18.0.1/32", true},
		{"198.18.0.1/8", false}, // the on-link route would leave the block
		{"198.20.0.1/24", false},
		{"192.168.1.1/24", false},
		{"10.0.0.1/8", false},
		{"::1/128", false},
		{"198.18.0.1", false},
		{"nonsense", false},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			_, err := ParseLabPrefix(tt.cidr)
			if (err == nil) != tt.ok {
				t.Errorf("ParseLabPrefix(%q) error = %v, want ok=%v", tt.cidr, err, tt.ok)
			}
		})
	}
}

func TestCheckLabAddr(t *testing.T) {
	for a, ok := range map[string]bool{"198.18.0.1": true, "198.19.255.255": true, "198.17.255.255": false, "198.20.0.0": false, "::ffff:198.18.0.1": false} {
		if err := CheckLabAddr(netip.MustParseAddr(a)); (err == nil) != ok {
			t.Errorf("CheckLabAddr(%s) = %v, want ok=%v", a, err, ok)
		}
	}
}

func TestHostCIDRs(t *testing.T) {
	want := []string{"198.18.0.254/23", "198.18.0.255/23", "198.18.1.0/23"}
	if diff := cmp.Diff(want, HostCIDRs("198.18.0.254", 23, 3)); diff != "" {
		t.Errorf("HostCIDRs (-want +got):\n%s", diff)
	}
	defer func() {
		if recover() == nil {
			t.Error("HostCIDRs leaving the lab block did not panic")
		}
	}()
	HostCIDRs("198.19.255.255", 24, 2)
}
