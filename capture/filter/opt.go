package filter

import (
	"fmt"
	"strconv"

	"golang.org/x/net/bpf"
)

// The optimizer works on basic blocks, in the spirit of libpcap's optimize.c:
//
//   - value numbering: packet memory does not change while a program runs,
//     so two loads of the same bytes give the same value; a load whose value
//     A (or X) already holds is dropped;
//   - facts learnt from branches (equal, not equal, greater, bits clear) on
//     a value decide later tests of the same value: "ip6" after a failed
//     "ip" test does not reload the EtherType, "tcp" after "ip proto 17"
//     jumps straight to false; constants are folded;
//   - an edge into a block that does nothing new and whose test is decided
//     on that edge is threaded to the block's target;
//   - statements whose results nothing uses are removed. Like libpcap's,
//     this can drop a load that would have fallen outside a truncated
//     packet (and so rejected it): the program then decides on the other
//     tests alone, as libpcap's own program does.

type block struct {
	stmts  []bpf.Instruction
	kind   itemKind // iCond, iJa or iRet
	op     jop
	k      uint32
	x      bool
	jt, jf int // block indexes (iCond); jt is the target of iJa
	ret    uint32
	dead   bool
}

// toBlocks splits the item list into blocks; every block ends in a jump or
// a return, and jumps name block indexes.
func toBlocks(items []item, labels int) []*block {
	labelBlock := make([]int, labels)
	var blocks []*block
	cur := &block{kind: iJa, jt: -1}
	open := false
	var pending []int // labels waiting for the next block
	flush := func() {
		blocks = append(blocks, cur)
		cur = &block{kind: iJa, jt: -1}
		open = false
	}
	for _, it := range items {
		switch it.kind {
		case iLabel:
			if open {
				// Fall through into the labelled block.
				cur.kind, cur.jt = iJa, -2
				flush()
			}
			pending = append(pending, it.target)
			continue
		}
		if !open {
			for _, l := range pending {
				labelBlock[l] = len(blocks)
			}
			pending = pending[:0]
			open = true
		}
		switch it.kind {
		case iIns:
			cur.stmts = append(cur.stmts, it.ins)
		case iCond:
			cur.kind, cur.op, cur.k, cur.x, cur.jt, cur.jf = iCond, it.op, it.k, it.x, -(it.jt + 10), -(it.jf + 10)
			flush()
		case iJa:
			cur.kind, cur.jt = iJa, -(it.target + 10)
			flush()
		case iRet:
			cur.kind, cur.ret = iRet, it.k
			flush()
		}
	}
	// Resolve label references (encoded as -(label+10)) and fall-throughs.
	for i, b := range blocks {
		res := func(v int) int {
			if v == -2 {
				return i + 1
			}
			return labelBlock[-v-10]
		}
		switch b.kind {
		case iCond:
			b.jt, b.jf = res(b.jt), res(b.jf)
		case iJa:
			b.jt = res(b.jt)
		}
	}
	return blocks
}

// fromBlocks turns blocks back into items, leaving out jumps to the next
// block.
func fromBlocks(blocks []*block) ([]item, int) {
	var items []item
	for i, b := range blocks {
		if b.dead {
			continue
		}
		items = append(items, item{kind: iLabel, target: i})
		for _, s := range b.stmts {
			items = append(items, item{kind: iIns, ins: s})
		}
		switch b.kind {
		case iCond:
			items = append(items, item{kind: iCond, op: b.op, k: b.k, x: b.x, jt: b.jt, jf: b.jf})
		case iJa:
			items = append(items, item{kind: iJa, target: b.jt})
		case iRet:
			items = append(items, item{kind: iRet, k: b.ret})
		}
	}
	return items, len(blocks)
}

// fact is what is known about one value: lo <= v <= hi, v is none of neq,
// the bits of clear are 0 and those of set are 1.
type fact struct {
	lo, hi     uint32
	neq        []uint32
	clear, set uint32
}

func anyFact() fact { return fact{lo: 0, hi: 0xffffffff} }

