package filter

import (
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/net/bpf"
)

// aux is what the kernel knows about a frame besides its bytes: the 802.1Q
// tag it stripped on receive, if any.
type aux struct {
	vlanPresent bool
	vlanTCI     uint16
	wireLen     int // the frame's length on the wire; below len(pkt): len(pkt)
}

var errBadProgram = errors.New("invalid program")

// run is a classic BPF interpreter with the kernel's semantics
// (net/core/filter.c): a load outside the packet or a division by zero
// returns 0; ancillary loads at SKF_AD_OFF give the stripped VLAN tag, and
// BPF_LEN the wire length (aux.wireLen), as libpcap's bpf_filter does with
// a record cut short by the snap length. x/net/bpf's VM cannot run those ancillary loads.
//
// As in the kernel and in libpcap's bpf_filter, X+k of an indirect load is
// a 32-bit sum that wraps; x/net/bpf's VM does not wrap it, which run
// reproduces when noWrap is set.
func run(prog []bpf.RawInstruction, pkt []byte, ax aux) (uint32, error) {
	return runMode(prog, pkt, ax, false)
}

func runMode(prog []bpf.RawInstruction, pkt []byte, ax aux, noWrap bool) (uint32, error) {
	v, _, err := runFault(prog, pkt, ax, noWrap)
	return v, err
}

// runFault is run that also reports whether the program stopped on a load
// outside the packet.
func runFault(prog []bpf.RawInstruction, pkt []byte, ax aux, noWrap bool) (uint32, bool, error) {
	var a, x uint32
	var mem [16]uint32
	load := func(off uint32, size uint32) (uint32, bool) {
		if off >= skfAdOff {
			switch off - skfAdOff {
			case skfAdVLANTag:
				return uint32(ax.vlanTCI), true
			case skfAdVLANTagPresent:
				if ax.vlanPresent {
					return 1, true
				}
				return 0, true
			}
			return 0, false
		}
		if uint64(off)+uint64(size) > uint64(len(pkt)) {
			return 0, false
		}
		switch size {
		case 1:
			return uint32(pkt[off]), true
		case 2:
			return uint32(binary.BigEndian.Uint16(pkt[off:])), true
		default:
			return binary.BigEndian.Uint32(pkt[off:]), true
		}
	}
	sizes := map[uint16]uint32{0x00: 4, 0x08: 2, 0x10: 1}
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		k := ins.K
		cls := ins.Op & 0x07
		switch cls {
		case 0x00, 0x01: // LD, LDX
			mode := ins.Op & 0xe0
			size := sizes[ins.Op&0x18]
			var v uint32
			switch {
			case mode == 0x00: // IMM
				v = k
			case mode == 0x80: // LEN
				v = uint32(max(len(pkt), ax.wireLen))
			case mode == 0x60: // MEM
				if k >= 16 {
					return 0, false, errBadProgram
				}
				v = mem[k]
			case mode == 0x20 && cls == 0x00: // ABS
				var ok bool
				if v, ok = load(k, size); !ok {
					return 0, true, nil
				}
			case mode == 0x40 && cls == 0x00: // IND
				var ok bool
				if noWrap && uint64(x)+uint64(k) > 0xffffffff {
					return 0, true, nil
				}
				if v, ok = load(x+k, size); !ok {
					return 0, true, nil
				}
			case mode == 0xa0 && cls == 0x01: // MSH
				b, ok := load(k, 1)
				if !ok {
					return 0, true, nil
				}
				v = 4 * (b & 0xf)
			default:
				return 0, false, errBadProgram
			}
			if cls == 0x00 {
				a = v
			} else {
				x = v
			}
		case 0x02: // ST
			if k >= 16 {
				return 0, false, errBadProgram
			}
			mem[k] = a
		case 0x03: // STX
			if k >= 16 {
				return 0, false, errBadProgram
			}
			mem[k] = x
		case 0x04: // ALU
			v := k
			if ins.Op&0x08 != 0 {
				v = x
			}
			switch ins.Op & 0xf0 {
			case 0x00:
				a += v
			case 0x10:
				a -= v
			case 0x20:
				a *= v
			case 0x30:
				if v == 0 {
					return 0, false, nil
				}
				a /= v
			case 0x40:
				a |= v
			case 0x50:
				a &= v
			case 0x60:
				a <<= v & 31
			case 0x70:
				a >>= v & 31
			case 0x80:
				a = -a
			case 0x90:
				if v == 0 {
					return 0, false, nil
				}
				a %= v
			case 0xa0:
				a ^= v
			default:
				return 0, false, errBadProgram
			}
		case 0x05: // JMP
			if ins.Op == 0x05 {
				pc += int(k)
				continue
			}
			v := k
			if ins.Op&0x08 != 0 {
				v = x
			}
			var c bool
			switch ins.Op & 0xf0 {
			case 0x10:
				c = a == v
			case 0x20:
				c = a > v
			case 0x30:
				c = a >= v
			case 0x40:
				c = a&v != 0
			default:
				return 0, false, errBadProgram
			}
			if c {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case 0x06: // RET
			if ins.Op&0x18 == 0x10 {
				return a, false, nil
			}
			return k, false, nil
		case 0x07: // MISC
			if ins.Op == 0x07 {
				x = a
			} else {
				a = x
			}
		}
	}
	return 0, false, errBadProgram
}

