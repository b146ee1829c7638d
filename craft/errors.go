package craft

import (
	"errors"
	"fmt"
	"io"
)

// ErrUnsupported is wrapped by decoders when the input is well formed but is
// not something this package decodes: an ARP packet for a hardware type other
// than Ethernet, an ICMP message that is not an echo, a UDP datagram that is
// not DHCP, an IPv4 fragment.
var ErrUnsupported = errors.New("unsupported")

// ErrMalformed is wrapped by decoders when a header field contradicts the
// length of the input or the protocol (an IPv4 header length below 5 words,
// a UDP length below 8, a bad DHCP magic cookie).
var ErrMalformed = errors.New("malformed")

// Truncation errors are built once so that decoders return them without
// allocating; all of them satisfy errors.Is(err, io.ErrUnexpectedEOF).
var (
	errEthernetShort = fmt.Errorf("craft: ethernet: %w", io.ErrUnexpectedEOF)
	errVLANShort     = fmt.Errorf("craft: 802.1q: %w", io.ErrUnexpectedEOF)
	errARPShort      = fmt.Errorf("craft: arp: %w", io.ErrUnexpectedEOF)
	errIPv4Short     = fmt.Errorf("craft: ipv4: %w", io.ErrUnexpectedEOF)
	errUDPShort      = fmt.Errorf("craft: udp: %w", io.ErrUnexpectedEOF)
	errICMPShort     = fmt.Errorf("craft: icmp: %w", io.ErrUnexpectedEOF)

	errARPFormat    = fmt.Errorf("craft: arp: not Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4): %w", ErrUnsupported)
	errIPv4Version  = fmt.Errorf("craft: ipv4: version is not 4: %w", ErrMalformed)
	errIPv4IHL      = fmt.Errorf("craft: ipv4: header length below 20 bytes: %w", ErrMalformed)
	errIPv4TotalLen = fmt.Errorf("craft: ipv4: total length below header length: %w", ErrMalformed)
	errUDPLength    = fmt.Errorf("craft: udp: length below 8: %w", ErrMalformed)
	errICMPNotEcho  = fmt.Errorf("craft: icmp: not an echo request or reply: %w", ErrUnsupported)
)