func (f fact) decide(op jop, k uint32) (result, known bool) {
	switch op {
	case opJEQ:
		if f.lo == f.hi {
			return f.lo == k, true
		}
		if k < f.lo || k > f.hi || k&f.clear != 0 || k&f.set != f.set {
			return false, true
		}
		for _, n := range f.neq {
			if n == k {
				return false, true
			}
		}
	case opJGT:
		if f.lo > k {
			return true, true
		}
		if f.hi <= k {
			return false, true
		}
	case opJGE:
		if f.lo >= k {
			return true, true
		}
		if f.hi < k {
			return false, true
		}
	case opJSET:
		if f.lo == f.hi {
			return f.lo&k != 0, true
		}
		if k&f.set != 0 {
			return true, true
		}
		if k&^f.clear == 0 {
			return false, true
		}
	}
	return false, false
}

func (f fact) learn(op jop, k uint32, outcome bool) fact {
	f.neq = append([]uint32(nil), f.neq...)
	switch op {
	case opJEQ:
		if outcome {
			f.lo, f.hi = max(f.lo, k), min(f.hi, k)
		} else {
			f.neq = append(f.neq, k)
		}
	case opJGT:
		if outcome {
			if k < 0xffffffff {
				f.lo = max(f.lo, k+1)
			}
		} else {
			f.hi = min(f.hi, k)
		}
	case opJGE:
		if outcome {
			f.lo = max(f.lo, k)
		} else if k > 0 {
			f.hi = min(f.hi, k-1)
		}
	case opJSET:
		if !outcome {
			f.clear |= k
		} else if k&(k-1) == 0 {
			f.set |= k // one bit: it is set
		}
	}
	return f
}

func meetFact(a, b fact) fact {
	r := fact{lo: min(a.lo, b.lo), hi: max(a.hi, b.hi), clear: a.clear & b.clear, set: a.set & b.set}
	for _, x := range a.neq {
		for _, y := range b.neq {
			if x == y {
				r.neq = append(r.neq, x)
				break
			}
		}
	}
	return r
}

// vstate is the abstract machine state: the value numbers held by A, X and
// scratch memory ("" when unknown), and facts about value numbers.
type vstate struct {
	a, x  string
	mem   [16]string
	facts map[string]fact
}

// clone copies s. The facts map is shared: a map is never written once
// its state has been cloned (edgeState, the one writer, copies it first),
// which spares the optimizer a map copy per block and edge.
func (s *vstate) clone() *vstate {
	c := *s
	return &c
}

// withFact returns a copy of s that also knows f about key.
func (s *vstate) withFact(key string, f fact) *vstate {
	c := *s
	c.facts = make(map[string]fact, len(s.facts)+1)
	for k, v := range s.facts {
		c.facts[k] = v
	}
	c.facts[key] = f
	return &c
}

func meet(a, b *vstate) *vstate {
	if a == nil {
		return b.clone()
	}
	r := &vstate{facts: map[string]fact{}}
	if a.a == b.a {
		r.a = a.a
	}
	if a.x == b.x {
		r.x = a.x
	}
	for i := range r.mem {
		if a.mem[i] == b.mem[i] {
			r.mem[i] = a.mem[i]
		}
	}
	for k, fa := range a.facts {
		if fb, ok := b.facts[k]; ok {
			r.facts[k] = meetFact(fa, fb)
		}
	}
	return r
}

func constKey(v uint32) string { return "#" + strconv.FormatUint(uint64(v), 10) }

func isConst(key string) (uint32, bool) {
	if len(key) < 2 || key[0] != '#' {
		return 0, false
	}
	v, err := strconv.ParseUint(key[1:], 10, 32)
	return uint32(v), err == nil
}

func (s *vstate) factOf(key string) fact {
	if v, ok := isConst(key); ok {
		return fact{lo: v, hi: v}
	}
	if f, ok := s.facts[key]; ok {
		return f
	}
	return anyFact()
}

// decide returns the outcome of block b's test in state s, if known.
func (s *vstate) decide(b *block) (result, known bool) {
	if s.a == "" {
		return false, false
	}
	k := b.k
	if b.x {
		v, ok := isConst(s.x)
		if !ok {
			if b.op == opJEQ && s.x != "" && s.x == s.a {
				return true, true
			}
			return false, false
		}
		k = v
	}
	return s.factOf(s.a).decide(b.op, k)
}

// maxKeyLen bounds a value number's text. A longer one becomes unknown
// (""), which is always correct and keeps a long arithmetic chain from
// costing time quadratic in its length.
const maxKeyLen = 512

func bounded(key string) string {
	if len(key) > maxKeyLen {
		return ""
	}
	return key
}