// validate checks what the kernel's sk_chk_filter checks: length, known
// opcodes, jumps inside the program, scratch indexes, and a final return.
func validate(prog []bpf.RawInstruction) error {
	if len(prog) == 0 || len(prog) > MaxInstructions {
		return errors.New("bad length")
	}
	for pc, ins := range prog {
		switch ins.Op & 0x07 {
		case 0x05:
			if ins.Op == 0x05 {
				if uint64(pc)+1+uint64(ins.K) >= uint64(len(prog)) {
					return errors.New("ja out of range")
				}
			} else if pc+1+int(ins.Jt) >= len(prog) || pc+1+int(ins.Jf) >= len(prog) {
				return errors.New("jump out of range")
			}
		case 0x02, 0x03:
			if ins.K >= 16 {
				return errors.New("bad scratch")
			}
		}
		if (ins.Op == 0x60 || ins.Op == 0x61) && ins.K >= 16 {
			return errors.New("bad scratch")
		}
	}
	if last := prog[len(prog)-1]; last.Op&0x07 != 0x06 {
		return errors.New("does not end in ret")
	}
	return nil
}

func TestRunMatchesXNetVM(t *testing.T) {
	// The interpreter used by the differential test agrees with x/net/bpf's
	// VM on programs the VM can run.
	frames := testFrames(t)
	for _, expr := range []string{"ip", "udp port 53", "vlan 10 and tcp", "tcp[tcpflags] & tcp-syn != 0",
		"ip[2:2] / 0 = 1", "len > 100", "ether multicast"} {
		raw, err := CompileRaw(expr, Options{})
		if err != nil {
			if expr == "ip[2:2] / 0 = 1" {
				continue
			}
			t.Fatal(err)
		}
		prog, _ := Compile(expr, Options{})
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		for _, f := range frames {
			want, err := vm.Run(f.data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := run(raw, f.data, aux{})
			if err != nil {
				t.Fatal(err)
			}
			if uint32(want) != got && !(want > len(f.data) && got == DefaultSnapLen) {
				t.Errorf("%s on %s: vm %d, run %d", expr, f.name, want, got)
			}
		}
	}
}

// TestVMWireLength: "len", "less" and "greater" test the wire length of a
// record cut short, as libpcap's pcap_offline_filter does, where
// x/net/bpf's VM takes the captured length.
func TestVMWireLength(t *testing.T) {
	full := ether(macB, macA, nil, 0x0800, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 17}, udpDgram(68, 67, make([]byte, 958)...)))
	cut := full[:96]
	tests := []struct {
		expr string
		want bool // on the 96-byte record of a 1000-byte frame
	}{
		{"greater 500", true},
		{"less 500", false},
		{"len = 1000", true},
		{"len > 96", true},
		{"len <= 96", false},
		{"udp and len - 14 = 986", true},
		{"ip[len - 1] = 0", false}, // a load past the captured bytes: dropped
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			prog, err := Compile(tt.expr, Options{})
			if err != nil {
				t.Fatal(err)
			}
			vm, err := NewVM(prog)
			if err != nil {
				t.Fatal(err)
			}
			if got := vm.Match(cut, len(full)); got != tt.want {
				t.Errorf("Match(96 of 1000 bytes) = %v, want %v", got, tt.want)
			}
			// Uncut, the same frame gives the same answer for the length tests.
			if tt.expr != "ip[len - 1] = 0" {
				if got := vm.Match(full, 0); got != tt.want {
					t.Errorf("Match(whole frame) = %v, want %v", got, tt.want)
				}
			}
			// A wire length below the captured length means the captured length.
			if got, want := vm.Run(cut, Aux{Len: 10}), vm.Run(cut, Aux{}); got != want {
				t.Errorf("Run with Len 10 = %d, want %d as with Len 0", got, want)
			}
		})
	}
	// x/net/bpf's VM takes len(data): it would get "greater 500" wrong.
	prog, _ := Compile("greater 500", Options{})
	xvm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := xvm.Run(cut); n != 0 {
		t.Errorf("x/net/bpf VM now takes the wire length; simplify the docs")
	}
}

