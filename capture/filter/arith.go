package filter

import (
	"net/netip"

	"golang.org/x/net/bpf"
)

func parseAddr6(s string) ([16]byte, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return [16]byte{}, err
	}
	return a.As16(), nil
}

// Arithmetic expressions (pcap-filter(7) "expr relop expr"): parsed into a
// small tree first, so that a failed attempt has no side effects, then
// generated with the offsets in force where the relation appears.

type arith interface{}

type aNum struct{ v uint32 }
type aLen struct{}
type aLoad struct {
	proto proto
	idx   arith
	size  int
	pos   int
}
type aBin struct {
	op   string
	l, r arith
	pos  int
}
type aNeg struct{ x arith }

var relops = map[string]struct {
	op       jop
	reversed bool
}{
	">": {opJGT, false}, ">=": {opJGE, false}, "=": {opJEQ, false},
	"<=": {opJGT, true}, "<": {opJGE, true}, "!=": {opJEQ, true},
}

// parseRelation parses arth relop arth and generates its test.
func (p *parser) parseRelation() (node, error) {
	l, err := p.parseArith(0)
	if err != nil {
		return nil, err
	}
	t := p.peek()
	rel, ok := relops[t.text]
	if t.kind != tPunct || !ok {
		return nil, p.errAt(t.pos, "expected a relation (=, !=, <, <=, >, >=), found %s", t)
	}
	p.next()
	r, err := p.parseArith(0)
	if err != nil {
		return nil, err
	}
	return p.genRelation(rel.op, rel.reversed, l, r)
}

// Binary operator precedence, from libpcap's grammar: | < & < shifts < + - <
// * /. '%' and '^' have no precedence there, so bison shifts on them: their
// right operand extends as far as it can.
var binPrec = map[string]int{"|": 1, "&": 2, "<<": 3, ">>": 3, "+": 4, "-": 4, "*": 5, "/": 5}

func (p *parser) parseArith(min int) (arith, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tPunct {
			return l, nil
		}
		if t.text == "%" || t.text == "^" {
			if err := p.enter(t.pos); err != nil {
				return nil, err
			}
			p.next()
			r, err := p.parseArith(0)
			p.leave()
			if err != nil {
				return nil, err
			}
			l = aBin{op: t.text, l: l, r: r, pos: t.pos}
			continue
		}
		prec, ok := binPrec[t.text]
		if !ok || prec <= min {
			return l, nil
		}
		p.next()
		r, err := p.parseArith(prec)
		if err != nil {
			return nil, err
		}
		l = aBin{op: t.text, l: l, r: r, pos: t.pos}
	}
}

func (p *parser) parseUnary() (arith, error) {
	t := p.peek()
	switch {
	case t.is("-"):
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return aNeg{x: x}, nil
	case t.kind == tNum:
		p.next()
		return aNum{v: t.num}, nil
	case t.is("len"):
		p.next()
		return aLen{}, nil
	case t.is("("):
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		p.next()
		x, err := p.parseArith(0)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
		return x, nil
	case t.kind == tKeyword && pnames[t.text] != pDefault && p.peekN(1).is("["):
		pq := pnames[t.text]
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		p.i += 2
		idx, err := p.parseArith(0)
		if err != nil {
			return nil, err
		}
		size := 1
		if p.peek().is(":") {
			p.next()
			st := p.peek()
			if st.kind != tNum {
				return nil, p.errAt(st.pos, "expected data size 1, 2 or 4, found %s", st)
			}
			p.next()
			if st.num != 1 && st.num != 2 && st.num != 4 {
				return nil, p.errAt(st.pos, "data size must be 1, 2, or 4")
			}
			size = int(st.num)
		}
		if _, err := p.expect("]"); err != nil {
			return nil, err
		}
		switch pq {
		case pLink, pIP, pIP6, pARP, pRARP, pTCP, pUDP, pICMP, pSCTP, pIGMP, pIGRP, pPIM, pVRRP, pCARP, pICMP6:
		default:
			return nil, p.errAt(t.pos, "'%s' does not support the index operation", t.text)
		}
		return aLoad{proto: pq, idx: idx, size: size, pos: t.pos}, nil
	}
	return nil, p.errAt(t.pos, "expected a number, len or proto[offset], found %s%s", t, caseHint(t))
}

