package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"
)

// Qualifiers, as in libpcap's gencode.h: a protocol, a direction and an
// address kind, each possibly left at its default.
type proto uint8

const (
	pDefault proto = iota
	pLink
	pIP
	pIP6
	pARP
	pRARP
	pTCP
	pUDP
	pICMP
	pICMP6
	pSCTP
	pIGMP
	pIGRP
	pPIM
	pVRRP
	pCARP
	pAH
	pESP
	pATALK
	pAARP
	pDECNET
	pLAT
	pSCA
	pMOPRC
	pMOPDL
	pISO
	pSTP
	pIPX
	pNETBEUI
)

var pnames = map[string]proto{
	"ether": pLink, "link": pLink, "ip": pIP, "ip6": pIP6, "arp": pARP, "rarp": pRARP,
	"tcp": pTCP, "udp": pUDP, "icmp": pICMP, "icmp6": pICMP6, "sctp": pSCTP, "igmp": pIGMP,
	"igrp": pIGRP, "pim": pPIM, "vrrp": pVRRP, "carp": pCARP, "ah": pAH, "esp": pESP,
	"atalk": pATALK, "aarp": pAARP, "decnet": pDECNET, "lat": pLAT, "sca": pSCA,
	"moprc": pMOPRC, "mopdl": pMOPDL, "iso": pISO, "stp": pSTP, "ipx": pIPX, "netbeui": pNETBEUI,
}

type dir uint8

const (
	dDefault dir = iota
	dSrc
	dDst
	dOr
	dAnd
)

type addrq uint8

const (
	aDefault addrq = iota
	aHost
	aNet
	aPort
	aPortRange
	aProto
)

type qual struct {
	proto proto
	dir   dir
	addr  addrq
	err   bool // no qualifiers in scope: a bare id is an error (libpcap's qerr)
}

var qerr = qual{err: true}

// offset is a packet offset with, when v is set, a variable part that the
// program keeps in scratch memory (after the first vlan with KernelVLAN).
type offset struct {
	v bool
	k uint32
}

// Scratch memory: libpcap keeps the variable part of the link-layer
// payload offset in M[0] and of the link-layer type offset in M[1].
const (
	memLinkPl   = 0
	memLinkType = 1
)

const (
	skfAdOff            = 0xfffff000 // SKF_AD_OFF, -0x1000
	skfAdVLANTag        = 44         // SKF_AD_VLAN_TAG
	skfAdVLANTagPresent = 48         // SKF_AD_VLAN_TAG_PRESENT
)

type parser struct {
	expr       string
	toks       []token
	i          int
	hostmask   uint32
	kernelVLAN bool
	sll        bool // DLT_LINUX_SLL: a 16-byte cooked header, no MAC header

	linktype, linkpl offset
	vlanDepth        int
	varOffsets       bool
	depth            int // current nesting, bounded by MaxDepth
}

// enter counts one level of nesting at pos; every successful enter is
// paired with a leave.
func (p *parser) enter(pos int) error {
	if p.depth >= MaxDepth {
		return &SyntaxError{Expr: p.expr, Pos: pos, Err: ErrTooDeep,
			Msg: fmt.Sprintf("expression nested too deeply: more than %d levels", MaxDepth)}
	}
	p.depth++
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) errAt(pos int, format string, args ...any) error {
	return &SyntaxError{Expr: p.expr, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (t token) is(s string) bool {
	return (t.kind == tKeyword || t.kind == tPunct) && t.text == s
}

func (t token) isAnd() bool { return t.is("and") || t.is("&&") }
func (t token) isOr() bool  { return t.is("or") || t.is("||") }
func (t token) isNot() bool { return t.is("not") || t.is("!") }

// caseHint explains a word that would be a keyword or a named number in
// lower case: like libpcap, rawlab's keywords are case-sensitive.
func caseHint(t token) string {
	if t.kind != tID {
		return ""
	}
	l := strings.ToLower(t.text)
	if l == t.text {
		return ""
	}
	if _, ok := namedNums[l]; ok || keywords[l] {
		return fmt.Sprintf(" (keywords are case-sensitive: %q)", l)
	}
	return ""
}

func (p *parser) expect(s string) (token, error) {
	t := p.peek()
	if !t.is(s) {
		return t, p.errAt(t.pos, "expected %q, found %s", s, t)
	}
	return p.next(), nil
}

func (p *parser) parse() (node, error) {
	p.linktype = offset{k: 12}
	p.linkpl = offset{k: 14}
	if p.sll {
		// packet(7)'s cooked header: packet type, ARPHRD type, address
		// length, 8 address bytes, then the protocol at byte 14.
		p.linktype = offset{k: 14}
		p.linkpl = offset{k: 16}
	}
	n, _, err := p.parseExpr(qerr)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t.pos, "unexpected %s", t)
	}
	return n, nil
}

// parseExpr parses expr: term { (and|or) (term|id) }. Both operators have
// the same precedence and associate to the left, as in libpcap. A bare id
// after the operator reuses the qualifiers of the term before it.
func (p *parser) parseExpr(q qual) (node, qual, error) {
	n, q, err := p.parseTerm(q)
	if err != nil {
		return nil, q, err
	}
	for p.peek().isAnd() || p.peek().isOr() {
		isAnd := p.next().isAnd()
		var m node
		if p.startsID() {
			m, q, err = p.parseID(q)
		} else {
			m, q, err = p.parseTerm(q)
		}
		if err != nil {
			return nil, q, err
		}
		if isAnd {
			n = andNode{a: n, b: m}
		} else {
			n = orNode{a: n, b: m}
		}
	}
	return n, q, nil
}

