// Package craft builds and parses the frames rawlab sends and receives:
// Ethernet II with an optional IEEE 802.1Q tag, ARP for IPv4 (RFC 826,
// with the RFC 5227 probe and announcement), IPv4 (RFC 791), UDP
// (RFC 768), ICMPv4 echo (RFC 792), and DHCPv4 messages (RFC 2131, RFC
// 2132) carried in them in the broadcast and unicast forms of RFC 2131
// §4.1. It does no system calls and builds on every GOOS.
//
// # Building frames
//
// The Append functions append a whole frame, without FCS, to a byte slice
// and compute every length and checksum: the IPv4 header checksum, the UDP
// checksum over the pseudo-header, the ICMP checksum (all RFC 1071). Frames
// are zero-padded to the 60-byte Ethernet minimum. When the slice has room
// they allocate nothing, so a send loop can reuse one buffer:
//
//	buf = craft.AppendARP(buf[:0], craft.Ethernet{Dst: craft.Broadcast, Src: mac},
//		craft.NewARPRequest(mac, myIP, target))
//
// AppendEthernet, AppendARPPacket, AppendIPv4, AppendUDPDatagram and
// AppendICMPEchoMessage append one layer each for callers that stack layers
// themselves. SetIPv4Checksum, SetTransportChecksum and BreakChecksum
// overwrite the computed checksums of a built frame, to craft frames a
// receiver must drop. AppendTagged inserts a stack of tags (VLAN, the one
// VLAN model: ID, priority, DEI, TPID; 802.1ad QinQ outermost first), and
// Finish wraps a frame builder with both for a send loop. EncodeDHCP frames
// an insomniacslk dhcpv4.DHCPv4 message;
// ClientBroadcast, ClientUnicast and ServerReply return the addressing that
// RFC 2131 §4.1 prescribes for each case.
//
// # Decoding frames
//
// DecodeEthernet, DecodeARP, DecodeIPv4, DecodeUDP and DecodeICMPEcho
// decode one layer in place into a caller-owned value, like gopacket's
// DecodeFromBytes: the result aliases the input and nothing is allocated.
// DecodePacket chains them into a Packet, and AppendPacket re-encodes a
// Packet to the same bytes. Truncated input gives an error wrapping
// io.ErrUnexpectedEOF, inconsistent headers ErrMalformed, and well-formed
// input outside the package's scope ErrUnsupported.
//
// DecodeDHCP decodes a DHCP frame into a DHCPPacket that keeps, next to the
// dhcpv4 model, what the model drops: the order and segmentation of the
// options (RFC 3396), Pads, the bytes after End, the raw chaddr, sname and
// file. AppendDHCPPacket re-encodes such a packet from the model, using the
// layout only where the model still agrees with it, so a received frame
// comes back byte for byte and an edited one carries the edits. EncodeDHCP,
// for new messages, writes option 53 first, the others in ascending order,
// and pads the message to the 300-byte BOOTP minimum (RFC 951), as
// dhcpv4.ToBytes does.
//
// # Summaries
//
// SummarizeLink turns any captured frame into a Summary, given its link
// type (Ethernet, Linux cooked v1 and v2, raw IP: pcap's LINKTYPE_ values)
// and its length on the wire; Summarize is the Ethernet case of a whole
// frame. A Summary prints on one line in the style of `tcpdump -e -n` (see
// tcpdump(8)) or marshals to JSON as docs/json.md fixes it (MAC, the MAC
// type, in lower case with colons; xid "0x%08x"; msg_type upper case; len
// and caplen), with the part it does not understand kept in hex. A frame
// cut by a snap length is decoded from its headers as far as the bytes go.
// ARP and RARP, ICMP errors with their quoted header, redirects,
// timestamps, first fragments, plain BOOTP and cooked and raw captures are
// tested against tcpdump's own lines (testdata/edge.py builds them); DHCP
// lines add the message type, xid, chaddr, yiaddr and server identifier.
// Strings from the wire are escaped in the text by Escape and exact in
// JSON. It never panics; fuzz tests check every decoder.
//
// MACFlag, IPv4Flag, ParseVLANs, ParseChecksumLayer and NewARP read the
// values of rawlab's flags; the package's errors never name a flag.
package craft