// fold replaces constant subtrees by their value.
func (p *parser) fold(a arith) (arith, error) {
	switch a := a.(type) {
	case aNeg:
		x, err := p.fold(a.x)
		if err != nil {
			return nil, err
		}
		if n, ok := x.(aNum); ok {
			return aNum{v: -n.v}, nil
		}
		return aNeg{x: x}, nil
	case aLoad:
		idx, err := p.fold(a.idx)
		if err != nil {
			return nil, err
		}
		a.idx = idx
		return a, nil
	case aBin:
		l, err := p.fold(a.l)
		if err != nil {
			return nil, err
		}
		r, err := p.fold(a.r)
		if err != nil {
			return nil, err
		}
		rn, rc := r.(aNum)
		if lit, ok := a.r.(aNum); ok && lit.v == 0 {
			switch a.op {
			case "/":
				return nil, p.errAt(a.pos, "division by zero")
			case "%":
				return nil, p.errAt(a.pos, "modulus by zero")
			}
		}
		zeroDiv := rc && rn.v == 0 && (a.op == "/" || a.op == "%")
		ln, lc := l.(aNum)
		if zeroDiv {
			// libpcap's optimizer reports it too (unless the code is dead).
			if a.op == "/" {
				return nil, p.errAt(a.pos, "division by zero")
			}
			return nil, p.errAt(a.pos, "modulus by zero")
		}
		if lc && rc && !zeroDiv {
			// Constant shifts past 31 bits give 0, as libpcap folds them.
			return aNum{v: aluK(a.op, ln.v, rn.v)}, nil
		}
		if rc && (a.op == "<<" || a.op == ">>") && rn.v > 31 {
			// The kernel refuses such a shift (sk_chk_filter).
			return nil, p.errAt(a.pos, "shift by more than 31 bits")
		}
		return aBin{op: a.op, l: l, r: r, pos: a.pos}, nil
	}
	return a, nil
}

func aluK(op string, a, b uint32) uint32 {
	switch op {
	case "+":
		return a + b
	case "-":
		return a - b
	case "*":
		return a * b
	case "/":
		return a / b
	case "%":
		return a % b
	case "&":
		return a & b
	case "|":
		return a | b
	case "^":
		return a ^ b
	case "<<":
		return a << b
	case ">>":
		return a >> b
	}
	panic("filter: unknown operator " + op)
}

var aluOps = map[string]bpf.ALUOp{
	"+": bpf.ALUOpAdd, "-": bpf.ALUOpSub, "*": bpf.ALUOpMul, "/": bpf.ALUOpDiv, "%": bpf.ALUOpMod,
	"&": bpf.ALUOpAnd, "|": bpf.ALUOpOr, "^": bpf.ALUOpXor, "<<": bpf.ALUOpShiftLeft, ">>": bpf.ALUOpShiftRight,
}

func (p *parser) scratchBase() int {
	if p.kernelVLAN {
		return 2
	}
	return 0
}

func (p *parser) scratch(depth int, pos int) (int, error) {
	if depth >= 16 {
		return 0, p.errAt(pos, "expression too complex (out of scratch memory)")
	}
	return depth, nil
}

// genArith returns code leaving the value of a in A, and the tests that
// must hold for the loads in it to mean anything (protocol guards).
func (p *parser) genArith(a arith, depth int) ([]bpf.Instruction, node, error) {
	switch a := a.(type) {
	case aNum:
		return []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegA, Val: a.v}}, nil, nil
	case aLen:
		return []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtLen}}, nil, nil
	case aNeg:
		st, g, err := p.genArith(a.x, depth)
		return append(st, bpf.NegateA{}), g, err
	case aBin:
		op := aluOps[a.op]
		st, gl, err := p.genArith(a.l, depth)
		if err != nil {
			return nil, nil, err
		}
		if rn, ok := a.r.(aNum); ok {
			return append(st, bpf.ALUOpConstant{Op: op, Val: rn.v}), gl, nil
		}
		m, err := p.scratch(depth, a.pos)
		if err != nil {
			return nil, nil, err
		}
		sr, gr, err := p.genArith(a.r, depth+1)
		if err != nil {
			return nil, nil, err
		}
		st = append(st, bpf.StoreScratch{Src: bpf.RegA, N: m})
		st = append(st, sr...)
		st = append(st, bpf.TAX{}, bpf.LoadScratch{Dst: bpf.RegA, N: m}, bpf.ALUOpX{Op: op})
		// libpcap's gen_arth keeps the guards of the left operand only:
		// in "tcp[0] + sctp[0] = 1" nothing checks for SCTP.
		_ = gr
		return st, gl, nil
	case aLoad:
		return p.genLoad(a, depth)
	}
	panic("filter: unknown arithmetic node")
}