// startsID reports whether the tokens at the cursor form a bare id
// (an address, number or name without qualifiers) rather than a term.
func (p *parser) startsID() bool {
	j := p.i
	for p.toks[j].isNot() {
		j++
	}
	t := p.toks[j]
	switch t.kind {
	case tHID, tHID6, tEID, tID:
		return true
	case tNum:
		return !isArithOp(p.toks[j+1])
	case tPunct:
		if t.text == "(" {
			// "( id ...": a parenthesised list of ids.
			k := j + 1
			for p.toks[k].isNot() || p.toks[k].is("(") {
				k++
			}
			switch p.toks[k].kind {
			case tHID, tHID6, tEID, tID:
				return true
			case tNum:
				return !isArithOp(p.toks[k+1])
			}
		}
	}
	return false
}

func isArithOp(t token) bool {
	if t.kind != tPunct {
		return false
	}
	switch t.text {
	case "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "=", "!=", "<", "<=", ">", ">=", "[":
		return true
	}
	return false
}

func (p *parser) parseTerm(q qual) (node, qual, error) {
	if t := p.peek(); t.isNot() {
		if err := p.enter(t.pos); err != nil {
			return nil, q, err
		}
		defer p.leave()
		p.next()
		n, q2, err := p.parseTerm(q)
		if err != nil {
			return nil, q2, err
		}
		return not(n), q2, nil
	}
	return p.parseRTerm(q)
}

var unsupported = map[string]bool{
	"gateway": true, "protochain": true, "byte": true, "inbound": true, "outbound": true,
	"ifindex": true, "mpls": true, "pppoed": true, "pppoes": true, "geneve": true, "vxlan": true,
	"llc": true, "radio": true, "type": true, "subtype": true, "dir": true, "addr1": true,
	"addr2": true, "addr3": true, "addr4": true, "ra": true, "ta": true, "batadv": true,
	"lane": true, "ppp": true, "slip": true, "fddi": true, "tr": true, "wlan": true,
	"esis": true, "es-is": true, "isis": true, "is-is": true, "clnp": true,
}

func isDqual(t token) bool { return t.is("src") || t.is("dst") }
func isAqual(t token) bool {
	return t.is("host") || t.is("net") || t.is("port") || t.is("portrange") || t.is("proto") ||
		t.is("gateway") || t.is("protochain")
}

func (p *parser) parseRTerm(q qual) (node, qual, error) {
	t := p.peek()
	switch {
	case t.is("("):
		// Either an arithmetic relation that starts with a parenthesis or a
		// parenthesised expression: try the relation first, without side
		// effects, then fall back.
		save := p.i
		n, errArith := p.parseRelation()
		if errArith == nil {
			return n, qerr, nil
		}
		if errors.Is(errArith, ErrTooDeep) {
			return nil, q, errArith
		}
		if err := p.enter(t.pos); err != nil {
			return nil, q, err
		}
		defer p.leave()
		arithAt := p.i
		p.i = save + 1
		n, _, err := p.parseExpr(q)
		if err != nil {
			if se, ok := err.(*SyntaxError); ok && p.i < arithAt {
				if ae, ok := errArith.(*SyntaxError); ok && ae.Pos > se.Pos {
					return nil, q, errArith
				}
			}
			return nil, q, err
		}
		if _, err := p.expect(")"); err != nil {
			return nil, q, err
		}
		return n, q, nil
	case t.kind == tKeyword && unsupported[t.text]:
		return nil, q, p.errAt(t.pos, "%s is not supported by rawlab's filter compiler", word(t.text))
	case t.kind == tNum || t.is("len") || t.is("-"):
		n, err := p.parseRelation()
		return n, qerr, err
	case t.is("less") || t.is("greater"):
		p.next()
		nt := p.peek()
		if nt.kind != tNum {
			return nil, q, p.errAt(nt.pos, "expected a length after %s", word(t.text))
		}
		p.next()
		ld := []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtLen}}
		if t.text == "less" {
			return not(test{stmts: ld, op: opJGT, k: nt.num}), qerr, nil
		}
		return test{stmts: ld, op: opJGE, k: nt.num}, qerr, nil
	case t.is("vlan"):
		p.next()
		nt := p.peek()
		if nt.kind == tNum && !isArithOp(p.peekN(1)) {
			p.next()
			n, err := p.genVLAN(nt.num, true, nt.pos)
			return n, qerr, err
		}
		n, err := p.genVLAN(0, false, t.pos)
		return n, qerr, err
	case t.is("broadcast") || t.is("multicast"):
		p.next()
		n, err := p.genCast(pDefault, t)
		return n, qerr, err
	case t.kind == tKeyword && pnames[t.text] != pDefault:
		pq := pnames[t.text]
		nt := p.peekN(1)
		switch {
		case nt.is("["):
			n, err := p.parseRelation()
			return n, qerr, err
		case nt.is("broadcast") || nt.is("multicast"):
			p.i += 2
			n, err := p.genCast(pq, nt)
			return n, qerr, err
		case isDqual(nt) || isAqual(nt):
			p.next()
			return p.parseHead(pq)
		}
		p.next()
		n, err := p.genAbbrev(pq, t.pos)
		return n, qerr, err
	case isDqual(t) || isAqual(t):
		return p.parseHead(pDefault)
	case t.kind == tEOF:
		return nil, q, p.errAt(t.pos, "unexpected end of expression")
	case t.kind == tHID || t.kind == tHID6 || t.kind == tEID || t.kind == tID:
		return nil, q, p.errAt(t.pos, "expected a qualifier (host, net, port, ...) before %s%s", t, caseHint(t))
	}
	return nil, q, p.errAt(t.pos, "unexpected %s", t)
}

