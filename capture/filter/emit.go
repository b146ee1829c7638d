package filter

import (
	"golang.org/x/net/bpf"
)

// The compiler builds a boolean tree whose leaves are tests: a few
// statements that leave a value in A, then one conditional jump. emit lays
// the tree out as straight-line code with short-circuit jumps, which are
// forward by construction.

type node interface{}

type andNode struct{ a, b node }
type orNode struct{ a, b node }
type notNode struct{ a node }
type constNode bool

// jop is the comparison that ends a test.
type jop uint8

const (
	opTrue jop = iota // no comparison: the statements run and the test is true
	opJEQ
	opJGT
	opJGE
	opJSET
)

// test runs stmts and then compares A with k (or with X when x is set).
type test struct {
	stmts []bpf.Instruction
	op    jop
	k     uint32
	x     bool
}

func and(ns ...node) node {
	var r node
	for _, n := range ns {
		if n == nil {
			continue
		}
		if r == nil {
			r = n
		} else {
			r = andNode{a: r, b: n}
		}
	}
	return r
}

func or(ns ...node) node {
	var r node
	for _, n := range ns {
		if n == nil {
			continue
		}
		if r == nil {
			r = n
		} else {
			r = orNode{a: r, b: n}
		}
	}
	return r
}

func not(n node) node { return notNode{a: n} }

type itemKind uint8

const (
	iIns itemKind = iota
	iCond
	iJa
	iLabel
	iRet
)

type item struct {
	kind   itemKind
	ins    bpf.Instruction // iIns
	op     jop             // iCond
	k      uint32          // iCond, iRet
	x      bool            // iCond
	jt, jf int             // iCond: label ids
	target int             // iJa: label id; iLabel: its id
	big    bool            // iCond laid out as jcond + two ja
}

type emitter struct {
	items  []item
	labels int
}

func (e *emitter) newLabel() int { e.labels++; return e.labels - 1 }

func (e *emitter) gen(n node, lt, lf int) {
	switch n := n.(type) {
	case constNode:
		if n {
			e.items = append(e.items, item{kind: iJa, target: lt})
		} else {
			e.items = append(e.items, item{kind: iJa, target: lf})
		}
	case test:
		for _, s := range n.stmts {
			e.items = append(e.items, item{kind: iIns, ins: s})
		}
		if n.op == opTrue {
			e.items = append(e.items, item{kind: iJa, target: lt})
		} else {
			e.items = append(e.items, item{kind: iCond, op: n.op, k: n.k, x: n.x, jt: lt, jf: lf})
		}
	case andNode:
		m := e.newLabel()
		e.gen(n.a, m, lf)
		e.items = append(e.items, item{kind: iLabel, target: m})
		e.gen(n.b, lt, lf)
	case orNode:
		m := e.newLabel()
		e.gen(n.a, lt, m)
		e.items = append(e.items, item{kind: iLabel, target: m})
		e.gen(n.b, lt, lf)
	case notNode:
		e.gen(n.a, lf, lt)
	default:
		panic("filter: unknown node")
	}
}

// emit returns the program for root: accept with snaplen, reject with 0.
func emit(root node, snaplen uint32, optimize bool) []bpf.Instruction {
	e := &emitter{}
	acc, rej := e.newLabel(), e.newLabel()
	e.gen(root, acc, rej)
	e.items = append(e.items,
		item{kind: iLabel, target: acc}, item{kind: iRet, k: snaplen},
		item{kind: iLabel, target: rej}, item{kind: iRet, k: 0})
	if optimize {
		blocks := toBlocks(e.items, e.labels)
		optimizeBlocks(blocks)
		e.items, e.labels = fromBlocks(blocks)
	}
	e.optimize()
	return e.layout()
}

// labelIndex maps each label to the index of the first real item after it.
func (e *emitter) labelIndex() []int {
	idx := make([]int, e.labels)
	for i := range idx {
		idx[i] = -1
	}
	next := len(e.items)
	for i := len(e.items) - 1; i >= 0; i-- {
		if e.items[i].kind == iLabel {
			idx[e.items[i].target] = next
		} else {
			next = i
		}
	}
	return idx
}

