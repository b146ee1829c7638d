package filter

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"unicode/utf8"

	"golang.org/x/net/bpf"
)

// DefaultSnapLen is the accept length used when Options.SnapLen is zero,
// the same as tcpdump's default snapshot length.
const DefaultSnapLen = 262144

// MaxInstructions is the longest classic BPF program the Linux kernel
// accepts (BPF_MAXINSNS).
const MaxInstructions = 4096

// Limits on the work one expression may cause. libpcap's grammar has no
// stated bound; these keep a hostile or mistaken expression from taking
// more than milliseconds to refuse.
const (
	// MaxExprLen is the longest expression Compile accepts, in bytes.
	MaxExprLen = 64 << 10
	// MaxDepth is the deepest nesting of parentheses, "not"s, unary
	// minuses and right-associated operators Compile accepts.
	MaxDepth = 256
	// maxTreeItems bounds the unoptimised program: the optimizer's work
	// grows with it, and a program this long rarely shrinks to
	// MaxInstructions.
	maxTreeItems = 16 * MaxInstructions
)

// Errors a *SyntaxError wraps when an expression exceeds a limit; test
// them with errors.Is.
var (
	ErrTooLong    = errors.New("expression too long")
	ErrTooDeep    = errors.New("expression nested too deeply")
	ErrTooComplex = errors.New("expression too complex")
)

// LinkType values Options.LinkType names (the DLT_ numbers of
// pcap-linktype(7)).
const (
	LinkTypeEthernet = 1   // DLT_EN10MB
	LinkTypeLinuxSLL = 113 // DLT_LINUX_SLL, Linux cooked capture v1
)

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
	// (DLT_EN10MB, every tag in the frame). VM runs such programs in user
	// space, given the stripped tag in Aux; the VM of x/net/bpf cannot.
	KernelVLAN bool

	// NoOptimize turns the optimizer off, like tcpdump -O: the program
	// then runs every test in expression order and keeps every load.
	NoOptimize bool

	// LinkType is the link-layer header type of the frames the program
	// will see, as a pcap LINKTYPE_/DLT_ number: 0 means
	// LinkTypeEthernet. LinkTypeLinuxSLL (tcpdump -y LINUX_SLL) is the
	// other one supported: the offsets follow the 16-byte cooked header,
	// and what it lacks (a destination address, tags) is refused as
	// libpcap refuses it ("ether host", "broadcast", "multicast",
	// "vlan"). Compile refuses any other link type (SLL2, raw IP, ...)
	// rather than compile offsets that would test the wrong bytes.
	LinkType uint32
}

// UnsupportedLinkTypeError is returned by Compile for a link type other
// than Ethernet.
type UnsupportedLinkTypeError struct {
	LinkType uint32
}

func (e *UnsupportedLinkTypeError) Error() string {
	return fmt.Sprintf("filter: link type %d is not supported: filters compile for Ethernet (1) and Linux cooked captures (113) only", e.LinkType)
}

// SyntaxError reports an expression that cannot be compiled: a syntax
// error, an unknown name, or a construct that is not supported.
type SyntaxError struct {
	Expr string // the whole expression
	Pos  int    // byte offset of the offending token in Expr
	Msg  string // what is wrong
	Err  error  // ErrTooLong, ErrTooDeep, ErrTooComplex or nil
}

// Error returns a one-line message naming the position and the expression,
// for example: filter: at 9: expected port number: "udp port foo". An
// expression longer than 80 bytes is quoted in part, around Pos, with "…"
// where it is cut.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("filter: at %d: %s: %s", e.Pos, e.Msg, quoteExcerpt(e.Expr, e.Pos))
}

// Unwrap returns the limit the expression exceeded, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }

// Caret returns the expression (at most 80 bytes of it, around the
// offending position) and, on a second line, a caret under that position,
// for a multi-line diagnostic.
func (e *SyntaxError) Caret() string {
	start, end := excerptBounds(e.Expr, e.Pos)
	pos := min(max(e.Pos, start), len(e.Expr))
	text := e.Expr[start:end]
	lead := ""
	if start > 0 {
		lead = "…"
	}
	pad := make([]byte, 0, pos-start+1)
	for i := start; i < pos; i++ {
		if e.Expr[i] == '\t' {
			pad = append(pad, '\t')
		} else if utf8.RuneStart(e.Expr[i]) {
			pad = append(pad, ' ')
		}
	}
	if lead != "" {
		pad = append([]byte{' '}, pad...)
	}
	tail := ""
	if end < len(e.Expr) {
		tail = "…"
	}
	return lead + text + tail + "\n" + string(pad) + "^"
}

