package craft

import (
	"errors"
	"io"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVLANTagging(t *testing.T) {
	src, dst := mustMAC(t, "02:00:5e:00:00:01"), Broadcast
	tests := []struct {
		name    string
		vlan    *VLAN
		wantHdr string // bytes 12 up to the payload
	}{
		{"untagged", nil, "0806"},
		{"vlan 10", &VLAN{ID: 10}, "8100000a0806"},
		// PCP 5 (101) DEI 1 VID 10: 1011 0000 0000 1010.
		{"pcp 5 dei vlan 10", &VLAN{Priority: 5, DEI: true, ID: 10}, "8100b00a0806"},
		{"vlan 4095 pcp 7", &VLAN{Priority: 7, ID: 4095}, "8100efff0806"},
		{"vlan 0 (priority tag)", &VLAN{Priority: 3}, "810060000806"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eth := Ethernet{Dst: dst, Src: src, VLAN: tt.vlan}
			a := NewARPRequest(src, netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("198.18.0.1"))
			f := AppendARP(nil, eth, a)
			hl := 14
			if tt.vlan != nil {
				hl = 18
			}
			if diff := cmp.Diff(unhexString(t, tt.wantHdr), f[12:hl]); diff != "" {
				t.Errorf("tag bytes (-want +got):\n%s", diff)
			}
			if len(f) != 60 || hl+ARPLen > 60 {
				t.Errorf("frame length %d, want 60 (padded)", len(f))
			}
			var back Ethernet
			payload, err := DecodeEthernet(f, &back)
			if err != nil {
				t.Fatal(err)
			}
			eth.EtherType = EtherTypeARP
			if eth.VLAN != nil { // decoded with the TPID it had on the wire
				v := *eth.VLAN
				v.TPID = EtherTypeVLAN
				eth.VLAN = &v
			}
			if diff := cmp.Diff(eth, back); diff != "" {
				t.Errorf("decode (-want +got):\n%s", diff)
			}
			if len(payload) != 60-hl {
				t.Errorf("payload %d bytes, want %d", len(payload), 60-hl)
			}
			var ba ARP
			if err := DecodeARP(payload, &ba); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(a, ba, cmpOpts); diff != "" {
				t.Errorf("ARP (-want +got):\n%s", diff)
			}
		})
	}
	// Out-of-range fields are masked, not spilled into neighbouring bits.
	f := AppendEthernet(nil, Ethernet{VLAN: &VLAN{Priority: 0xff, ID: 0xffff}, EtherType: EtherTypeIPv4})
	var e Ethernet
	DecodeEthernet(f, &e)
	if *e.VLAN != (VLAN{Priority: 7, ID: 0xfff, TPID: EtherTypeVLAN}) {
		t.Errorf("masked tag decoded as %+v", *e.VLAN)
	}
}

func TestDecodeEthernetErrors(t *testing.T) {
	var e Ethernet
	for _, n := range []int{0, 1, 13} {
		if _, err := DecodeEthernet(make([]byte, n), &e); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%d bytes: %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
	tagged := AppendEthernet(nil, Ethernet{VLAN: &VLAN{ID: 1}, EtherType: EtherTypeARP})
	for _, n := range []int{14, 17} {
		if _, err := DecodeEthernet(tagged[:n], &e); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("tagged, %d bytes: %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
	// Decoding an untagged frame after a tagged one clears the tag.
	DecodeEthernet(tagged, &e)
	DecodeEthernet(AppendEthernet(nil, Ethernet{EtherType: EtherTypeARP}), &e)
	if e.VLAN != nil {
		t.Errorf("VLAN %+v left over from the previous frame", e.VLAN)
	}
}

func TestEtherTypeString(t *testing.T) {
	for _, tt := range []struct {
		t    EtherType
		want string
	}{{EtherTypeIPv4, "IPv4"}, {EtherTypeARP, "ARP"}, {EtherTypeVLAN, "802.1Q"}, {EtherTypeIPv6, "IPv6"},
		{0, "0x0000"}, {0x1234, "0x1234"}} {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("EtherType(%#x).String() = %q, want %q", uint16(tt.t), got, tt.want)
		}
	}
}
