// Package capture opens AF_PACKET sockets on an Ethernet interface, filters
// what they receive with classic BPF, captures at high rate through a
// TPACKET_V3 ring, and records frames to pcapng or classic pcap files.
//
// References:
//   - packet(7): AF_PACKET sockets, struct sockaddr_ll (sll_pkttype gives the
//     direction), PACKET_AUXDATA (struct tpacket_auxdata: the original length
//     and the VLAN tag the kernel stripped), PACKET_STATISTICS,
//     PACKET_IGNORE_OUTGOING.
//   - netdevice(7): SIOCGIFINDEX, SIOCGIFHWADDR (the ARPHRD_* type).
//   - Linux Documentation/networking/packet_mmap.rst: the TPACKET_V3 ring
//     (struct tpacket_block_desc, struct tpacket3_hdr).
//   - Linux Documentation/networking/filter.rst and bpf(4) of the BSDs: the
//     classic BPF instruction set used by SO_ATTACH_FILTER.
//   - IETF draft-ietf-opsawg-pcapng (pcapng): Section Header, Interface
//     Description (if_name, if_tsresol), Enhanced Packet (epb_flags
//     direction bits, opt_comment) and Interface Statistics blocks.
//   - pcap-savefile(5) / draft-ietf-opsawg-pcap: the classic pcap format with
//     nanosecond magic 0xa1b23c4d.
//
// # Pieces
//
// LookupInterface checks a name before anything is opened: it exists
// (ErrNoInterface), is up (ErrInterfaceDown) and is Ethernet
// (ErrNotEthernet). Listen and NewRing call it first, so a bad interface
// never gets as far as a socket, and a missing CAP_NET_RAW is reported as
// an error wrapping os.ErrPermission before anything is sent.
//
// Conn is a small socket for protocol work: send a frame, wait for the
// answer through a BPF filter attached before bind(2). It reads with
// recvmsg(2) to get sll_pkttype (the direction), PACKET_AUXDATA (the
// length on the wire and a VLAN tag the kernel stripped, which InsertVLAN
// puts back) and SO_TIMESTAMPNS; reads and writes allocate nothing.
//
// Ring is the high-rate path over a TPACKET_V3 ring. gopacket's afpacket
// opens the socket, sets up the ring and attaches the filter; Ring then maps
// the same ring a second time (mmap(2) on the socket: the pages are shared)
// and walks its blocks itself, reading struct tpacket_block_desc
// (block_status, num_pkts, offset_to_first_pkt) and each struct
// tpacket3_hdr (tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len,
// tp_status, tp_mac, the VLAN fields) and the struct sockaddr_ll after it
// (sll_pkttype), and handing a block back by storing TP_STATUS_KERNEL in
// its block_status. That spares afpacket's per-frame lock and CaptureInfo,
// and lets ReadBatch return every ready frame of a block in one call.
// Either way, Ring adds to afpacket:
//
//   - Direction. Should the mapping fail, Ring reads through afpacket's
//     ZeroCopyReadPacketData, which does not expose sll_pkttype; each frame in a
//     V3 block is preceded by its struct tpacket3_hdr and a struct
//     sockaddr_ll at fixed offsets (UAPI). Ring finds that header from the
//     frame's address and accepts it only if it is self-consistent (its
//     tp_mac equals the distance, its sockaddr_ll has AF_PACKET and our
//     interface index), then reads sll_pkttype and the VLAN fields there.
//     Should that ever fail, it falls back to comparing the source MAC with
//     the interface's (wrong for frames another host sends with our MAC) and
//     counts it in FallbackDirections. A second socket with
//     PACKET_IGNORE_OUTGOING was not used: it would double the kernel's
//     work per frame.
//   - Waiting. afpacket blocks in poll(2), which costs the Go scheduler a
//     thread hand-off per wait. Ring registers a duplicate of the socket
//     with Go's network poller and waits there, once per ring block; it
//     reads the readiness from the block's status word rather than with a
//     poll(2), and sets the poller's deadline once per context (its
//     deadline; its cancellation, through one context.AfterFunc, and Close
//     move the deadline into the past) rather than arming a timer per wait.
//     Every system call the capture goroutine makes after a wait wakes the
//     runtime's sysmon thread, which then polls every 20 µs for a while, so
//     these matter at capture rates.
//   - The filter gap. afpacket binds before the filter can be attached, so
//     a few frames may be queued unfiltered; Ring runs the filter again in
//     x/net/bpf's VM over frames stamped before the filter was in place.
//
// BuiltinFilter returns the programs for "arp", "dhcp", "icmp" and "all";
// each accepts untagged frames, frames with one 802.1Q or 802.1ad tag in
// the data, and frames whose tag the kernel stripped (they look untagged to
// the filter). ApplySnapLen caps a program's returns to a snap length.
//
// Recorder writes pcapng (one Interface Description Block with if_name and
// if_tsresol 9 or 6, epb_flags with the direction, opt_comment, an
// Interface Statistics Block with the kernel's counters) or classic pcap
// with nanosecond or microsecond timestamps. It encodes the blocks itself,
// byte for byte as pcapgo would, straight into one 1 MiB buffer;
// WriteFrames records a ReadBatch's frames under one lock, putting back the
// VLAN tags the kernel stripped as it copies them. A Recorder made by
// CreateRecorder on a regular file writes with a raw write(2), for the
// same reason as above (no sysmon wake-up per write). A block is never
// split between two writes to the file, and a timer flushes
// the buffer every FlushInterval (1 s by default): a capture killed with
// SIGKILL is readable up to its last whole block, losing at most the last
// second. FileReader reads pcap (either byte order, micro- or nanosecond)
// and pcapng back, and returns ErrNotPcap for anything else.
package capture