// parseHead parses the direction and address qualifiers after an optional
// protocol, then the id they apply to.
func (p *parser) parseHead(pq proto) (node, qual, error) {
	q := qual{proto: pq}
	t := p.peek()
	if isDqual(t) {
		p.next()
		q.dir = dSrc
		if t.text == "dst" {
			q.dir = dDst
		}
		// "src or dst", "src and dst" (and dst first) are one qualifier.
		a, b := p.peek(), p.peekN(1)
		if (a.isOr() || a.isAnd()) && isDqual(b) && b.text != t.text {
			p.i += 2
			q.dir = dOr
			if a.isAnd() {
				q.dir = dAnd
			}
		}
	}
	t = p.peek()
	if isAqual(t) {
		switch t.text {
		case "gateway", "protochain":
			return nil, q, p.errAt(t.pos, "%s is not supported by rawlab's filter compiler", word(t.text))
		case "host":
			q.addr = aHost
		case "net":
			q.addr = aNet
		case "port":
			q.addr = aPort
		case "portrange":
			q.addr = aPortRange
		case "proto":
			q.addr = aProto
		}
		p.next()
	}
	return p.parseID(q)
}

// parseID parses id: nid | pnum | '(' pid ')', with qualifiers q.
func (p *parser) parseID(q qual) (node, qual, error) {
	t := p.peek()
	if t.isNot() || t.is("(") {
		if err := p.enter(t.pos); err != nil {
			return nil, q, err
		}
		defer p.leave()
	}
	if t.isNot() {
		p.next()
		n, q2, err := p.parseID(q)
		if err != nil {
			return nil, q2, err
		}
		return not(n), q2, nil
	}
	if t.is("(") {
		p.next()
		n, q2, err := p.parseID(q)
		if err != nil {
			return nil, q2, err
		}
		for p.peek().isAnd() || p.peek().isOr() {
			isAnd := p.next().isAnd()
			m, _, err := p.parseID(q)
			if err != nil {
				return nil, q, err
			}
			if isAnd {
				n = andNode{a: n, b: m}
			} else {
				n = orNode{a: n, b: m}
			}
		}
		if _, err := p.expect(")"); err != nil {
			return nil, q, err
		}
		return n, q2, nil
	}
	if q.err && (t.kind == tHID || t.kind == tHID6 || t.kind == tEID || t.kind == tID || t.kind == tNum) {
		return nil, q, p.errAt(t.pos, "expected a qualifier (host, net, port, ...) before %s%s", t, caseHint(t))
	}
	switch t.kind {
	case tNum:
		p.next()
		n, err := p.genNum(t, q)
		return n, q, err
	case tHID:
		p.next()
		n, err := p.genHID(t, q)
		return n, q, err
	case tHID6:
		p.next()
		n, err := p.genHID6(t, q)
		return n, q, err
	case tEID:
		p.next()
		mac, _ := parseEID(t.text)
		if len(t.text) == 12 && !strings.ContainsAny(t.text, ":-.") {
			mac, _ = parseEID(t.text[0:2] + ":" + t.text[2:4] + ":" + t.text[4:6] + ":" + t.text[6:8] + ":" + t.text[8:10] + ":" + t.text[10:12])
		}
		if q.proto != pLink || (q.addr != aDefault && q.addr != aHost) {
			return nil, q, p.errAt(t.pos, "ethernet address used in non-ether expression")
		}
		if p.sll {
			return nil, q, p.errAt(t.pos, "ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel")
		}
		return p.genEHost(mac, q.dir), q, nil
	case tID:
		p.next()
		n, err := p.genName(t, q)
		return n, q, err
	}
	switch q.addr {
	case aPort, aPortRange:
		return nil, q, p.errAt(t.pos, "expected port number, found %s", t)
	case aProto:
		return nil, q, p.errAt(t.pos, "expected protocol number or name, found %s", t)
	}
	return nil, q, p.errAt(t.pos, "expected address, found %s", t)
}

// ---- generators ----

func (p *parser) ld(size int, o offset, mem int, c uint32) []bpf.Instruction {
	if !o.v {
		return []bpf.Instruction{bpf.LoadAbsolute{Off: o.k + c, Size: size}}
	}
	return []bpf.Instruction{bpf.LoadScratch{Dst: bpf.RegX, N: mem}, bpf.LoadIndirect{Off: o.k + c, Size: size}}
}

func (p *parser) ldType(size int, c uint32) []bpf.Instruction {
	return p.ld(size, p.linktype, memLinkType, c)
}
func (p *parser) ldPl(size int, c uint32) []bpf.Instruction {
	return p.ld(size, p.linkpl, memLinkPl, c)
}

// ldxIHL sets X to the offset of the IPv4 payload relative to the link-layer
// payload (4 * IHL), plus the variable part of that offset if any.
func (p *parser) ldxIHL() []bpf.Instruction {
	if !p.linkpl.v {
		return []bpf.Instruction{bpf.LoadMemShift{Off: p.linkpl.k}}
	}
	return []bpf.Instruction{
		bpf.LoadScratch{Dst: bpf.RegX, N: memLinkPl},
		bpf.LoadIndirect{Off: p.linkpl.k, Size: 1},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf},
		bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 2},
		bpf.ALUOpX{Op: bpf.ALUOpAdd},
		bpf.TAX{},
	}
}