var aluNames = map[bpf.ALUOp]string{
	bpf.ALUOpAdd: "+", bpf.ALUOpSub: "-", bpf.ALUOpMul: "*", bpf.ALUOpDiv: "/", bpf.ALUOpOr: "|",
	bpf.ALUOpAnd: "&", bpf.ALUOpShiftLeft: "<<", bpf.ALUOpShiftRight: ">>", bpf.ALUOpMod: "%", bpf.ALUOpXor: "^",
}

// step simulates one statement. It returns the statement to keep (possibly
// simplified) and false when the statement can be dropped because it
// changes nothing.
func (s *vstate) step(ins bpf.Instruction) (bpf.Instruction, bool) {
	setA := func(key string) bool {
		if key != "" && key == s.a {
			return false
		}
		s.a = key
		return true
	}
	switch in := ins.(type) {
	case bpf.LoadAbsolute:
		return ins, setA(fmt.Sprintf("P%d@%d", in.Size, in.Off))
	case bpf.LoadIndirect:
		if s.x == "" {
			s.a = ""
			return ins, true
		}
		return ins, setA(bounded(fmt.Sprintf("P%d@[%s]+%d", in.Size, s.x, in.Off)))
	case bpf.LoadExtension:
		return ins, setA(fmt.Sprintf("ext%d", in.Num))
	case bpf.LoadConstant:
		key := constKey(in.Val)
		if in.Dst == bpf.RegX {
			if s.x == key {
				return ins, false
			}
			s.x = key
			return ins, true
		}
		return ins, setA(key)
	case bpf.LoadScratch:
		key := s.mem[in.N]
		if in.Dst == bpf.RegX {
			if key != "" && s.x == key {
				return ins, false
			}
			if v, ok := isConst(key); ok {
				s.x = key
				return bpf.LoadConstant{Dst: bpf.RegX, Val: v}, true
			}
			s.x = key
			return ins, true
		}
		if v, ok := isConst(key); ok && s.a != key {
			s.a = key
			return bpf.LoadConstant{Dst: bpf.RegA, Val: v}, true
		}
		return ins, setA(key)
	case bpf.LoadMemShift:
		key := fmt.Sprintf("msh@%d", in.Off)
		if s.x == key {
			return ins, false
		}
		s.x = key
		return ins, true
	case bpf.StoreScratch:
		src := s.a
		if in.Src == bpf.RegX {
			src = s.x
		}
		if src != "" && s.mem[in.N] == src {
			return ins, false
		}
		s.mem[in.N] = src
		return ins, true
	case bpf.TAX:
		if s.a != "" && s.x == s.a {
			return ins, false
		}
		s.x = s.a
		return ins, true
	case bpf.TXA:
		return ins, setA(s.x)
	case bpf.NegateA:
		if v, ok := isConst(s.a); ok {
			s.a = constKey(-v)
			return bpf.LoadConstant{Dst: bpf.RegA, Val: -v}, true
		}
		if s.a != "" {
			s.a = bounded("-(" + s.a + ")")
		}
		return ins, true
	case bpf.ALUOpX:
		if v, ok := isConst(s.x); ok && !((in.Op == bpf.ALUOpDiv || in.Op == bpf.ALUOpMod) && v == 0) {
			return s.step(bpf.ALUOpConstant{Op: in.Op, Val: v})
		}
		if s.a != "" && s.x != "" {
			s.a = bounded("(" + s.a + aluNames[in.Op] + s.x + ")")
		} else {
			s.a = ""
		}
		return ins, true
	case bpf.ALUOpConstant:
		k := in.Val
		if k == 0 {
			switch in.Op {
			case bpf.ALUOpAdd, bpf.ALUOpSub, bpf.ALUOpOr, bpf.ALUOpXor, bpf.ALUOpShiftLeft, bpf.ALUOpShiftRight:
				return ins, false
			case bpf.ALUOpAnd, bpf.ALUOpMul:
				s.a = constKey(0)
				return bpf.LoadConstant{Dst: bpf.RegA, Val: 0}, true
			}
		}
		if v, ok := isConst(s.a); ok && !((in.Op == bpf.ALUOpDiv || in.Op == bpf.ALUOpMod) && k == 0) {
			r := aluK(aluNames[in.Op], v, k)
			if (in.Op == bpf.ALUOpShiftLeft || in.Op == bpf.ALUOpShiftRight) && k > 31 {
				r = 0
			}
			s.a = constKey(r)
			return bpf.LoadConstant{Dst: bpf.RegA, Val: r}, true
		}
		if s.a != "" {
			s.a = bounded("(" + s.a + aluNames[in.Op] + constKey(k) + ")")
		}
		return ins, true
	}
	// Anything else: forget everything.
	s.a, s.x = "", ""
	return ins, true
}

