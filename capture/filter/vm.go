package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"golang.org/x/net/bpf"
)

// Aux is what a program sees of a frame besides its captured bytes.
type Aux struct {
	// Len is the frame's length on the wire, what "len", "less" and
	// "greater" test (BPF_LEN), as the pcap record's orig_len or the
	// kernel's skb->len. A value below the captured length (0 in
	// particular) means the captured length: the record was not cut short.
	Len int

	// VLANPresent, VLANTCI and VLANTPID describe an 802.1Q/802.1ad tag
	// the kernel stripped from the frame (PACKET_AUXDATA), for programs
	// compiled with Options.KernelVLAN: they are what the ancillary loads
	// SKF_AD_VLAN_TAG_PRESENT, SKF_AD_VLAN_TAG and SKF_AD_VLAN_TPID read.
	VLANPresent bool
	VLANTCI     uint16
	VLANTPID    uint16
}

// VM runs a classic BPF program in user space with the semantics of the
// Linux kernel (net/core/filter.c) and of libpcap's bpf_filter(3), which
// pcap_offline_filter uses on the records of a file:
//
//   - BPF_LEN ("len", "less", "greater") is the wire length (Aux.Len),
//     not the number of bytes captured: a record cut short by the snap
//     length keeps its verdict;
//   - a load past the captured bytes, or a division by zero, ends the
//     program with 0 (the frame is dropped);
//   - X+k of an indirect load wraps at 32 bits;
//   - the ancillary loads Compile emits for Options.KernelVLAN read Aux.
//
// golang.org/x/net/bpf's VM differs on all four: it takes len(data) for
// BPF_LEN and cannot run ancillary loads. A VM is safe for concurrent use;
// Run allocates nothing.
type VM struct {
	prog []bpf.RawInstruction
}

// ErrInvalidProgram is wrapped by NewVM's errors.
var ErrInvalidProgram = errors.New("invalid program")

// NewVM checks prog as the kernel's sk_chk_filter does and returns a VM for
// it.
func NewVM(prog []bpf.Instruction) (*VM, error) {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("filter: %w: %w", ErrInvalidProgram, err)
	}
	return NewVMRaw(raw)
}

// Opcodes (linux/filter.h, classic BPF).
const (
	clsLD, clsLDX, clsST, clsSTX, clsALU, clsJMP, clsRET, clsMISC = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07

	modeIMM, modeABS, modeIND, modeMEM, modeLEN, modeMSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xa0

	sizeW, sizeH, sizeB = 0x00, 0x08, 0x10

	srcX = 0x08

	skfAdVLANTPID = 60 // SKF_AD_VLAN_TPID
)

// validOps are the classic BPF opcodes the kernel accepts (the codes
// table of net/core/filter.c's bpf_check_classic).
var validOps = func() map[uint16]bool {
	m := map[uint16]bool{}
	for _, op := range []uint16{
		// ALU: add sub mul div mod and or xor lsh rsh, with K and X; neg.
		0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x94, 0x9c, 0x54, 0x5c,
		0x44, 0x4c, 0xa4, 0xac, 0x64, 0x6c, 0x74, 0x7c, 0x84,
		// LD: abs, ind by word, half, byte; len; imm; mem. LDX: imm, mem, len, msh.
		0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x80, 0x00, 0x60, 0x01, 0x61, 0x81, 0xb1,
		// ST, STX, TAX, TXA, RET k, RET a.
		0x02, 0x03, 0x07, 0x87, 0x06, 0x16,
		// JMP: ja; jeq, jgt, jge, jset with K and X.
		0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d,
	} {
		m[op] = true
	}
	return m
}()