// ldTransport loads size bytes at c past the IPv4 header.
func (p *parser) ldTransport(size int, c uint32) []bpf.Instruction {
	return append(p.ldxIHL(), bpf.LoadIndirect{Off: p.linkpl.k + c, Size: size})
}

func cat(parts ...[]bpf.Instruction) []bpf.Instruction {
	var r []bpf.Instruction
	for _, s := range parts {
		r = append(r, s...)
	}
	return r
}

// sllLinkType tests the protocol field of a Linux cooked header, as
// libpcap's gen_linux_sll_linktype does: an EtherType, or for LLC SAPs
// LINUX_SLL_P_802_2 (4) and the 802.2 header (LINUX_SLL_P_802_3, 1, is
// Novell's raw 802.3 IPX).
func (p *parser) sllLinkType(v uint32) node {
	proto := func(k uint32) node { return test{stmts: p.ldType(2, 0), op: opJEQ, k: k} }
	llc := proto(4)
	switch v {
	case 0x06, 0xfe, 0xf0: // LLCSAP_IP, LLCSAP_ISONS, LLCSAP_NETBEUI: DSAP and SSAP
		return and(llc, test{stmts: p.ldPl(2, 0), op: opJEQ, k: v<<8 | v})
	case 0xe0: // LLCSAP_IPX: Ethernet II, raw 802.3, 802.2 or SNAP
		return or(proto(0x8137), proto(1), and(llc, or(
			test{stmts: p.ldPl(1, 0), op: opJEQ, k: 0xe0},
			and(test{stmts: p.ldPl(4, 4), op: opJEQ, k: 0x8137}, test{stmts: p.ldPl(4, 0), op: opJEQ, k: 0xaaaa0300}))))
	case 0x809b, 0x80f3: // AppleTalk and AARP: Ethernet II or SNAP
		snap, k := uint32(0xaaaa0300), v
		if v == 0x809b {
			snap, k = 0xaaaa0308, 0x0007809b
		}
		return or(proto(v), and(llc, test{stmts: p.ldPl(4, 4), op: opJEQ, k: k}, test{stmts: p.ldPl(4, 0), op: opJEQ, k: snap}))
	}
	if v <= 1500 {
		return and(llc, test{stmts: p.ldPl(1, 0), op: opJEQ, k: v})
	}
	return proto(v)
}

// linktype tests the EtherType (or the 802.3 LLC header for values up to
// 1500), as libpcap's gen_ether_linktype does for DLT_EN10MB.
func (p *parser) ltTest(v uint32) node {
	if p.sll {
		return p.sllLinkType(v)
	}
	isLLC := not(test{stmts: p.ldType(2, 0), op: opJGT, k: 1500})
	switch v {
	case 0x06, 0xfe, 0xf0: // LLCSAP_IP, LLCSAP_ISONS, LLCSAP_NETBEUI: DSAP and SSAP
		return and(isLLC, test{stmts: p.ldPl(2, 0), op: opJEQ, k: v<<8 | v})
	case 0xe0: // LLCSAP_IPX: Ethernet II, SNAP, 802.2 or raw 802.3 Novell
		return or(
			test{stmts: p.ldType(2, 0), op: opJEQ, k: 0x8137},
			and(isLLC, or(
				and(test{stmts: p.ldPl(4, 4), op: opJEQ, k: 0x8137}, test{stmts: p.ldPl(4, 0), op: opJEQ, k: 0xaaaa0300}),
				test{stmts: p.ldPl(1, 0), op: opJEQ, k: 0xe0},
				test{stmts: p.ldPl(2, 0), op: opJEQ, k: 0xffff})))
	case 0x809b, 0x80f3: // AppleTalk and AARP: Ethernet II or SNAP
		snap := uint32(0xaaaa0300)
		k := v
		if v == 0x809b {
			snap, k = 0xaaaa0308, 0x0007809b
		}
		return or(
			test{stmts: p.ldType(2, 0), op: opJEQ, k: v},
			and(isLLC, test{stmts: p.ldPl(4, 4), op: opJEQ, k: k}, test{stmts: p.ldPl(4, 0), op: opJEQ, k: snap}))
	}
	if v <= 1500 {
		return and(isLLC, test{stmts: p.ldPl(1, 0), op: opJEQ, k: v})
	}
	return test{stmts: p.ldType(2, 0), op: opJEQ, k: v}
}

func (p *parser) ipProto(v uint32) node {
	return and(p.ltTest(0x0800), test{stmts: p.ldPl(1, 9), op: opJEQ, k: v})
}

func (p *parser) ip6Proto(v uint32) node {
	return and(p.ltTest(0x86dd), or(
		test{stmts: p.ldPl(1, 6), op: opJEQ, k: v},
		and(test{stmts: p.ldPl(1, 6), op: opJEQ, k: 44}, test{stmts: p.ldPl(1, 40), op: opJEQ, k: v})))
}

func (p *parser) notFrag() node {
	return not(test{stmts: p.ldPl(2, 6), op: opJSET, k: 0x1fff})
}

var abbrevLinkType = map[proto]uint32{
	pIP: 0x0800, pIP6: 0x86dd, pARP: 0x0806, pRARP: 0x8035, pATALK: 0x809b, pAARP: 0x80f3,
	pDECNET: 0x6003, pLAT: 0x6004, pSCA: 0x6007, pMOPRC: 0x6002, pMOPDL: 0x6001,
	pISO: 0xfe, pSTP: 0x42, pIPX: 0xe0, pNETBEUI: 0xf0,
}

