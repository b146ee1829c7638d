package filter

import (
	"fmt"
	"net"

	"golang.org/x/net/bpf"
)

// DefaultSnapLen is the accept length used when Options.SnapLen is zero,
// the same as tcpdump's default snapshot length.
const DefaultSnapLen = 262144

// MaxInstructions is the longest classic BPF program the Linux kernel
// accepts (BPF_MAXINSNS).
const MaxInstructions = 4096

// Options tune the compiled program.
type Options struct {
	// SnapLen is the value returned for an accepted packet; 0 means
	// DefaultSnapLen.
	SnapLen uint32

	// Netmask is the netmask of the capture network, used only by
	// "ip broadcast" as libpcap does. Nil means unknown, which (like
	// tcpdump without -i) makes the host part all ones: "ip broadcast"
	// then matches destinations 0.0.0.0 and 255.255.255.255 only.
	Netmask net.IPMask

	// KernelVLAN emits code for a live Linux AF_PACKET socket, where the
	// kernel strips the outer 802.1Q tag and reports it as auxiliary data:
	// like libpcap >= 1.10 on Linux, the first "vlan" of the expression
	// then also matches a frame whose tag was stripped, through the
	// SKF_AD_VLAN_TAG_PRESENT and SKF_AD_VLAN_TAG ancillary loads, and the
	// offsets after it become variable (kept in M[0] and M[1]). Leave it
	// false for offline files and for "tcpdump -d" compatible output
	// (DLT_EN10MB, every tag in the frame); the VM of x/net/bpf cannot run
	// such programs.
	KernelVLAN bool

	// NoOptimize turns the optimizer off, like tcpdump -O: the program
	// then runs every test in expression order and keeps every load.
	NoOptimize bool
}

// SyntaxError reports an expression that cannot be compiled: a syntax
// error, an unknown name, or a construct that is not supported.
type SyntaxError struct {
	Expr string // the whole expression
	Pos  int    // byte offset of the offending token in Expr
	Msg  string // what is wrong
}

// Error returns a one-line message naming the position and the expression,
// for example: filter: at 9: expected port number: "udp port foo".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("filter: at %d: %s: %q", e.Pos, e.Msg, e.Expr)
}

// Caret returns the expression and, on a second line, a caret under the
// offending position, for a multi-line diagnostic.
func (e *SyntaxError) Caret() string {
	pos := e.Pos
	if pos > len(e.Expr) {
		pos = len(e.Expr)
	}
	pad := make([]byte, pos)
	for i := range pad {
		pad[i] = ' '
		if e.Expr[i] == '\t' {
			pad[i] = '\t'
		}
	}
	return e.Expr + "\n" + string(pad) + "^"
}

// Compile translates a pcap-filter(7) expression into a classic BPF program
// for Ethernet frames (DLT_EN10MB). The empty expression accepts every frame.
// The program is valid for the kernel: every jump goes forward, it has at
// most MaxInstructions instructions and ends in a return.
func Compile(expr string, opt Options) ([]bpf.Instruction, error) {
	if opt.SnapLen == 0 {
		opt.SnapLen = DefaultSnapLen
	}
	var hostmask uint32 = 0xffffffff
	if len(opt.Netmask) > 0 {
		m := opt.Netmask
		if len(m) == 16 {
			for _, b := range m[:12] {
				if b != 0xff {
					return nil, fmt.Errorf("filter: netmask %v is not an IPv4 netmask", opt.Netmask)
				}
			}
			m = m[12:]
		}
		if len(m) != 4 {
			return nil, fmt.Errorf("filter: netmask %v is not an IPv4 netmask", opt.Netmask)
		}
		hostmask = ^(uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3]))
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	var root node = constNode(true)
	if toks[0].kind != tEOF {
		p := &parser{expr: expr, toks: toks, hostmask: hostmask, kernelVLAN: opt.KernelVLAN}
		root, err = p.parse()
		if err != nil {
			return nil, err
		}
		if p.varOffsets {
			// Initialise the variable parts of the offsets, as libpcap does.
			root = andNode{a: test{stmts: []bpf.Instruction{
				bpf.LoadConstant{Dst: bpf.RegA, Val: 0},
				bpf.StoreScratch{Src: bpf.RegA, N: memLinkPl},
				bpf.StoreScratch{Src: bpf.RegA, N: memLinkType},
			}, op: opTrue}, b: root}
		}
	}
	prog := emit(root, opt.SnapLen, !opt.NoOptimize)
	if err := check(prog); err != nil {
		return nil, fmt.Errorf("filter: internal error compiling %q: %w", expr, err)
	}
	if len(prog) > MaxInstructions {
		return nil, fmt.Errorf("filter: program too long: %d instructions, the kernel accepts %d: %q", len(prog), MaxInstructions, expr)
	}
	return prog, nil
}

// CompileRaw is Compile followed by bpf.Assemble, ready for SO_ATTACH_FILTER.
func CompileRaw(expr string, opt Options) ([]bpf.RawInstruction, error) {
	prog, err := Compile(expr, opt)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("filter: assemble %q: %w", expr, err)
	}
	return raw, nil
}

// check verifies what the kernel's checker will: every jump lands inside
// the program and the last instruction returns. A failure is a compiler bug.
func check(prog []bpf.Instruction) error {
	if len(prog) == 0 {
		return fmt.Errorf("empty program")
	}
	for i, ins := range prog {
		var skips []uint32
		switch j := ins.(type) {
		case bpf.Jump:
			skips = []uint32{j.Skip}
		case bpf.JumpIf:
			skips = []uint32{uint32(j.SkipTrue), uint32(j.SkipFalse)}
		case bpf.JumpIfX:
			skips = []uint32{uint32(j.SkipTrue), uint32(j.SkipFalse)}
		}
		for _, s := range skips {
			if uint64(i)+1+uint64(s) >= uint64(len(prog)) {
				return fmt.Errorf("instruction %d jumps past the end", i)
			}
		}
	}
	if _, ok := prog[len(prog)-1].(bpf.RetConstant); !ok {
		return fmt.Errorf("program does not end in a return")
	}
	return nil
}
