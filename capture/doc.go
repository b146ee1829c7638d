// Package capture opens AF_PACKET sockets on an Ethernet interface, filters
// what they receive with classic BPF, captures at high rate through a
// TPACKET_V3 ring, and records frames to pcapng or classic pcap files.
//
// References:
//   - packet(7): AF_PACKET sockets, struct sockaddr_ll (sll_pkttype gives the
//     direction), PACKET_AUXDATA (struct tpacket_auxdata: the original length
//     and the VLAN tag the kernel stripped), PACKET_STATISTICS.
//   - Linux Documentation/networking/packet_mmap.rst: the TPACKET_V3 ring
//     (struct tpacket_block_desc, struct tpacket3_hdr).
//   - Linux Documentation/networking/filter.rst and bpf(4) of the BSDs: the
//     classic BPF instruction set used by SO_ATTACH_FILTER.
//   - IETF draft-ietf-opsawg-pcapng (pcapng): Section Header, Interface
//     Description (if_name, if_tsresol), Enhanced Packet (epb_flags
//     direction bits, opt_comment) blocks.
//   - pcap-savefile(5) / draft-ietf-opsawg-pcap: the classic pcap format with
//     nanosecond magic 0xa1b23c4d.
//
// Conn is a small socket for protocol work (send a frame, wait for the
// answer through a BPF filter). Ring is the high-rate capture path. Recorder
// writes what either one sees; FileReader reads it back.
package capture