// ipNumber is the IP protocol number of an abbreviation, and whether it
// matches IPv4 only (icmp, igmp ...), IPv6 only (icmp6) or both.
func ipNumber(pq proto) (v uint32, v4, v6 bool) {
	switch pq {
	case pTCP:
		return 6, true, true
	case pUDP:
		return 17, true, true
	case pSCTP:
		return 132, true, true
	case pICMP:
		return 1, true, false
	case pIGMP:
		return 2, true, false
	case pIGRP:
		return 9, true, false
	case pPIM:
		return 103, true, true
	case pVRRP, pCARP:
		return 112, true, false
	case pAH:
		return 51, true, true
	case pESP:
		return 50, true, true
	case pICMP6:
		return 58, false, true
	}
	return 0, false, false
}

func (p *parser) genAbbrev(pq proto, pos int) (node, error) {
	if v, ok := abbrevLinkType[pq]; ok {
		return p.ltTest(v), nil
	}
	if v, v4, v6 := ipNumber(pq); v4 || v6 {
		var n4, n6 node
		if v4 {
			n4 = p.ipProto(v)
		}
		if v6 {
			n6 = p.ip6Proto(v)
		}
		return or(n4, n6), nil
	}
	return nil, p.errAt(pos, "link layer applied in wrong context")
}

func dirSel(d dir, src, dst node) node {
	switch d {
	case dSrc:
		return src
	case dDst:
		return dst
	case dAnd:
		return and(src, dst)
	}
	return or(src, dst)
}

func (p *parser) genEHost(mac []byte, d dir) node {
	at := func(off uint32) node {
		return and(
			test{stmts: []bpf.Instruction{bpf.LoadAbsolute{Off: off + 2, Size: 4}}, op: opJEQ,
				k: uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])},
			test{stmts: []bpf.Instruction{bpf.LoadAbsolute{Off: off, Size: 2}}, op: opJEQ,
				k: uint32(mac[0])<<8 | uint32(mac[1])})
	}
	return dirSel(d, at(6), at(0))
}

// mcmp tests (load & mask) == v. A zero mask is always true, and, as
// libpcap's optimizer does, the load is dropped then too.
func (p *parser) mcmp(size int, c, v, mask uint32) node {
	if mask == 0 {
		return constNode(v == 0)
	}
	st := p.ldPl(size, c)
	if mask != 0xffffffff {
		st = append(st, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask})
	}
	return test{stmts: st, op: opJEQ, k: v}
}

// genHost matches an IPv4 address under mask in IP, ARP and RARP headers.
func (p *parser) genHost(v, mask uint32, q qual, pos int) (node, error) {
	hostop := func(lt uint32, src, dst uint32) node {
		return and(p.ltTest(lt), dirSel(q.dir, p.mcmp(4, src, v, mask), p.mcmp(4, dst, v, mask)))
	}
	switch q.proto {
	case pDefault:
		return or(hostop(0x0800, 12, 16), hostop(0x0806, 14, 24), hostop(0x8035, 14, 24)), nil
	case pIP:
		return hostop(0x0800, 12, 16), nil
	case pARP:
		return hostop(0x0806, 14, 24), nil
	case pRARP:
		return hostop(0x8035, 14, 24), nil
	case pLink:
		return nil, p.errAt(pos, "illegal link layer address")
	}
	return nil, p.errAt(pos, "%s modifier applied to host", protoName(q.proto))
}

func protoName(pq proto) string {
	for k, v := range pnames {
		if v == pq && k != "link" {
			return "'" + k + "'"
		}
	}
	return "protocol"
}

// atoin parses a dotted IPv4 prefix of 1 to 4 parts, returning the value
// and the number of bits given (libpcap's __pcap_atoin).
func atoin(s string) (uint32, int, bool) {
	var v uint32
	parts := strings.Split(s, ".")
	for _, part := range parts {
		n, err := strconv.ParseUint(part, 10, 32)
		if err != nil || n > 255 {
			return 0, 0, false
		}
		v = v<<8 | uint32(n)
	}
	return v, 8 * len(parts), true
}

func (p *parser) checkAddrQual(t token, q qual, what string) error {
	switch q.addr {
	case aPort:
		return p.errAt(t.pos, "'port' modifier applied to %s", what)
	case aPortRange:
		return p.errAt(t.pos, "'portrange' modifier applied to %s", what)
	case aProto:
		return p.errAt(t.pos, "'proto' modifier applied to %s", what)
	}
	return nil
}

func (p *parser) genHID(t token, q qual) (node, error) {
	v, bits, ok := atoin(t.text)
	if !ok {
		return nil, p.errAt(t.pos, "invalid IPv4 address %s", word(t.text))
	}
	v <<= 32 - bits
	// HID '/' NUM and HID mask HID: networks only.
	if n := p.peek(); n.is("/") || n.is("mask") || n.is("netmask") {
		var mask uint32
		p.next()
		if n.is("/") {
			if err := p.checkAddrQual(t, q, "IP address and prefix length"); err != nil {
				return nil, err
			}
			lt := p.peek()
			if lt.kind != tNum {
				return nil, p.errAt(lt.pos, "expected prefix length, found %s", lt)
			}
			p.next()
			if lt.num > 32 {
				return nil, p.errAt(lt.pos, "mask length must be <= 32")
			}
			if lt.num > 0 {
				mask = 0xffffffff << (32 - lt.num)
			}
		} else {
			if err := p.checkAddrQual(t, q, "IP address and netmask"); err != nil {
				return nil, err
			}
			mt := p.peek()
			if mt.kind != tHID {
				return nil, p.errAt(mt.pos, "expected a netmask, found %s", mt)
			}
			p.next()
			m, mbits, ok := atoin(mt.text)
			if !ok {
				return nil, p.errAt(mt.pos, "invalid netmask %s", word(mt.text))
			}
			mask = m << (32 - mbits)
		}
		if q.addr != aNet {
			return nil, p.errAt(t.pos, "mask syntax for networks only")
		}
		if v&^mask != 0 {
			return nil, p.errAt(t.pos, "non-network bits set in %s", word(t.text))
		}
		return p.genHost(v, mask, q, t.pos)
	}
	if err := p.checkAddrQual(t, q, "IP address"); err != nil {
		return nil, err
	}
	mask := uint32(0xffffffff) << (32 - bits)
	if bits == 32 {
		mask = 0xffffffff
	}
	return p.genHost(v, mask, q, t.pos)
}