// NewVMRaw is NewVM for assembled instructions.
func NewVMRaw(prog []bpf.RawInstruction) (*VM, error) {
	bad := func(pc int, format string, args ...any) (*VM, error) {
		return nil, fmt.Errorf("filter: %w: instruction %d: %s", ErrInvalidProgram, pc, fmt.Sprintf(format, args...))
	}
	if len(prog) == 0 || len(prog) > MaxInstructions {
		return nil, fmt.Errorf("filter: %w: %d instructions, want 1 to %d", ErrInvalidProgram, len(prog), MaxInstructions)
	}
	for pc, ins := range prog {
		op := ins.Op
		if !validOps[op] {
			return bad(pc, "unknown opcode 0x%02x", op)
		}
		switch op & 0x07 {
		case clsLD, clsLDX:
			mode, size := op&0xe0, op&0x18
			switch {
			case op&0x07 == clsLD && (mode == modeABS || mode == modeIND) && size != 0x18:
				if mode == modeABS && ins.K >= skfAdOff {
					switch ins.K - skfAdOff {
					case skfAdVLANTag, skfAdVLANTagPresent, skfAdVLANTPID:
					default:
						return bad(pc, "ancillary load at SKF_AD_OFF%+d is not supported in user space", int32(ins.K-skfAdOff))
					}
				}
			case mode == modeIMM && size == sizeW, mode == modeLEN && size == sizeW:
			case mode == modeMEM && size == sizeW:
				if ins.K >= 16 {
					return bad(pc, "scratch memory M[%d]", ins.K)
				}
			case op == clsLDX|modeMSH|sizeB:
			default:
				return bad(pc, "unknown load 0x%02x", op)
			}
		case clsST, clsSTX:
			if op&0xf8 != 0 || ins.K >= 16 {
				return bad(pc, "bad store 0x%02x M[%d]", op, ins.K)
			}
		case clsALU:
			switch op & 0xf0 {
			case 0x00, 0x10, 0x20, 0x40, 0x50, 0xa0:
			case 0x60, 0x70: // shifts: the kernel refuses a constant of 32 or more
				if op&srcX == 0 && ins.K >= 32 {
					return bad(pc, "shift by %d", ins.K)
				}
			case 0x30, 0x90: // div, mod
				if op&srcX == 0 && ins.K == 0 {
					return bad(pc, "division by zero")
				}
			case 0x80: // neg
			default:
				return bad(pc, "unknown ALU operation 0x%02x", op)
			}
		case clsJMP:
			if op == clsJMP { // ja
				if uint64(pc)+1+uint64(ins.K) >= uint64(len(prog)) {
					return bad(pc, "jump past the end")
				}
				continue
			}
			switch op & 0xf0 {
			case 0x10, 0x20, 0x30, 0x40:
			default:
				return bad(pc, "unknown jump 0x%02x", op)
			}
			if pc+1+int(ins.Jt) >= len(prog) || pc+1+int(ins.Jf) >= len(prog) {
				return bad(pc, "jump past the end")
			}
		case clsRET:
			switch op & 0x18 {
			case 0x00, 0x10: // #k, A
			default:
				return bad(pc, "unknown return 0x%02x", op)
			}
		case clsMISC:
			if op != 0x07 && op != 0x87 {
				return bad(pc, "unknown instruction 0x%02x", op)
			}
		}
	}
	if prog[len(prog)-1].Op&0x07 != clsRET {
		return bad(len(prog)-1, "the program does not end in a return")
	}
	return &VM{prog: append([]bpf.RawInstruction(nil), prog...)}, nil
}

// Run returns the program's verdict on data: 0 drops the frame, any other
// value keeps that many bytes of it.
func (vm *VM) Run(data []byte, aux Aux) uint32 {
	var a, x uint32
	var mem [16]uint32
	n := uint64(len(data))
	wire := uint32(len(data))
	if aux.Len > len(data) {
		wire = uint32(min(uint64(aux.Len), math.MaxUint32))
	}
	prog := vm.prog
	for pc := 0; pc < len(prog); pc++ {
		ins := &prog[pc]
		k := ins.K
		switch ins.Op {
		// Loads into A.
		case clsLD | modeABS | sizeW, clsLD | modeABS | sizeH, clsLD | modeABS | sizeB,
			clsLD | modeIND | sizeW, clsLD | modeIND | sizeH, clsLD | modeIND | sizeB:
			off := k
			if ins.Op&0xe0 == modeIND {
				off = x + k // wraps, as in the kernel
			} else if k >= skfAdOff {
				switch k - skfAdOff {
				case skfAdVLANTag:
					a = uint32(aux.VLANTCI)
				case skfAdVLANTagPresent:
					a = 0
					if aux.VLANPresent {
						a = 1
					}
				case skfAdVLANTPID:
					a = uint32(aux.VLANTPID)
				}
				continue
			}
			switch ins.Op & 0x18 {
			case sizeW:
				if uint64(off)+4 > n {
					return 0
				}
				a = binary.BigEndian.Uint32(data[off:])
			case sizeH:
				if uint64(off)+2 > n {
					return 0
				}
				a = uint32(binary.BigEndian.Uint16(data[off:]))
			default:
				if uint64(off) >= n {
					return 0
				}
				a = uint32(data[off])
			}
		case clsLD | modeIMM:
			a = k
		case clsLDX | modeIMM:
			x = k
		case clsLD | modeLEN:
			a = wire
		case clsLDX | modeLEN:
			x = wire
		case clsLD | modeMEM:
			a = mem[k&15]
		case clsLDX | modeMEM:
			x = mem[k&15]
		case clsLDX | modeMSH | sizeB:
			if uint64(k) >= n {
				return 0
			}
			x = 4 * uint32(data[k]&0xf)
		case clsST:
			mem[k&15] = a
		case clsSTX:
			mem[k&15] = x
		case clsRET:
			return k
		case clsRET | 0x10:
			return a
		case clsMISC: // tax
			x = a
		case clsMISC | 0x80: // txa
			a = x
		case clsJMP: // ja
			pc += int(k)
		default:
			switch ins.Op & 0x07 {
			case clsALU:
				v := k
				if ins.Op&srcX != 0 {
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
						return 0
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
						return 0
					}
					a %= v
				case 0xa0:
					a ^= v
				}
			case clsJMP:
				v := k
				if ins.Op&srcX != 0 {
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
				}
				if c {
					pc += int(ins.Jt)
				} else {
					pc += int(ins.Jf)
				}
			}
		}
	}
	return 0
}

// Match reports whether the program keeps a frame of wireLen bytes on the
// wire of which data was captured (a file record's caplen bytes and
// orig_len).
func (vm *VM) Match(data []byte, wireLen int) bool {
	return vm.Run(data, Aux{Len: wireLen}) != 0
}