// maxQuoted is how much of an expression an error message quotes.
const maxQuoted = 80

// excerptBounds returns the byte range of at most maxQuoted bytes of expr
// around pos, cut at UTF-8 boundaries.
func excerptBounds(expr string, pos int) (start, end int) {
	if len(expr) <= maxQuoted {
		return 0, len(expr)
	}
	pos = min(max(pos, 0), len(expr))
	start = min(max(pos-maxQuoted/2, 0), len(expr)-maxQuoted)
	end = start + maxQuoted
	for start > 0 && !utf8.RuneStart(expr[start]) {
		start++
	}
	for end < len(expr) && !utf8.RuneStart(expr[end]) {
		end--
	}
	return start, end
}

// quoteExcerpt quotes expr, or at most maxQuoted bytes of it around pos with
// "…" outside the quotes where it was cut.
func quoteExcerpt(expr string, pos int) string {
	start, end := excerptBounds(expr, pos)
	q := strconv.Quote(expr[start:end])
	if start > 0 {
		q = "…" + q
	}
	if end < len(expr) {
		q += "…"
	}
	return q
}

// Compile translates a pcap-filter(7) expression into a classic BPF program
// for Ethernet frames (DLT_EN10MB). The empty expression accepts every frame.
// The program is valid for the kernel: every jump goes forward, it has at
// most MaxInstructions instructions and ends in a return.
//
// An expression longer than MaxExprLen, nested deeper than MaxDepth or
// whose unoptimised program would exceed 16 × MaxInstructions is refused
// with a *SyntaxError wrapping ErrTooLong, ErrTooDeep or ErrTooComplex; the
// work done before that is linear in the expression's length.
func Compile(expr string, opt Options) ([]bpf.Instruction, error) {
	if opt.LinkType != 0 && opt.LinkType != LinkTypeEthernet && opt.LinkType != LinkTypeLinuxSLL {
		return nil, &UnsupportedLinkTypeError{LinkType: opt.LinkType}
	}
	if len(expr) > MaxExprLen {
		return nil, &SyntaxError{Expr: expr, Pos: MaxExprLen, Err: ErrTooLong,
			Msg: fmt.Sprintf("expression too long: %d bytes, the limit is %d", len(expr), MaxExprLen)}
	}
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
		p := &parser{expr: expr, toks: toks, hostmask: hostmask, kernelVLAN: opt.KernelVLAN,
			sll: opt.LinkType == LinkTypeLinuxSLL}
		root, err = p.parse()
		if err != nil {
			return nil, err
		}
		if n := treeItems(root, maxTreeItems); n > maxTreeItems {
			return nil, &SyntaxError{Expr: expr, Pos: 0, Err: ErrTooComplex,
				Msg: fmt.Sprintf("expression too complex: more than %d instructions before optimization", maxTreeItems)}
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
		return nil, fmt.Errorf("filter: internal error compiling %s: %w", quoteExcerpt(expr, 0), err)
	}
	if len(prog) > MaxInstructions {
		return nil, fmt.Errorf("filter: program too long: %d instructions, the kernel accepts %d: %s", len(prog), MaxInstructions, quoteExcerpt(expr, 0))
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
		return nil, fmt.Errorf("filter: assemble %s: %w", quoteExcerpt(expr, 0), err)
	}
	return raw, nil
}

// treeItems counts the instructions the tree emits before optimization,
// stopping as soon as the count passes limit.
func treeItems(n node, limit int) int {
	switch n := n.(type) {
	case test:
		return len(n.stmts) + 1
	case andNode:
		c := treeItems(n.a, limit)
		if c > limit {
			return c
		}
		return c + treeItems(n.b, limit-c)
	case orNode:
		c := treeItems(n.a, limit)
		if c > limit {
			return c
		}
		return c + treeItems(n.b, limit-c)
	case notNode:
		return treeItems(n.a, limit)
	}
	return 1
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