func (p *parser) genHID6(t token, q qual) (node, error) {
	a := mustAddr6(t.text)
	plen := uint32(128)
	if p.peek().is("/") {
		p.next()
		lt := p.peek()
		if lt.kind != tNum {
			return nil, p.errAt(lt.pos, "expected prefix length, found %s", lt)
		}
		p.next()
		if lt.num > 128 {
			return nil, p.errAt(lt.pos, "mask length must be <= 128")
		}
		plen = lt.num
	}
	if err := p.checkAddrQual(t, q, "IP address"); err != nil {
		return nil, err
	}
	if plen != 128 && q.addr != aNet {
		return nil, p.errAt(t.pos, "mask syntax for networks only")
	}
	if q.proto != pDefault && q.proto != pIP6 {
		return nil, p.errAt(t.pos, "%s modifier applied to ip6 host", protoName(q.proto))
	}
	var words, masks [4]uint32
	for i := 0; i < 4; i++ {
		words[i] = uint32(a[4*i])<<24 | uint32(a[4*i+1])<<16 | uint32(a[4*i+2])<<8 | uint32(a[4*i+3])
		bits := int(plen) - 32*i
		switch {
		case bits >= 32:
			masks[i] = 0xffffffff
		case bits > 0:
			masks[i] = 0xffffffff << (32 - bits)
		}
		if words[i]&^masks[i] != 0 {
			return nil, p.errAt(t.pos, "non-network bits set in %s", word(t.text))
		}
	}
	at := func(off uint32) node {
		var n node
		for i := 0; i < 4; i++ {
			if masks[i] != 0 {
				n = and(n, p.mcmp(4, off+uint32(4*i), words[i], masks[i]))
			}
		}
		if n == nil {
			return constNode(true)
		}
		return n
	}
	return and(p.ltTest(0x86dd), dirSel(q.dir, at(8), at(24))), nil
}

// portProto maps the protocol qualifier of a port to its IP protocol
// number, 0 for any of tcp, udp and sctp.
func (p *parser) portProto(q qual, pos int, what string) (uint32, error) {
	switch q.proto {
	case pTCP:
		return 6, nil
	case pUDP:
		return 17, nil
	case pSCTP:
		return 132, nil
	case pDefault:
		return 0, nil
	}
	return 0, p.errAt(pos, "illegal qualifier of '%s'", what)
}

// genPorts matches the transport ports of IPv4 (first fragments only) and
// IPv6 (no extension headers) packets; cmp builds the test of one port.
func (p *parser) genPorts(ipp uint32, d dir, cmp func(ld []bpf.Instruction) node) node {
	protoSet := func(ld func() []bpf.Instruction) node {
		if ipp != 0 {
			return test{stmts: ld(), op: opJEQ, k: ipp}
		}
		return or(test{stmts: ld(), op: opJEQ, k: 6}, test{stmts: ld(), op: opJEQ, k: 17}, test{stmts: ld(), op: opJEQ, k: 132})
	}
	v6 := and(p.ltTest(0x86dd), protoSet(func() []bpf.Instruction { return p.ldPl(1, 6) }),
		dirSel(d, cmp(p.ldPl(2, 40)), cmp(p.ldPl(2, 42))))
	v4 := and(p.ltTest(0x0800), protoSet(func() []bpf.Instruction { return p.ldPl(1, 9) }), p.notFrag(),
		dirSel(d, cmp(p.ldTransport(2, 0)), cmp(p.ldTransport(2, 2))))
	return or(v6, v4)
}

func (p *parser) genPort(port uint32, ipp uint32, d dir) node {
	return p.genPorts(ipp, d, func(ld []bpf.Instruction) node { return test{stmts: ld, op: opJEQ, k: port} })
}

func (p *parser) genPortRange(lo, hi uint32, ipp uint32, d dir) node {
	if lo > hi {
		lo, hi = hi, lo
	}
	return p.genPorts(ipp, d, func(ld []bpf.Instruction) node {
		return and(test{stmts: ld, op: opJGE, k: lo}, not(test{stmts: ld, op: opJGT, k: hi}))
	})
}

// lookupPort resolves a port number or service name, returning the IP
// protocol it is restricted to (0: tcp and udp).
func lookupPort(s string) (port uint32, ipp uint32, ok bool) {
	if v, ok := parseNum(s); ok {
		return v, 0, true
	}
	sv, ok := services[s]
	if !ok {
		return 0, 0, false
	}
	switch sv.transports {
	case 1:
		ipp = 6
	case 2:
		ipp = 17
	}
	return uint32(sv.port), ipp, true
}

