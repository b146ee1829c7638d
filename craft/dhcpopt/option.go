package dhcpopt

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/rawlab/rawlab/craft"
)

// Option is one decoded DHCPv4 option.
//
// Value holds the typed value: netip.Addr, []netip.Addr, [][2]netip.Addr
// (address pairs), string, []string (domain lists), bool, uint8, uint16,
// []uint16, uint32, int32, Seconds, MsgType, Overload, []Code, ClientID,
// FQDN, []SubOption, []Route or, for unknown and malformed options, Hex.
// Text is the same value written for a person. Raw is the option's data as it
// came (after RFC 3396 concatenation), without code and length bytes.
type Option struct {
	Code  Code   `json:"code"`
	Name  string `json:"name"`
	Value any    `json:"value"`
	Text  string `json:"text"`
	Raw   Hex    `json:"raw"`
	// Err says why the data did not fit the option's format; Value is then
	// the raw data as Hex.
	Err string `json:"error,omitempty"`
}

// String formats o as `Name (code): text`.
func (o Option) String() string {
	s := fmt.Sprintf("%s (%d): %s", o.Name, o.Code, o.Text)
	if o.Err != "" {
		s += " [malformed: " + o.Err + "]"
	}
	return s
}

// Hex is opaque option data; it prints and encodes to JSON as lower-case hex.
type Hex []byte

// String returns h as lower-case hex, or "(empty)".
func (h Hex) String() string {
	if len(h) == 0 {
		return "(empty)"
	}
	return hex.EncodeToString(h)
}

// MarshalText encodes h as lower-case hex.
func (h Hex) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText decodes lower- or upper-case hex.
func (h *Hex) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("dhcpopt: hex %q: %w", b, err)
	}
	*h = v
	return nil
}

// errMalformed reports data that does not fit an option's format.
var errMalformed = errors.New("malformed")

func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

// Decode decodes one option's data. It never fails: data that does not fit
// the option's format comes back as Hex with the reason in Err.
func Decode(code Code, data []byte) Option {
	o := Option{Code: code, Name: code.String(), Raw: Hex(slices.Clone(data))}
	if o.Raw == nil {
		o.Raw = Hex{}
	}
	v, text, err := decodeValue(code, o.Raw)
	if err != nil {
		o.Value, o.Text, o.Err = o.Raw, o.Raw.String(), err.Error()
		return o
	}
	o.Value, o.Text = v, text
	return o
}

// Parse decodes the options area of a DHCP message (after the magic cookie):
// code, length, data triples up to End (RFC 2132 §2). Pad is skipped.
// Repeated instances of a code are concatenated into one option, in order,
// as RFC 3396 asks. Options come back in the order they first appeared.
// Data that ends inside an option returns the options decoded before it and
// an error wrapping io.ErrUnexpectedEOF.
func Parse(b []byte) ([]Option, error) {
	var order []Code
	data := make(map[Code][]byte)
	var err error
	for i := 0; i < len(b); {
		c := Code(b[i])
		if c == Pad {
			i++
			continue
		}
		if c == End {
			break
		}
		if i+1 >= len(b) {
			err = fmt.Errorf("dhcpopt: option %d: length byte missing: %w", c, io.ErrUnexpectedEOF)
			break
		}
		n := int(b[i+1])
		if i+2+n > len(b) {
			err = fmt.Errorf("dhcpopt: option %d: %d bytes announced, %d left: %w", c, n, len(b)-i-2, io.ErrUnexpectedEOF)
			break
		}
		if _, ok := data[c]; !ok {
			order = append(order, c)
			data[c] = []byte{}
		}
		data[c] = append(data[c], b[i+2:i+2+n]...)
		i += 2 + n
	}
	out := make([]Option, 0, len(order))
	for _, c := range order {
		out = append(out, Decode(c, data[c]))
	}
	return out, err
}

// FromMessage decodes every option of m, sorted by code with the message type
// (53) first. insomniacslk/dhcp has already concatenated repeated options.
func FromMessage(m *dhcpv4.DHCPv4) []Option {
	if m == nil {
		return nil
	}
	return FromOptions(m.Options)
}

// FromOptions decodes every option of o, sorted by code with the message type
// (53) first.
func FromOptions(o dhcpv4.Options) []Option {
	codes := make([]int, 0, len(o))
	for c := range o {
		codes = append(codes, int(c))
	}
	slices.SortFunc(codes, func(a, b int) int {
		switch {
		case a == b:
			return 0
		case a == int(MessageType):
			return -1
		case b == int(MessageType):
			return 1
		}
		return a - b
	})
	out := make([]Option, 0, len(codes))
	for _, c := range codes {
		out = append(out, Decode(Code(c), o[uint8(c)]))
	}
	return out
}

// Find returns the option with code c from opts.
func Find(opts []Option, c Code) (Option, bool) {
	for _, o := range opts {
		if o.Code == c {
			return o, true
		}
	}
	return Option{}, false
}

// printable reports whether s can be shown as is: valid UTF-8 with no control
// characters.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// quoteIfNeeded returns s as is when it is printable and non-empty without
// surrounding spaces, else escaped and quoted by craft.Escape, rawlab's one
// escaper of wire strings.
func quoteIfNeeded(s string) string {
	if s != "" && printable([]byte(s)) && strings.TrimSpace(s) == s {
		return s
	}
	return craft.Escape(s)
}
