package filter

import (
	"fmt"
	"strings"

	"golang.org/x/net/bpf"
)

// ancillary names the SKF_AD_* offsets as libpcap's bpf_image prints them.
var ancillary = map[uint32]string{
	0: "proto", 4: "type", 8: "ifidx", 12: "nla", 16: "nlan", 20: "mark", 24: "queue",
	28: "hatype", 32: "rxhash", 36: "cpu", 44: "vlan_tci", 48: "vlanp", 52: "poff",
	56: "random", 60: "vlan_tpid",
}

// Dump formats prog one instruction per line as "tcpdump -d" does
// (libpcap's bpf_image): "(000) ldh      [12]".
func Dump(prog []bpf.Instruction) string {
	var b strings.Builder
	for i, ins := range prog {
		raw, err := ins.Assemble()
		if err != nil {
			fmt.Fprintf(&b, "(%03d) %-8s %v\n", i, "invalid", ins)
			continue
		}
		b.WriteString(image(raw, i))
		b.WriteByte('\n')
	}
	return b.String()
}

// DumpRaw is Dump for assembled instructions.
func DumpRaw(prog []bpf.RawInstruction) string {
	var b strings.Builder
	for i, ri := range prog {
		b.WriteString(image(ri, i))
		b.WriteByte('\n')
	}
	return b.String()
}

func image(ri bpf.RawInstruction, n int) string {
	var op, operand string
	k := ri.K
	abs := func(name string) {
		op = name
		if k >= skfAdOff {
			if s, ok := ancillary[k-skfAdOff]; ok {
				operand = "[" + s + "]"
				return
			}
		}
		operand = fmt.Sprintf("[%d]", int32(k))
	}
	switch ri.Op {
	case 0x06:
		op, operand = "ret", fmt.Sprintf("#%d", int32(k))
	case 0x16:
		op, operand = "ret", ""
	case 0x20:
		abs("ld")
	case 0x28:
		abs("ldh")
	case 0x30:
		abs("ldb")
	case 0x80:
		op, operand = "ld", "#pktlen"
	case 0x40:
		op, operand = "ld", fmt.Sprintf("[x + %d]", int32(k))
	case 0x48:
		op, operand = "ldh", fmt.Sprintf("[x + %d]", int32(k))
	case 0x50:
		op, operand = "ldb", fmt.Sprintf("[x + %d]", int32(k))
	case 0x00:
		op, operand = "ld", fmt.Sprintf("#0x%x", k)
	case 0x01:
		op, operand = "ldx", fmt.Sprintf("#0x%x", k)
	case 0x81:
		op, operand = "ldx", "#pktlen"
	case 0xb1:
		op, operand = "ldxb", fmt.Sprintf("4*([%d]&0xf)", int32(k))
	case 0x60:
		op, operand = "ld", fmt.Sprintf("M[%d]", k)
	case 0x61:
		op, operand = "ldx", fmt.Sprintf("M[%d]", k)
	case 0x02:
		op, operand = "st", fmt.Sprintf("M[%d]", k)
	case 0x03:
		op, operand = "stx", fmt.Sprintf("M[%d]", k)
	case 0x05:
		op, operand = "ja", fmt.Sprintf("%d", n+1+int(k))
	case 0x25, 0x35, 0x15, 0x45:
		op = map[uint16]string{0x25: "jgt", 0x35: "jge", 0x15: "jeq", 0x45: "jset"}[ri.Op]
		operand = fmt.Sprintf("#0x%x", k)
	case 0x2d, 0x3d, 0x1d, 0x4d:
		op = map[uint16]string{0x2d: "jgt", 0x3d: "jge", 0x1d: "jeq", 0x4d: "jset"}[ri.Op]
		operand = "x"
	case 0x0c, 0x1c, 0x2c, 0x3c, 0x5c, 0x4c, 0x6c, 0x7c, 0x9c, 0xac:
		op = map[uint16]string{0x0c: "add", 0x1c: "sub", 0x2c: "mul", 0x3c: "div", 0x5c: "and",
			0x4c: "or", 0x6c: "lsh", 0x7c: "rsh", 0x9c: "mod", 0xac: "xor"}[ri.Op]
		operand = "x"
	case 0x04, 0x14, 0x24, 0x34, 0x64, 0x74, 0x94:
		op = map[uint16]string{0x04: "add", 0x14: "sub", 0x24: "mul", 0x34: "div", 0x64: "lsh",
			0x74: "rsh", 0x94: "mod"}[ri.Op]
		operand = fmt.Sprintf("#%d", k)
	case 0x54, 0x44, 0xa4:
		op = map[uint16]string{0x54: "and", 0x44: "or", 0xa4: "xor"}[ri.Op]
		operand = fmt.Sprintf("#0x%x", k)
	case 0x84:
		op, operand = "neg", ""
	case 0x07:
		op, operand = "tax", ""
	case 0x87:
		op, operand = "txa", ""
	default:
		op, operand = "unimp", fmt.Sprintf("0x%x", ri.Op)
	}
	if ri.Op&0x07 == 0x05 && ri.Op != 0x05 {
		return fmt.Sprintf("(%03d) %-8s %-16s jt %d\tjf %d", n, op, operand, n+1+int(ri.Jt), n+1+int(ri.Jf))
	}
	return fmt.Sprintf("(%03d) %-8s %s", n, op, operand)
}