// TestVMKernelVLAN runs a KernelVLAN program, whose ancillary loads
// x/net/bpf's VM refuses, on a frame whose tag the kernel stripped.
func TestVMKernelVLAN(t *testing.T) {
	prog, err := Compile("vlan 10 and arp", Options{KernelVLAN: true})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	untagged := ether(macBC, macA, nil, 0x0806, arpMsg(1, macA, ip4A, make([]byte, 6), ip4B))
	tagged := ether(macBC, macA, []tag{{0x8100, 10}}, 0x0806, arpMsg(1, macA, ip4A, make([]byte, 6), ip4B))
	tests := []struct {
		name string
		data []byte
		aux  Aux
		want bool
	}{
		{"stripped tag 10", untagged, Aux{VLANPresent: true, VLANTCI: 3<<13 | 10, VLANTPID: 0x8100}, true},
		{"stripped tag 11", untagged, Aux{VLANPresent: true, VLANTCI: 11}, false},
		{"untagged", untagged, Aux{}, false},
		{"tag in the frame", tagged, Aux{}, true},
	}
	for _, tt := range tests {
		if got := vm.Run(tt.data, tt.aux) != 0; got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNewVMRejects(t *testing.T) {
	tests := []struct {
		name string
		prog []bpf.RawInstruction
	}{
		{"empty", nil},
		{"no return", []bpf.RawInstruction{{Op: 0x28, K: 12}}},
		{"jump past the end", []bpf.RawInstruction{{Op: 0x15, Jt: 5}, {Op: 0x06}}},
		{"ja past the end", []bpf.RawInstruction{{Op: 0x05, K: 1}, {Op: 0x06}}},
		{"scratch 16", []bpf.RawInstruction{{Op: 0x02, K: 16}, {Op: 0x06}}},
		{"load scratch 16", []bpf.RawInstruction{{Op: 0x60, K: 16}, {Op: 0x06}}},
		{"divide by 0", []bpf.RawInstruction{{Op: 0x34, K: 0}, {Op: 0x06}}},
		{"shift by 32", []bpf.RawInstruction{{Op: 0x64, K: 32}, {Op: 0x06}}},
		{"unknown ancillary", []bpf.RawInstruction{{Op: 0x20, K: skfAdOff + 4}, {Op: 0x06}}},
		{"unknown opcode", []bpf.RawInstruction{{Op: 0xc4}, {Op: 0x06}}},
		{"too long", make([]bpf.RawInstruction, MaxInstructions+1)},
	}
	for _, tt := range tests {
		if _, err := NewVMRaw(tt.prog); !errors.Is(err, ErrInvalidProgram) {
			t.Errorf("%s: %v, want ErrInvalidProgram", tt.name, err)
		}
	}
}

func TestVMAllocs(t *testing.T) {
	prog, err := Compile("udp port 67 and greater 100 or vlan and arp", Options{})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	f := ether(macB, macA, nil, 0x0800, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 17}, udpDgram(68, 67)))
	if n := testing.AllocsPerRun(100, func() { vm.Run(f, Aux{Len: 1000}) }); n != 0 {
		t.Errorf("Run allocates %v times", n)
	}
}

