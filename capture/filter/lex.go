package filter

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the lexical class of a token, after the classes of libpcap's
// scanner.l: keywords, numbers, IPv4 (HID), IPv6 (HID6) and MAC (EID)
// literals, other words (ID) and punctuation.
type tokKind uint8

const (
	tEOF tokKind = iota
	tKeyword
	tNum
	tHID  // dotted IPv4 address, 1 to 4 parts
	tHID6 // IPv6 address
	tEID  // MAC address
	tID   // any other word; a leading backslash makes a keyword an ID
	tPunct
)

type token struct {
	kind tokKind
	text string // keyword, punctuation, or the word itself
	num  uint32 // tNum
	pos  int    // byte offset in the expression
}

func (t token) String() string {
	if t.kind == tEOF {
		return "end of expression"
	}
	return word(t.text)
}

// maxWord is how much of one word an error message quotes.
const maxWord = 40

// word quotes s for an error message, cut to maxWord bytes (at a UTF-8
// boundary) with "…" after the quotes when it is longer.
func word(s string) string {
	if len(s) <= maxWord {
		return strconv.Quote(s)
	}
	n := maxWord
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + "…"
}

// keywords of pcap-filter(7) that the lexer recognises. Words that are not
// keywords become IDs (service, protocol and host names).
var keywords = map[string]bool{
	"dst": true, "src": true, "host": true, "gateway": true, "net": true, "netmask": true,
	"mask": true, "port": true, "portrange": true, "less": true, "greater": true, "proto": true,
	"protochain": true, "byte": true, "broadcast": true, "multicast": true, "and": true,
	"or": true, "not": true, "len": true, "ether": true, "link": true, "ppp": true, "slip": true,
	"fddi": true, "tr": true, "wlan": true, "ip": true, "ip6": true, "arp": true, "rarp": true,
	"tcp": true, "udp": true, "icmp": true, "icmp6": true, "sctp": true, "igmp": true,
	"igrp": true, "pim": true, "vrrp": true, "carp": true, "ah": true, "esp": true, "vlan": true,
	"mpls": true, "pppoed": true, "pppoes": true, "geneve": true, "vxlan": true,
	"inbound": true, "outbound": true, "ifindex": true, "atalk": true, "aarp": true,
	"decnet": true, "lat": true, "sca": true, "moprc": true, "mopdl": true, "iso": true,
	"esis": true, "es-is": true, "isis": true, "is-is": true, "clnp": true, "stp": true,
	"ipx": true, "netbeui": true, "llc": true, "radio": true, "type": true, "subtype": true,
	"dir": true, "addr1": true, "addr2": true, "addr3": true, "addr4": true, "ra": true,
	"ta": true, "batadv": true, "lane": true,
}

// namedNums are the words that libpcap's scanner turns into numbers.
var namedNums = map[string]uint32{
	"icmptype": 0, "icmpcode": 1,
	"icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4, "icmp-redirect": 5,
	"icmp-echo": 8, "icmp-routeradvert": 9, "icmp-routersolicit": 10, "icmp-timxceed": 11,
	"icmp-paramprob": 12, "icmp-tstamp": 13, "icmp-tstampreply": 14, "icmp-ireq": 15,
	"icmp-ireqreply": 16, "icmp-maskreq": 17, "icmp-maskreply": 18,
	"icmp6type": 0, "icmp6code": 1,
	"icmp6-destinationunreach": 1, "icmp6-packettoobig": 2, "icmp6-timeexceeded": 3,
	"icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
	"icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
	"icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133,
	"icmp6-routeradvert": 134, "icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136,
	"icmp6-redirect": 137, "icmp6-routerrenum": 138, "icmp6-nodeinformationquery": 139,
	"icmp6-nodeinformationresponse": 140, "icmp6-ineighbordiscoverysolicit": 141,
	"icmp6-ineighbordiscoveryadvert": 142, "icmp6-multicastlistenerreportv2": 143,
	"icmp6-homeagentdiscoveryrequest": 144, "icmp6-homeagentdiscoveryreply": 145,
	"icmp6-mobileprefixsolicit": 146, "icmp6-mobileprefixadvert": 147,
	"icmp6-certpathsolicit": 148, "icmp6-certpathadvert": 149,
	"icmp6-multicastrouteradvert": 151, "icmp6-multicastroutersolicit": 152,
	"icmp6-multicastrouterterm": 153,
	"tcpflags":                  13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08,
	"tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == ':'
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isNumberWord reports whether s has the form of a number in libpcap's
// scanner ([0-9]+ or 0x[0-9a-f]+), whether or not its value fits.
func isNumberWord(s string) bool {
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		return isHex(s[2:])
	}
	return isDigits(s)
}