// regs of a statement: what it reads and writes, as bit sets over A (bit
// 16), X (bit 17) and M[0..15] (bits 0-15).
const (
	regA = 1 << 16
	regX = 1 << 17
)

func useDef(ins bpf.Instruction) (use, def uint32) {
	switch in := ins.(type) {
	case bpf.LoadAbsolute, bpf.LoadExtension:
		return 0, regA
	case bpf.LoadIndirect:
		return regX, regA
	case bpf.LoadConstant:
		if in.Dst == bpf.RegX {
			return 0, regX
		}
		return 0, regA
	case bpf.LoadScratch:
		if in.Dst == bpf.RegX {
			return 1 << in.N, regX
		}
		return 1 << in.N, regA
	case bpf.LoadMemShift:
		return 0, regX
	case bpf.StoreScratch:
		if in.Src == bpf.RegX {
			return regX, 1 << in.N
		}
		return regA, 1 << in.N
	case bpf.TAX:
		return regA, regX
	case bpf.TXA:
		return regX, regA
	case bpf.NegateA, bpf.ALUOpConstant:
		return regA, regA
	case bpf.ALUOpX:
		return regA | regX, regA
	}
	return 0xffffffff, 0
}

// optimizeBlocks runs the passes until nothing changes.
func optimizeBlocks(blocks []*block) {
	// Jump threading follows chains from every edge: on very large
	// programs it is left out to keep compilation fast.
	threading := len(blocks) <= 1200
	for round := 0; round < 50; round++ {
		changed := propagate(blocks)
		if threading {
			changed = thread(blocks) || changed
		}
		changed = removeDead(blocks) || changed
		if !changed {
			return
		}
	}
}

func preds(blocks []*block) [][]int {
	p := make([][]int, len(blocks))
	for i, b := range blocks {
		if b.dead {
			continue
		}
		switch b.kind {
		case iCond:
			p[b.jt] = append(p[b.jt], i)
			if b.jf != b.jt {
				p[b.jf] = append(p[b.jf], i)
			}
		case iJa:
			p[b.jt] = append(p[b.jt], i)
		}
	}
	return p
}

// edgeState is the state on the edge from b (exit state out) to target t.
func edgeState(b *block, out *vstate, t int) *vstate {
	if b.kind != iCond || b.jt == b.jf || out.a == "" {
		return out
	}
	k := b.k
	if b.x {
		v, ok := isConst(out.x)
		if !ok {
			return out
		}
		k = v
	}
	if _, ok := isConst(out.a); ok {
		return out
	}
	return out.withFact(out.a, out.factOf(out.a).learn(b.op, k, t == b.jt))
}

// propagate computes the state at each block's entry, simplifies its
// statements and folds tests whose outcome is known.
func propagate(blocks []*block) bool {
	changed := false
	in := make([]*vstate, len(blocks))
	in[0] = &vstate{facts: map[string]fact{}}
	p := preds(blocks)
	for i, b := range blocks {
		if b.dead {
			continue
		}
		if i > 0 {
			if len(p[i]) == 0 {
				b.dead, changed = true, true
				continue
			}
			in[i] = nil
		}
		for _, q := range p[i] {
			if out := blockOut(blocks[q], in[q]); out != nil {
				in[i] = meet(in[i], edgeState(blocks[q], out, i))
			}
		}
		if in[i] == nil {
			in[i] = &vstate{facts: map[string]fact{}}
		}
		s := in[i].clone()
		var kept []bpf.Instruction
		for _, ins := range b.stmts {
			ni, keep := s.step(ins)
			if !keep {
				changed = true
				continue
			}
			if ni != ins {
				changed = true
			}
			kept = append(kept, ni)
		}
		b.stmts = kept
		if b.kind == iCond {
			if b.x {
				if v, ok := isConst(s.x); ok {
					b.x, b.k, changed = false, v, true
				}
			}
			if r, ok := s.decide(b); ok {
				t := b.jf
				if r {
					t = b.jt
				}
				b.kind, b.jt, changed = iJa, t, true
			} else if b.jt == b.jf {
				b.kind, changed = iJa, true
			}
		}
	}
	return changed
}