type service struct {
	port       uint16
	transports uint8 // bit 0 tcp, bit 1 udp
}

func (p *parser) genNum(t token, q qual) (node, error) {
	v := t.num
	switch q.addr {
	case aDefault, aHost, aNet:
		if q.proto == pLink {
			return nil, p.errAt(t.pos, "illegal link layer address")
		}
		mask := uint32(0xffffffff)
		if q.addr == aNet {
			for v != 0 && v&0xff000000 == 0 {
				v <<= 8
				mask <<= 8
			}
		}
		return p.genHost(v, mask, q, t.pos)
	case aPort:
		ipp, err := p.portProto(q, t.pos, "port")
		if err != nil {
			return nil, err
		}
		if v > 65535 {
			return nil, p.errAt(t.pos, "illegal port number %d > 65535", v)
		}
		return p.genPort(v, ipp, q.dir), nil
	case aPortRange:
		ipp, err := p.portProto(q, t.pos, "portrange")
		if err != nil {
			return nil, err
		}
		if v > 65535 {
			return nil, p.errAt(t.pos, "illegal port number %d > 65535", v)
		}
		return p.genPortRange(v, v, ipp, q.dir), nil
	case aProto:
		return p.genProto(v, q, t.pos)
	}
	return nil, p.errAt(t.pos, "unexpected number")
}

func (p *parser) genProto(v uint32, q qual, pos int) (node, error) {
	if q.dir != dDefault {
		return nil, p.errAt(pos, "direction applied to 'proto'")
	}
	switch q.proto {
	case pDefault:
		if v > 255 {
			return nil, p.errAt(pos, "IP protocol %d greater than maximum 255", v)
		}
		return or(p.ipProto(v), p.ip6Proto(v)), nil
	case pIP:
		if v > 255 {
			return nil, p.errAt(pos, "IP protocol %d greater than maximum 255", v)
		}
		return p.ipProto(v), nil
	case pIP6:
		if v > 255 {
			return nil, p.errAt(pos, "IPv6 next header %d greater than maximum 255", v)
		}
		return p.ip6Proto(v), nil
	case pLink:
		if v > 0xffff {
			return nil, p.errAt(pos, "ethernet type %d greater than maximum 65535", v)
		}
		return p.ltTest(v), nil
	}
	return nil, p.errAt(pos, "%s proto is bogus", protoName(q.proto))
}

var etherProtoNames = map[string]uint32{
	"ip": 0x0800, "ip6": 0x86dd, "arp": 0x0806, "rarp": 0x8035, "atalk": 0x809b, "aarp": 0x80f3,
	"decnet": 0x6003, "sca": 0x6007, "lat": 0x6004, "mopdl": 0x6001, "moprc": 0x6002,
	"loopback": 0x9000, "vlan": 0x8100, "8021q": 0x8100, "iso": 0xfe, "stp": 0x42, "ipx": 0xe0,
	"netbeui": 0xf0,
}

func (p *parser) genName(t token, q qual) (node, error) {
	// Names are looked up as written, as libpcap does through
	// getservbyname(3) and its own EtherType table.
	name := t.text
	switch q.addr {
	case aPort:
		ipp, err := p.portProto(q, t.pos, "port")
		if err != nil {
			return nil, err
		}
		port, real, ok := lookupPort(name)
		if !ok {
			return nil, p.errAt(t.pos, "expected port number: unknown port %s", word(t.text))
		}
		if err := p.checkPortProto(t, ipp, real); err != nil {
			return nil, err
		}
		if ipp == 0 {
			ipp = real
		}
		return p.genPort(port, ipp, q.dir), nil
	case aPortRange:
		ipp, err := p.portProto(q, t.pos, "portrange")
		if err != nil {
			return nil, err
		}
		lo, hi, found := strings.Cut(name, "-")
		if !found {
			hi = lo
		}
		for _, w := range []string{lo, hi} {
			if msg := numberError(w); msg != "" {
				return nil, p.errAt(t.pos, "%s", msg)
			}
		}
		p1, r1, ok1 := lookupPort(lo)
		p2, r2, ok2 := lookupPort(hi)
		if !ok1 || !ok2 {
			return nil, p.errAt(t.pos, "expected port range: unknown port in range %s", word(t.text))
		}
		if p1 > 65535 || p2 > 65535 {
			return nil, p.errAt(t.pos, "illegal port number > 65535 in %s", word(t.text))
		}
		real := r1
		if r1 != r2 {
			real = 0
		}
		if err := p.checkPortProto(t, ipp, real); err != nil {
			return nil, err
		}
		if ipp == 0 {
			ipp = real
		}
		return p.genPortRange(p1, p2, ipp, q.dir), nil
	case aProto:
		if q.proto == pLink {
			v, ok := etherProtoNames[name]
			if !ok {
				return nil, p.errAt(t.pos, "unknown ether proto %s", word(t.text))
			}
			return p.genProto(v, q, t.pos)
		}
		v, ok := lookupProtocol(name)
		if !ok {
			return nil, p.errAt(t.pos, "unknown ip proto %s", word(t.text))
		}
		return p.genProto(uint32(v), q, t.pos)
	}
	if q.proto == pLink {
		return nil, p.errAt(t.pos, "unknown ether host %s (names are not resolved; use a MAC address)", word(t.text))
	}
	return nil, p.errAt(t.pos, "unknown host %s (rawlab does not resolve names; use an address)", word(t.text))
}