// numberError says why a word of number form is not a valid number, as
// libpcap's stoulen does ("" when it is valid or not of number form).
func numberError(s string) string {
	if !isNumberWord(s) {
		return ""
	}
	if _, ok := parseNum(s); ok {
		return ""
	}
	if len(s) > 1 && s[0] == '0' && s[1] != 'x' && s[1] != 'X' && strings.ContainsAny(s, "89") {
		return fmt.Sprintf("number %s contains a non-octal digit (a leading 0 means octal)", unquoted(word(s)))
	}
	return fmt.Sprintf("number %s out of range: numbers are 0 to 4294967295 (32 bits)", unquoted(word(s)))
}

// unquoted drops the quotes word puts around a number (digits need none).
func unquoted(q string) string { return strings.ReplaceAll(q, `"`, "") }

// parseNum reads a number the way libpcap's scanner does: 0x hex, a leading
// 0 octal, else decimal, each limited to 32 bits.
func parseNum(s string) (uint32, bool) {
	var v uint64
	var err error
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		v, err = strconv.ParseUint(s[2:], 16, 32)
	case len(s) > 1 && s[0] == '0':
		v, err = strconv.ParseUint(s[1:], 8, 32)
	default:
		if !isDigits(s) {
			return 0, false
		}
		v, err = strconv.ParseUint(s, 10, 32)
	}
	return uint32(v), err == nil
}