// blockOut is b's exit state from entry state s (nil if unknown).
func blockOut(b *block, s *vstate) *vstate {
	if s == nil {
		return nil
	}
	s = s.clone()
	for _, ins := range b.stmts {
		s.step(ins)
	}
	return s
}

// thread retargets edges into blocks that, given the state on the edge,
// do nothing and whose test is decided, and jumps to jumps.
func thread(blocks []*block) bool {
	changed := false
	in := make([]*vstate, len(blocks))
	in[0] = &vstate{facts: map[string]fact{}}
	p := preds(blocks)
	for i := range blocks {
		if blocks[i].dead || i == 0 {
			continue
		}
		for _, q := range p[i] {
			if out := blockOut(blocks[q], in[q]); out != nil {
				in[i] = meet(in[i], edgeState(blocks[q], out, i))
			}
		}
	}
	// target follows the edge q -> t through blocks whose test the facts on
	// that edge decide, as long as nothing they define is used where the
	// edge ends up. Skipping a block may skip a load that would have fallen
	// outside a truncated packet: libpcap's optimizer does the same.
	liveIn := liveness(blocks)
	target := func(q int, t int) int {
		if in[q] == nil {
			return t
		}
		s := edgeState(blocks[q], blockOut(blocks[q], in[q]), t)
		var defs uint32
		best := t
		for n := 0; n < 64; n++ {
			b := blocks[t]
			if b.kind == iRet {
				break
			}
			c := s.clone()
			for _, ins := range b.stmts {
				c.step(ins)
				_, d := useDef(ins)
				defs |= d
			}
			next := b.jt
			if b.kind == iCond {
				r, ok := c.decide(b)
				if !ok {
					break
				}
				if !r {
					next = b.jf
				}
			}
			// Blocks skipped on the way may define registers that blocks
			// skipped after them use; only the landing block matters.
			if defs&liveIn[next] == 0 {
				best = next
			}
			s, t = c, next
		}
		return best
	}
	for q, b := range blocks {
		if b.dead {
			continue
		}
		switch b.kind {
		case iCond:
			if t := target(q, b.jt); t != b.jt {
				b.jt, changed = t, true
			}
			if t := target(q, b.jf); t != b.jf {
				b.jf, changed = t, true
			}
			if b.jt == b.jf {
				b.kind, changed = iJa, true
			}
		case iJa:
			if t := target(q, b.jt); t != b.jt {
				b.jt, changed = t, true
			}
			if t := blocks[b.jt]; t.kind == iRet && len(t.stmts) == 0 {
				b.kind, b.ret, changed = iRet, t.ret, true
			}
		}
	}
	return changed
}

// liveness returns the registers live at the entry of each block.
func liveness(blocks []*block) []uint32 {
	liveIn := make([]uint32, len(blocks))
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		if b.dead {
			continue
		}
		live := liveOut(b, liveIn)
		for j := len(b.stmts) - 1; j >= 0; j-- {
			use, def := useDef(b.stmts[j])
			live = live&^def | use
		}
		liveIn[i] = live
	}
	return liveIn
}

func liveOut(b *block, liveIn []uint32) uint32 {
	switch b.kind {
	case iCond:
		live := liveIn[b.jt] | liveIn[b.jf] | regA
		if b.x {
			live |= regX
		}
		return live
	case iJa:
		return liveIn[b.jt]
	}
	return 0
}

// removeDead drops statements whose results are never used, with a
// backward liveness analysis over the blocks (an acyclic graph laid out in
// order).
func removeDead(blocks []*block) bool {
	changed := false
	liveIn := make([]uint32, len(blocks))
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		if b.dead {
			continue
		}
		live := liveOut(b, liveIn)
		var kept []bpf.Instruction
		for j := len(b.stmts) - 1; j >= 0; j-- {
			use, def := useDef(b.stmts[j])
			if def != 0 && def&live == 0 {
				changed = true
				continue
			}
			live = live&^def | use
			kept = append(kept, b.stmts[j])
		}
		for l, r := 0, len(kept)-1; l < r; l, r = l+1, r-1 {
			kept[l], kept[r] = kept[r], kept[l]
		}
		b.stmts = kept
		liveIn[i] = live
	}
	return changed
}
