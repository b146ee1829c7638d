package filter

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/bpf"
)

func TestEmptyAcceptsAll(t *testing.T) {
	for _, e := range []string{"", "  ", "\t\n"} {
		prog, err := Compile(e, Options{})
		if err != nil {
			t.Fatalf("%q: %v", e, err)
		}
		want := []bpf.Instruction{bpf.RetConstant{Val: DefaultSnapLen}}
		if diff := cmp.Diff(want, prog); diff != "" {
			t.Errorf("%q (-want +got):\n%s", e, diff)
		}
	}
}

func TestDumpFormat(t *testing.T) {
	tests := []struct {
		expr string
		opt  Options
		want string
	}{
		{"ip", Options{}, "(000) ldh      [12]\n(001) jeq      #0x800           jt 2\tjf 3\n(002) ret      #262144\n(003) ret      #0\n"},
		{"ether multicast", Options{SnapLen: 96}, "(000) ldb      [0]\n(001) jset     #0x1             jt 2\tjf 3\n(002) ret      #96\n(003) ret      #0\n"},
		{"less 100", Options{}, "(000) ld       #pktlen\n(001) jgt      #0x64            jt 3\tjf 2\n(002) ret      #262144\n(003) ret      #0\n"},
		// libpcap on Linux: the tag the kernel stripped, or one in the frame.
		{"vlan", Options{KernelVLAN: true}, "" +
			"(000) ldb      [vlanp]\n(001) jeq      #0x1             jt 6\tjf 2\n" +
			"(002) ldh      [12]\n(003) jeq      #0x8100          jt 6\tjf 4\n" +
			"(004) jeq      #0x88a8          jt 6\tjf 5\n(005) jeq      #0x9100          jt 6\tjf 7\n" +
			"(006) ret      #262144\n(007) ret      #0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			prog, err := Compile(tt.expr, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, Dump(prog)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrors checks the position and type of errors, and, when tcpdump is
// installed, that libpcap rejects the same expressions.
func TestErrors(t *testing.T) {
	tcpdump, _ := exec.LookPath("tcpdump")
	tests := []struct {
		expr string
		pos  int
	}{
		{"udp port foo", 9},
		{"host", 4},
		{"tcp port", 8},
		{"port 70000", 5},
		{"vlan 5000", 5},
		{"ip[1:3] = 1", 5},
		{"ether[0] / 0 = 1", 9},
		{"ip[0] % 0 = 1", 6},
		{"net 198.18.0.1/8", 4},
		{"src 198.18.0.0/24", 4},
		{"198.18.0.1", 0},
		{"tcp or 53", 7},
		{"(host 198.18.0.1) or 198.18.0.2", 21},
		{"port 53 or 198.18.0.1", 11},
		{"host 02:00:00:00:00:01", 5},
		{"ether host 198.18.0.1", 11},
		{"ip6 host 198.18.0.1", 9},
		{"ip host 2001:db8::1", 8},
		{"ip proto udp", 9},
		{"tcp proto 6", 10},
		{"arp port 53", 9},
		{"tcp port tftp", 9},
		{"udp port http", 9},
		{"host 198.18.0.1 and", 19},
		{"ip and", 6},
		{"((ip)", 5},
		{"ip)", 2},
		{"not", 3},
		{"len >", 5},
		{"tcp[13] & = 2", 10},
		{"ip[", 3},
		{"1 +", 3},
		{"ether src 02:00:00:00:00", 10},
		{"ip $ 1", 3},
		{"host 198.18.0.300", 5},
		{"net 198.18.0.0/33", 15},
		{"ip[0] << 32 = 0", 6},
		{"ether", 0},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Compile(tt.expr, Options{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SyntaxError", err)
			}
			if se.Pos != tt.pos || se.Expr != tt.expr {
				t.Errorf("error %q at %d, want at %d", se.Msg, se.Pos, tt.pos)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("filter: at %d: ", tt.pos)) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Error() = %q, want one line starting with the position", err.Error())
			}
			if tcpdump != "" && tt.expr != "ip[0] << 32 = 0" {
				if out, err := exec.Command(tcpdump, "-d", "-y", "EN10MB", "--", tt.expr).CombinedOutput(); err == nil {
					t.Errorf("libpcap compiles %q:\n%s", tt.expr, out)
				}
			}
		})
	}
}

// TestUnsupported lists what libpcap accepts and rawlab refuses, with a
// clear error rather than a wrong program.
func TestUnsupported(t *testing.T) {
	for _, e := range []string{"gateway 198.18.0.1", "host lab.example", "ether host somehost", "mpls", "pppoes 1",
		"inbound", "ip protochain 6", "vxlan", "geneve", "llc", "wlan host 02:00:00:00:00:01",
		"ether proto 70000", "ip proto 300", "decnet host 1.2", "port unknown-service-name"} {
		t.Run(e, func(t *testing.T) {
			_, err := Compile(e, Options{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SyntaxError", err)
			}
		})
	}
}

func TestSyntaxErrorCaret(t *testing.T) {
	_, err := Compile("udp port foo", Options{})
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatal(err)
	}
	if diff := cmp.Diff("udp port foo\n         ^", se.Caret()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(`filter: at 9: expected port number: unknown port "foo": "udp port foo"`, se.Error()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func udpFrame(dst [4]byte, dport uint16) []byte {
	return ether(macB, macA, nil, 0x0800, ipv4(ip4opt{src: ip4A, dst: dst, proto: 17}, udpDgram(1000, dport)))
}

func accepts(t *testing.T, prog []bpf.Instruction, f []byte) bool {
	t.Helper()
	raw, err := bpf.Assemble(prog)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(raw); err != nil {
		t.Fatal(err)
	}
	v, err := run(raw, f, aux{})
	if err != nil {
		t.Fatal(err)
	}
	return v != 0
}

// TestLongPrograms checks jumps further than 255 instructions and the
// kernel's limit of 4096 instructions.
func TestLongPrograms(t *testing.T) {
	var b strings.Builder
	for p := 1; p <= 120; p++ {
		if p > 1 {
			b.WriteString(" or ")
		}
		fmt.Fprintf(&b, "udp dst port %d", p)
	}
	prog, err := Compile(b.String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 300 {
		t.Fatalf("program has %d instructions, want a long one", len(prog))
	}
	for _, tt := range []struct {
		port uint16
		want bool
	}{{1, true}, {60, true}, {120, true}, {121, false}, {0, false}} {
		if got := accepts(t, prog, udpFrame(ip4B, tt.port)); got != tt.want {
			t.Errorf("port %d: accepted %v, want %v", tt.port, got, tt.want)
		}
	}
	_, err = Compile(longExpr(600), Options{NoOptimize: true})
	var se *SyntaxError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("got %v, want a program-too-long error", err)
	}
}

func TestIPBroadcastNetmask(t *testing.T) {
	tests := []struct {
		mask net.IPMask
		dst  [4]byte
		want bool
	}{
		{nil, [4]byte{255, 255, 255, 255}, true},
		{nil, [4]byte{0, 0, 0, 0}, true},
		{nil, [4]byte{198, 18, 0, 255}, false},
		{net.CIDRMask(24, 32), [4]byte{198, 18, 0, 255}, true},
		{net.CIDRMask(24, 32), [4]byte{198, 18, 0, 0}, true},
		{net.CIDRMask(24, 32), [4]byte{198, 18, 0, 1}, false},
		{net.CIDRMask(15, 32), [4]byte{198, 19, 255, 255}, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%v", tt.mask, tt.dst), func(t *testing.T) {
			prog, err := Compile("ip broadcast", Options{Netmask: tt.mask})
			if err != nil {
				t.Fatal(err)
			}
			if got := accepts(t, prog, udpFrame(tt.dst, 9)); got != tt.want {
				t.Errorf("accepted %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := Compile("ip broadcast", Options{Netmask: net.CIDRMask(64, 128)}); err == nil {
		t.Error("an IPv6 netmask was accepted")
	}
}

// TestOptimizerKeepsMeaning compares optimized and unoptimized programs on
// every frame where neither stops on a load outside the packet (there the
// optimizer may drop a load whose value decides nothing, as libpcap's does).
func TestOptimizerKeepsMeaning(t *testing.T) {
	frames := testFrames(t)
	smaller := 0
	for _, e := range readExpressions(t) {
		for _, kv := range []bool{false, true} {
			opt, err := CompileRaw(e, Options{KernelVLAN: kv})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := CompileRaw(e, Options{KernelVLAN: kv, NoOptimize: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(plain); err != nil {
				t.Fatalf("%q: %v", e, err)
			}
			if len(opt) < len(plain) {
				smaller++
			}
			for _, f := range frames {
				for _, v := range []struct {
					data []byte
					ax   aux
				}{{f.data, aux{}}} {
					a, fa, _ := runFault(opt, v.data, v.ax, false)
					b, fb, _ := runFault(plain, v.data, v.ax, false)
					if !fa && !fb && (a != 0) != (b != 0) {
						t.Errorf("%q (KernelVLAN %v) on %s: optimized %d, plain %d\n%s\n%s", e, kv, f.name, a, b, DumpRaw(opt), DumpRaw(plain))
					}
				}
			}
		}
	}
	if smaller == 0 {
		t.Error("the optimizer never shortened a program")
	}
	t.Logf("optimizer shortened %d of %d programs", smaller, 2*len(readExpressions(t)))
}

func TestValidateRejectsBadPrograms(t *testing.T) {
	for _, prog := range [][]bpf.RawInstruction{
		nil,
		{{Op: 0x28, K: 12}},                   // no ret
		{{Op: 0x15, Jt: 3, K: 1}, {Op: 0x06}}, // jump past the end
		{{Op: 0x02, K: 16}, {Op: 0x06}},       // scratch out of range
		{{Op: 0x05, K: 0xffffffff}, {Op: 0x06}, {Op: 0x06}}, // ja out of range
	} {
		if err := validate(prog); err == nil {
			t.Errorf("validate accepted %v", prog)
		}
	}
}