// mixedCaseProtocols are the aliases of Debian's /etc/protocols that are
// not simply their name in capitals.
var mixedCaseProtocols = map[string]bool{
	"IPv6": true, "IPv6-Route": true, "IPv6-Frag": true, "IPv6-ICMP": true, "IPv6-NoNxt": true,
	"IPv6-Opts": true, "Mobility-Header": true, "UDPLite": true, "MPLS-in-IP": true,
	"Shim6": true, "Ethernet": true,
}

// lookupProtocol finds an IP protocol by its name in /etc/protocols or by
// the alias that file gives it, mostly the name in capitals ("UDP",
// "IPv6-ICMP"): getprotobyname(3) is case-sensitive, so "Udp" is unknown.
func lookupProtocol(name string) (uint8, bool) {
	if v, ok := ipProtocols[name]; ok {
		return v, true
	}
	v, ok := ipProtocols[strings.ToLower(name)]
	if !ok || (name != strings.ToUpper(name) && !mixedCaseProtocols[name]) {
		return 0, false
	}
	return v, true
}

func (p *parser) checkPortProto(t token, want, real uint32) error {
	if want == 0 || real == 0 || want == real {
		return nil
	}
	names := map[uint32]string{6: "tcp", 17: "udp", 132: "sctp"}
	return p.errAt(t.pos, "port %s is %s", word(t.text), names[real])
}

func (p *parser) genCast(pq proto, t token) (node, error) {
	if p.sll && (pq == pDefault || pq == pLink) {
		// A cooked header has the source address only.
		if t.text == "broadcast" {
			return nil, p.errAt(t.pos, "not a broadcast link")
		}
		return nil, p.errAt(t.pos, "link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel")
	}
	if t.text == "broadcast" {
		switch pq {
		case pDefault, pLink:
			return p.genEHost([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, dDst), nil
		case pIP:
			hm := p.hostmask
			return and(p.ltTest(0x0800), or(p.mcmp(4, 16, 0, hm), p.mcmp(4, 16, hm, hm))), nil
		}
		return nil, p.errAt(t.pos, "only link-layer/IP broadcast filters supported")
	}
	switch pq {
	case pDefault, pLink:
		return test{stmts: []bpf.Instruction{bpf.LoadAbsolute{Off: 0, Size: 1}}, op: opJSET, k: 1}, nil
	case pIP:
		return and(p.ltTest(0x0800), test{stmts: p.ldPl(1, 16), op: opJGE, k: 224}), nil
	case pIP6:
		return and(p.ltTest(0x86dd), test{stmts: p.ldPl(1, 24), op: opJEQ, k: 255}), nil
	}
	return nil, p.errAt(t.pos, "link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel")
}

// genVLAN matches an 802.1Q/802.1ad tag (TPID 0x8100, 0x88a8 or 0x9100) at
// the current link-type offset, with VLAN ID id when hasID, and moves the
// offsets of everything parsed after it by the 4 bytes of the tag.
func (p *parser) genVLAN(id uint32, hasID bool, pos int) (node, error) {
	if p.sll {
		return nil, p.errAt(pos, "no VLAN support for Linux cooked v1")
	}
	if hasID && id > 4095 {
		return nil, p.errAt(pos, "VLAN tag %d greater than maximum 4095", id)
	}
	tpid := func(prefix []bpf.Instruction) node {
		return or(
			test{stmts: cat(prefix, p.ldType(2, 0)), op: opJEQ, k: 0x8100},
			test{stmts: p.ldType(2, 0), op: opJEQ, k: 0x88a8},
			test{stmts: p.ldType(2, 0), op: opJEQ, k: 0x9100})
	}
	vid := func() node {
		return test{stmts: append(p.ldPl(2, 0), bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xfff}), op: opJEQ, k: id}
	}
	var n node
	if p.kernelVLAN && p.vlanDepth == 0 {
		// libpcap's gen_vlan_bpf_extensions: the tag the kernel stripped is
		// in the auxiliary data; if there is none, look in the frame and
		// move the offsets by 4 at run time.
		// Loaded as libpcap 1.10 loads them, with BPF_B, so that Dump
		// prints "ldb [vlanp]" and "ldb [vlan_tci]" as tcpdump -d does:
		// the kernel ignores the size at SKF_AD_OFF and gives the whole
		// TCI (convert_bpf_extensions), which the 0xfff mask then cuts.
		present := test{stmts: []bpf.Instruction{bpf.LoadAbsolute{Off: skfAdOff + skfAdVLANTagPresent, Size: 1}}, op: opJEQ, k: 1}
		n = or(present, tpid([]bpf.Instruction{
			bpf.LoadConstant{Dst: bpf.RegA, Val: 4},
			bpf.StoreScratch{Src: bpf.RegA, N: memLinkPl},
			bpf.StoreScratch{Src: bpf.RegA, N: memLinkType},
		}))
		if hasID {
			tci := test{stmts: []bpf.Instruction{bpf.LoadAbsolute{Off: skfAdOff + skfAdVLANTag, Size: 1},
				bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xfff}}, op: opJEQ, k: id}
			n = and(n, or(and(present, tci), and(not(present), vid())))
		}
		p.linktype.v, p.linkpl.v, p.varOffsets = true, true, true
	} else {
		n = tpid(nil)
		if hasID {
			n = and(n, vid())
		}
		p.linktype.k += 4
		p.linkpl.k += 4
	}
	p.vlanDepth++
	return n, nil
}

func mustAddr6(s string) [16]byte {
	a, err := parseAddr6(s)
	if err != nil {
		panic(err)
	}
	return a
}
