package capture

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/bpf"
)

func TestBuiltinFilter(t *testing.T) {
	dhcp := udpPayload(68, 67, bootp(macA))
	type want struct{ all, arp, icmp, dhcp bool }
	tests := []struct {
		name  string
		frame []byte
		want  want
	}{
		{"arp request", arpFrame(0, 1, macA, ipA, make([]byte, 6), ipB), want{all: true, arp: true}},
		{"arp reply 802.1Q", arpFrame(0x8100, 2, macB, ipB, macA, ipA), want{all: true, arp: true}},
		{"arp 802.1ad", arpFrame(0x88a8, 1, macA, ipA, make([]byte, 6), ipB), want{all: true, arp: true}},
		{"icmp", ipv4Frame(0, 1, 0, nil, icmpEcho(1, 1)), want{all: true, icmp: true}},
		{"icmp 802.1Q", ipv4Frame(0x8100, 1, 0, nil, icmpEcho(1, 1)), want{all: true, icmp: true}},
		{"icmp fragment", ipv4Frame(0, 1, 0x2000, nil, icmpEcho(1, 1)), want{all: true, icmp: true}},
		{"dhcp discover", ipv4Frame(0, 17, 0, nil, dhcp), want{all: true, dhcp: true}},
		{"dhcp discover DF", ipv4Frame(0, 17, 0x4000, nil, dhcp), want{all: true, dhcp: true}},
		{"dhcp 802.1Q", ipv4Frame(0x8100, 17, 0, nil, dhcp), want{all: true, dhcp: true}},
		{"dhcp 802.1ad", ipv4Frame(0x88a8, 17, 0, nil, dhcp), want{all: true, dhcp: true}},
		{"dhcp IP options", ipv4Frame(0, 17, 0, []byte{0x94, 4, 0, 0}, dhcp), want{all: true, dhcp: true}},
		{"dhcp IP options 802.1Q", ipv4Frame(0x8100, 17, 0, []byte{1, 1, 1, 0}, dhcp), want{all: true, dhcp: true}},
		{"udp src 67", ipv4Frame(0, 17, 0, nil, udpPayload(67, 40000, []byte("x"))), want{all: true, dhcp: true}},
		{"udp dst 68", ipv4Frame(0, 17, 0, nil, udpPayload(40000, 68, []byte("x"))), want{all: true, dhcp: true}},
		{"udp 53", ipv4Frame(0, 17, 0, nil, udpPayload(40000, 53, []byte("x"))), want{all: true}},
		{"udp 53 with 67 inside", ipv4Frame(0, 17, 0, nil, udpPayload(53, 53, []byte{0, 67, 0, 68})), want{all: true}},
		{"tcp 67", ipv4Frame(0, 6, 0, nil, udpPayload(68, 67, nil)), want{all: true}},
		{"dhcp first fragment (MF)", ipv4Frame(0, 17, 0x2000, nil, dhcp), want{all: true}},
		{"dhcp later fragment", ipv4Frame(0, 17, 0x0010, nil, dhcp), want{all: true}},
		{"ipv6", pad60(ethHeader(macB, macA, 0, 0, 0x86dd)), want{all: true}},
		{"ipv6 802.1Q", pad60(ethHeader(macB, macA, 0x8100, 5, 0x86dd)), want{all: true}},
		{"short", []byte{1, 2, 3}, want{all: true}},
		{"short tagged", ethHeader(macB, macA, 0x8100, 5, 0x0800), want{all: true}},
		{"truncated ipv4", ethHeader(macB, macA, 0, 0, 0x0800), want{all: true}},
	}
	progs := map[string]*bpf.VM{}
	for _, name := range FilterNames() {
		raw, err := BuiltinFilter(name)
		if err != nil {
			t.Fatalf("BuiltinFilter(%q): %v", name, err)
		}
		insns, ok := bpf.Disassemble(raw)
		if !ok {
			t.Fatalf("BuiltinFilter(%q) does not disassemble", name)
		}
		vm, err := bpf.NewVM(insns)
		if err != nil {
			t.Fatalf("BuiltinFilter(%q): %v", name, err)
		}
		progs[name] = vm
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got want
			for name, dst := range map[string]*bool{"all": &got.all, "arp": &got.arp, "icmp": &got.icmp, "dhcp": &got.dhcp} {
				n, err := progs[name].Run(tt.frame)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if n != 0 && n != AcceptLength {
					t.Errorf("%s returned %d, want 0 or %d", name, n, AcceptLength)
				}
				*dst = n != 0
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("accepts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuiltinFilterUnknown(t *testing.T) {
	for _, name := range []string{"", "ARP", "tcp", "udp port 67"} {
		if _, err := BuiltinFilter(name); err == nil {
			t.Errorf("BuiltinFilter(%q) = nil error, want one", name)
		}
	}
}

func TestApplySnapLen(t *testing.T) {
	arp, err := BuiltinFilter("arp")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		prog    []bpf.RawInstruction
		snaplen int
		want    []uint32 // the K of every return, in order
	}{
		{"nil", nil, 96, []uint32{96}},
		{"unchanged", arp, 0, []uint32{AcceptLength, 0, AcceptLength, 0}},
		{"capped", arp, 128, []uint32{128, 0, 128, 0}},
		{"larger", arp, 1 << 20, []uint32{AcceptLength, 0, AcceptLength, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []uint32
			for _, ins := range ApplySnapLen(tt.prog, tt.snaplen) {
				if ins.Op == 0x06 {
					got = append(got, ins.K)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("returns (-want +got):\n%s", diff)
			}
		})
	}
	if arp[3].K != AcceptLength && arp[len(arp)-2].K != AcceptLength {
		t.Errorf("ApplySnapLen modified its input")
	}
}