// isHID reports whether s is 1 to 4 dot-separated decimal parts with at least
// one dot (a bare number is a NUM).
func isHID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if !isDigits(p) {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// parseEID accepts the MAC forms of pcap-filter(7): six 1-2 digit hex groups
// separated by ':', '.' or '-', three 4-digit groups separated by '.', or 12
// hex digits.
func parseEID(s string) (net.HardwareAddr, bool) {
	for _, sep := range []string{":", "-", "."} {
		parts := strings.Split(s, sep)
		if len(parts) == 6 {
			mac := make(net.HardwareAddr, 6)
			for i, p := range parts {
				if len(p) > 2 || !isHex(p) {
					return nil, false
				}
				v, _ := strconv.ParseUint(p, 16, 8)
				mac[i] = byte(v)
			}
			return mac, true
		}
		if sep == "." && len(parts) == 3 {
			mac := make(net.HardwareAddr, 0, 6)
			for _, p := range parts {
				if len(p) != 4 || !isHex(p) {
					return nil, false
				}
				v, _ := strconv.ParseUint(p, 16, 16)
				mac = append(mac, byte(v>>8), byte(v))
			}
			return mac, true
		}
	}
	return nil, false
}

type lexer struct {
	src  string
	toks []token
}

// lex splits expr into tokens. Words run over letters, digits and - _ . :;
// a word that is neither a MAC nor an IPv6 address is cut at its first ':'
// so that "ip[2:2]" lexes as ip [ 2 : 2 ].
func lex(expr string) ([]token, error) {
	var toks []token
	i, depth := 0, 0
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '\\':
			j := i + 1
			for j < len(expr) && !strings.ContainsRune(" \t\n\r!()", rune(expr[j])) {
				j++
			}
			if j == i+1 {
				return nil, &SyntaxError{Expr: expr, Pos: i, Msg: "expected a name after '\\'"}
			}
			toks = append(toks, token{kind: tID, text: expr[i+1 : j], pos: i})
			i = j
			continue
		case isWordByte(c) && c != '-' && c != '.' && c != ':' || c == ':' && i+1 < len(expr) && expr[i+1] == ':':
			j := i
			for j < len(expr) && isWordByte(expr[j]) {
				j++
			}
			w := expr[i:j]
			t, n := classify(w)
			if n < len(w) {
				// Cut the word and classify the part before the cut.
				w = w[:n]
				t, _ = classify(w)
			}
			if t.kind == tID {
				if msg := numberError(w); msg != "" {
					return nil, &SyntaxError{Expr: expr, Pos: i, Msg: msg}
				}
			}
			t.pos = i
			toks = append(toks, t)
			i += len(w)
			continue
		}
		// Punctuation, two-character operators first.
		if i+1 < len(expr) {
			two := expr[i : i+2]
			switch two {
			case "&&", "||", "==", "!=", "<=", ">=", "<<", ">>":
				if two == "==" {
					two = "="
				}
				toks = append(toks, token{kind: tPunct, text: two, pos: i})
				i += 2
				continue
			}
		}
		if strings.IndexByte("()[]:!=<>+-*/%&|^", c) >= 0 {
			// Brackets nested deeper than MaxDepth stop the lexer at
			// once, before the parser's backtracking could spend time.
			switch c {
			case '(', '[':
				if depth++; depth > MaxDepth {
					return nil, &SyntaxError{Expr: expr, Pos: i, Err: ErrTooDeep,
						Msg: fmt.Sprintf("expression nested too deeply: more than %d levels", MaxDepth)}
				}
			case ')', ']':
				depth--
			}
			toks = append(toks, token{kind: tPunct, text: expr[i : i+1], pos: i})
			i++
			continue
		}
		return nil, &SyntaxError{Expr: expr, Pos: i, Msg: "unexpected character " + strconv.QuoteRune(rune(c))}
	}
	toks = append(toks, token{kind: tEOF, pos: len(expr)})
	return toks, nil
}

// classify returns the token for word w, and how many bytes of w it
// covers (less than len(w) when w must be cut at a ':').
func classify(w string) (token, int) {
	if strings.Contains(w, ":") {
		if _, ok := parseEID(w); ok {
			return token{kind: tEID, text: w}, len(w)
		}
		if a, err := netip.ParseAddr(w); err == nil && a.Is6() && !strings.Contains(w, "%") {
			return token{kind: tHID6, text: w}, len(w)
		}
		n := strings.IndexByte(w, ':')
		if n == 0 {
			return token{kind: tPunct, text: ":"}, 1
		}
		t, _ := classify(w[:n])
		return t, n
	}
	// A MAC in the xxxx.xxxx.xxxx form wins over a dotted IPv4 address, as
	// in libpcap's scanner, where the MAC rules come first.
	if parts := strings.Split(w, "."); len(parts) == 3 && len(w) == 14 {
		if _, ok := parseEID(w); ok {
			return token{kind: tEID, text: w}, len(w)
		}
	}
	if v, ok := parseNum(w); ok {
		return token{kind: tNum, text: w, num: v}, len(w)
	}
	if isHID(w) {
		return token{kind: tHID, text: w}, len(w)
	}
	if _, ok := parseEID(w); ok {
		return token{kind: tEID, text: w}, len(w)
	}
	// Keywords and named numbers are case-sensitive, as in libpcap's
	// scanner: "ARP" is a name, not the keyword arp.
	if v, ok := namedNums[w]; ok {
		return token{kind: tNum, text: w, num: v}, len(w)
	}
	if keywords[w] {
		return token{kind: tKeyword, text: w}, len(w)
	}
	if len(w) == 12 && isHex(w) {
		if _, ok := parseEID(w[0:2] + ":" + w[2:4] + ":" + w[4:6] + ":" + w[6:8] + ":" + w[8:10] + ":" + w[10:12]); ok {
			return token{kind: tEID, text: w}, len(w)
		}
	}
	return token{kind: tID, text: w}, len(w)
}