func (p *parser) genLoad(a aLoad, depth int) ([]bpf.Instruction, node, error) {
	var st []bpf.Instruction
	var ig node
	c, constIdx := a.idx.(aNum)
	if !constIdx {
		var err error
		st, ig, err = p.genArith(a.idx, depth)
		if err != nil {
			return nil, nil, err
		}
	}
	// base is the constant part of the offset the index is relative to;
	// variable says whether M[0] must be added.
	var base uint32
	variable := false
	switch a.proto {
	case pLink:
		base = 0
	case pICMP6:
		base, variable = p.linkpl.k+40, p.linkpl.v
	default:
		base, variable = p.linkpl.k, p.linkpl.v
	}
	transport := false
	switch a.proto {
	case pTCP, pUDP, pICMP, pSCTP, pIGMP, pIGRP, pPIM, pVRRP, pCARP:
		transport = true
	}
	switch {
	case transport && constIdx:
		st = append(p.ldxIHL(), bpf.LoadIndirect{Off: base + c.v, Size: a.size})
	case transport:
		m, err := p.scratch(depth, a.pos)
		if err != nil {
			return nil, nil, err
		}
		st = append(st, bpf.StoreScratch{Src: bpf.RegA, N: m})
		st = append(st, p.ldxIHL()...)
		st = append(st, bpf.LoadScratch{Dst: bpf.RegA, N: m}, bpf.ALUOpX{Op: bpf.ALUOpAdd}, bpf.TAX{},
			bpf.LoadIndirect{Off: base, Size: a.size})
	case constIdx && !variable:
		st = []bpf.Instruction{bpf.LoadAbsolute{Off: base + c.v, Size: a.size}}
	case constIdx:
		st = []bpf.Instruction{bpf.LoadScratch{Dst: bpf.RegX, N: memLinkPl}, bpf.LoadIndirect{Off: base + c.v, Size: a.size}}
	case !variable:
		st = append(st, bpf.TAX{}, bpf.LoadIndirect{Off: base, Size: a.size})
	default:
		st = append(st, bpf.LoadScratch{Dst: bpf.RegX, N: memLinkPl}, bpf.ALUOpX{Op: bpf.ALUOpAdd}, bpf.TAX{},
			bpf.LoadIndirect{Off: base, Size: a.size})
	}
	// Guards, in libpcap's order.
	var g node
	switch a.proto {
	case pLink:
		g = ig
	case pIP, pIP6, pARP, pRARP:
		g = and(ig, p.ltTest(abbrevLinkType[a.proto]))
	case pICMP6:
		g = and(p.ltTest(0x86dd), ig, test{stmts: p.ldPl(1, 6), op: opJEQ, k: 58})
	default:
		v, _, _ := ipNumber(a.proto)
		g = and(p.ltTest(0x0800), ig, p.ipProto(v), p.notFrag())
	}
	return st, g, nil
}

func (p *parser) genRelation(op jop, reversed bool, l, r arith) (node, error) {
	l, err := p.fold(l)
	if err != nil {
		return nil, err
	}
	r, err = p.fold(r)
	if err != nil {
		return nil, err
	}
	ln, lc := l.(aNum)
	rn, rc := r.(aNum)
	if lc && rc {
		var v bool
		switch op {
		case opJEQ:
			v = ln.v == rn.v
		case opJGT:
			v = ln.v > rn.v
		case opJGE:
			v = ln.v >= rn.v
		}
		return constNode(v != reversed), nil
	}
	var n node
	var guards node
	base := p.scratchBase()
	if rc {
		st, g, err := p.genArith(l, base)
		if err != nil {
			return nil, err
		}
		guards = g
		n = test{stmts: st, op: op, k: rn.v}
	} else {
		sr, gr, err := p.genArith(r, base)
		if err != nil {
			return nil, err
		}
		m, err := p.scratch(base, 0)
		if err != nil {
			return nil, err
		}
		sl, gl, err := p.genArith(l, base+1)
		if err != nil {
			return nil, err
		}
		guards = and(gl, gr)
		st := append(sr, bpf.StoreScratch{Src: bpf.RegA, N: m})
		st = append(st, sl...)
		st = append(st, bpf.LoadScratch{Dst: bpf.RegX, N: m})
		n = test{stmts: st, op: op, x: true}
	}
	if reversed {
		n = not(n)
	}
	// As in libpcap's gen_relation, the guards are ANDed after the
	// comparison is negated: "tcp[0] != 1" still requires TCP.
	return and(guards, n), nil
}