// optimize threads jumps through unconditional jumps, turns jumps to a
// return into the return, drops jumps to the next instruction and removes
// code that nothing reaches. It changes no loads, so a packet too short for
// a load is rejected exactly where the unoptimized program rejects it.
func (e *emitter) optimize() {
	for changed := true; changed; {
		changed = false
		idx := e.labelIndex()
		// final follows chains of ja to the label they end at.
		final := func(l int) int {
			for n := 0; n < len(e.items); n++ {
				i := idx[l]
				if i >= len(e.items) || e.items[i].kind != iJa || e.items[i].target == l {
					return l
				}
				l = e.items[i].target
			}
			return l
		}
		for i := range e.items {
			it := &e.items[i]
			switch it.kind {
			case iJa:
				if t := final(it.target); t != it.target {
					it.target, changed = t, true
				}
				if j := idx[it.target]; j < len(e.items) && e.items[j].kind == iRet {
					*it, changed = e.items[j], true
				}
			case iCond:
				if t := final(it.jt); t != it.jt {
					it.jt, changed = t, true
				}
				if t := final(it.jf); t != it.jf {
					it.jf, changed = t, true
				}
				if idx[it.jt] == idx[it.jf] {
					*it, changed = item{kind: iJa, target: it.jt}, true
				}
			}
		}
		// Drop jumps to the next real item, and unreachable items.
		used := make([]bool, e.labels)
		for _, it := range e.items {
			switch it.kind {
			case iJa:
				used[it.target] = true
			case iCond:
				used[it.jt], used[it.jf] = true, true
			}
		}
		out := e.items[:0]
		dead := false
		for i, it := range e.items {
			if it.kind == iLabel {
				if !used[it.target] {
					changed = changed || false
					continue
				}
				dead = false
				out = append(out, it)
				continue
			}
			if dead {
				changed = true
				continue
			}
			if it.kind == iJa && idx[it.target] == nextReal(e.items, i) {
				changed = true
				continue
			}
			out = append(out, it)
			if it.kind == iJa || it.kind == iRet {
				dead = true
			}
		}
		e.items = out
	}
}

func nextReal(items []item, i int) int {
	for j := i + 1; j < len(items); j++ {
		if items[j].kind != iLabel {
			return j
		}
	}
	return len(items)
}

// layout assigns positions, widening a conditional jump into jcond + ja + ja
// when a target is more than 255 instructions away, until nothing changes.
func (e *emitter) layout() []bpf.Instruction {
	pos := make([]int, len(e.items)+1)
	lpos := make([]int, e.labels)
	for {
		p := 0
		for i, it := range e.items {
			pos[i] = p
			switch it.kind {
			case iLabel:
				lpos[it.target] = p
			case iCond:
				if it.big {
					p += 3
				} else {
					p++
				}
			default:
				p++
			}
		}
		pos[len(e.items)] = p
		grew := false
		for i := range e.items {
			it := &e.items[i]
			if it.kind == iCond && !it.big {
				if lpos[it.jt]-pos[i]-1 > 255 || lpos[it.jf]-pos[i]-1 > 255 {
					it.big, grew = true, true
				}
			}
		}
		if !grew {
			break
		}
	}
	prog := make([]bpf.Instruction, 0, pos[len(e.items)])
	for i, it := range e.items {
		switch it.kind {
		case iIns:
			prog = append(prog, it.ins)
		case iRet:
			prog = append(prog, bpf.RetConstant{Val: it.k})
		case iJa:
			prog = append(prog, bpf.Jump{Skip: uint32(lpos[it.target] - pos[i] - 1)})
		case iCond:
			jt, jf := lpos[it.jt]-pos[i]-1, lpos[it.jf]-pos[i]-1
			if it.big {
				prog = append(prog, cond(it, 0, 1),
					bpf.Jump{Skip: uint32(lpos[it.jt] - pos[i] - 2)},
					bpf.Jump{Skip: uint32(lpos[it.jf] - pos[i] - 3)})
			} else {
				prog = append(prog, cond(it, uint8(jt), uint8(jf)))
			}
		}
	}
	return prog
}

func cond(it item, jt, jf uint8) bpf.Instruction {
	var c bpf.JumpTest
	switch it.op {
	case opJEQ:
		c = bpf.JumpEqual
	case opJGT:
		c = bpf.JumpGreaterThan
	case opJGE:
		c = bpf.JumpGreaterOrEqual
	case opJSET:
		c = bpf.JumpBitsSet
	}
	if it.x {
		return bpf.JumpIfX{Cond: c, SkipTrue: jt, SkipFalse: jf}
	}
	return bpf.JumpIf{Cond: c, Val: it.k, SkipTrue: jt, SkipFalse: jf}
}