func BenchmarkVM(b *testing.B) {
	prog, err := Compile("udp port 67 or udp port 68", Options{})
	if err != nil {
		b.Fatal(err)
	}
	f := ether(macB, macA, nil, 0x0800, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 17}, udpDgram(68, 67)))
	b.Run("filter.VM", func(b *testing.B) {
		vm, _ := NewVM(prog)
		b.ReportAllocs()
		for b.Loop() {
			vm.Run(f, Aux{})
		}
	})
	b.Run("x/net/bpf", func(b *testing.B) {
		vm, _ := bpf.NewVM(prog)
		b.ReportAllocs()
		for b.Loop() {
			vm.Run(f)
		}
	})
}

// FuzzVM feeds NewVMRaw arbitrary programs: it never panics, and what it
// accepts runs on every frame without panicking, with the verdict of the
// reference interpreter and in a bounded number of steps (jumps go
// forward).
func FuzzVM(f *testing.F) {
	for _, e := range []string{"ip", "vlan 10 and arp", "len > 100", "tcp[tcpflags] & tcp-syn != 0", "ip[len - 60] = 0"} {
		for _, kv := range []bool{false, true} {
			raw, err := CompileRaw(e, Options{KernelVLAN: kv})
			if err != nil {
				f.Fatal(err)
			}
			var b []byte
			for _, ins := range raw {
				b = binary.BigEndian.AppendUint16(b, ins.Op)
				b = append(b, ins.Jt, ins.Jf)
				b = binary.BigEndian.AppendUint32(b, ins.K)
			}
			f.Add(b, uint16(1000))
		}
	}
	fuzzFrames.once.Do(func() { fuzzFrames.frames = testFrames(f) })
	f.Fuzz(func(t *testing.T, b []byte, wire uint16) {
		var prog []bpf.RawInstruction
		for len(b) >= 8 {
			prog = append(prog, bpf.RawInstruction{Op: binary.BigEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.BigEndian.Uint32(b[4:])})
			b = b[8:]
		}
		vm, err := NewVMRaw(prog)
		if err != nil {
			return
		}
		if err := validate(prog); err != nil {
			t.Fatalf("NewVMRaw accepts a program the kernel's checks refuse: %v\n%s", err, DumpRaw(prog))
		}
		for _, fr := range fuzzFrames.frames[:200] {
			ax := aux{wireLen: int(wire), vlanPresent: wire%2 == 1, vlanTCI: wire}
			want, err := run(prog, fr.data, ax)
			if err != nil {
				t.Fatalf("NewVMRaw accepts a program the interpreter refuses: %v\n%s", err, DumpRaw(prog))
			}
			if got := vm.Run(fr.data, Aux{Len: int(wire), VLANPresent: ax.vlanPresent, VLANTCI: ax.vlanTCI}); got != want {
				t.Fatalf("on %s: VM %d, interpreter %d\n%s", fr.name, got, want, DumpRaw(prog))
			}
		}
	})
}
