package dhcpopt

import (
	"fmt"
	"io"
	"strings"
)

// maxName is the longest domain name in wire format, RFC 1035 §3.1.
const maxName = 255

// DecodeDomainSearch decodes a domain search list, option 119 (RFC 3397 §2):
// a sequence of names in RFC 1035 §3.1 wire format, where a name may end in a
// compression pointer (RFC 1035 §4.1.4: two bytes 11xxxxxx xxxxxxxx holding
// an offset) into earlier data of the same option. Offsets count from the
// first byte of the option's (concatenated, RFC 3396) data.
//
// A pointer must point strictly before the label it is reached from, so
// forward pointers and loops are refused, as are names longer than 255 bytes,
// the reserved label types 01 and 10, and data that ends inside a name
// (io.ErrUnexpectedEOF). Names come back without a trailing dot; the root
// name is ".". Bytes outside [a-zA-Z0-9-_] in a label are escaped as \DDD and
// a dot inside a label as "\.".
func DecodeDomainSearch(b []byte) ([]string, error) {
	var out []string
	for pos := 0; pos < len(b); {
		name, next, err := readName(b, pos)
		if err != nil {
			return nil, fmt.Errorf("dhcpopt: domain search: name at offset %d: %w", pos, err)
		}
		out = append(out, name)
		pos = next
	}
	if len(out) == 0 {
		return nil, malformedf("empty list")
	}
	return out, nil
}

// readName reads the name starting at start and returns it with the offset
// just after it in the original sequence (after its first pointer, if any).
func readName(b []byte, start int) (string, int, error) {
	var labels []string
	p := start
	limit := start // a pointer must point before this
	next := -1
	wire := 0
	for {
		if p >= len(b) {
			return "", 0, fmt.Errorf("label at offset %d: %w", p, io.ErrUnexpectedEOF)
		}
		l := int(b[p])
		switch l & 0xC0 {
		case 0x00:
			if l == 0 {
				if next < 0 {
					next = p + 1
				}
				if len(labels) == 0 {
					return ".", next, nil
				}
				return strings.Join(labels, "."), next, nil
			}
			if p+1+l > len(b) {
				return "", 0, fmt.Errorf("label at offset %d: %d bytes announced, %d left: %w", p, l, len(b)-p-1, io.ErrUnexpectedEOF)
			}
			wire += 1 + l
			if wire+1 > maxName {
				return "", 0, malformedf("name longer than %d bytes", maxName)
			}
			labels = append(labels, escapeLabel(b[p+1:p+1+l]))
			p += 1 + l
		case 0xC0:
			if p+1 >= len(b) {
				return "", 0, fmt.Errorf("pointer at offset %d: %w", p, io.ErrUnexpectedEOF)
			}
			off := (l&0x3F)<<8 | int(b[p+1])
			if off >= limit {
				if off <= p { // back into the labels of this name: it would repeat forever
					return "", 0, malformedf("compression pointer loop: pointer at offset %d to %d", p, off)
				}
				return "", 0, malformedf("pointer at offset %d to %d does not point backwards", p, off)
			}
			if next < 0 {
				next = p + 2
			}
			p, limit = off, off
		default:
			return "", 0, malformedf("reserved label type 0x%02x at offset %d", l&0xC0, p)
		}
	}
}

// wireName decodes a name in wire format with no compression, as option 81
// carries it (RFC 4702 §2.3.1). A name without the terminating zero is a
// partial name and is returned as is.
func wireName(b []byte) (string, error) {
	var labels []string
	for p := 0; p < len(b); {
		l := int(b[p])
		if l == 0 {
			if p != len(b)-1 {
				return "", malformedf("%d bytes after the name", len(b)-p-1)
			}
			return strings.Join(labels, ".") + ".", nil
		}
		if l&0xC0 != 0 {
			return "", malformedf("compressed or reserved label 0x%02x at offset %d", l, p)
		}
		if p+1+l > len(b) {
			return "", fmt.Errorf("dhcpopt: label at offset %d: %w", p, io.ErrUnexpectedEOF)
		}
		labels = append(labels, escapeLabel(b[p+1:p+1+l]))
		p += 1 + l
	}
	return strings.Join(labels, "."), nil
}

// escapeLabel writes a label in presentation format (RFC 4343 §2.1).
func escapeLabel(l []byte) string {
	var s strings.Builder
	for _, c := range l {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			s.WriteByte(c)
		case c == '.' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		default:
			fmt.Fprintf(&s, "\\%03d", c)
		}
	}
	return s.String()
}

// EncodeDomainSearch encodes names in RFC 1035 wire format with no
// compression, as option 119 data. Each name is split at dots; a trailing dot
// is optional. Labels longer than 63 bytes or names longer than 255 are
// refused.
func EncodeDomainSearch(names ...string) ([]byte, error) {
	var b []byte
	for _, n := range names {
		n = strings.TrimSuffix(n, ".")
		wire := 1
		if n != "" {
			for _, l := range strings.Split(n, ".") {
				if l == "" || len(l) > 63 {
					return nil, fmt.Errorf("dhcpopt: domain %q: empty label or label longer than 63 bytes", n)
				}
				wire += 1 + len(l)
				b = append(b, byte(len(l)))
				b = append(b, l...)
			}
		}
		if wire > maxName {
			return nil, fmt.Errorf("dhcpopt: domain %q: longer than %d bytes", n, maxName)
		}
		b = append(b, 0)
	}
	return b, nil
}
