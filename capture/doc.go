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
// One socket layer serves every packet I/O in rawlab (openSocket, in
// socket_linux.go). It opens the socket with protocol 0, so the kernel
// queues nothing yet; attaches the BPF filter (SO_ATTACH_FILTER), the
// receive buffer, PACKET_AUXDATA and SO_TIMESTAMPNS, PACKET_IGNORE_OUTGOING,
// the TPACKET_V3 ring (PACKET_VERSION, PACKET_RX_RING, mmap(2)),
// promiscuous mode (PACKET_ADD_MEMBERSHIP with PACKET_MR_PROMISC) and
// PACKET_QDISC_BYPASS; and only then binds it to the interface and the
// protocol. Every frame ever queued has been through the filter: there is
// no unfiltered window to filter again in user space.
//
// Conn is the socket for protocol work: send frames (WriteFrame, or
// WriteFrames with sendmmsg(2)), wait for the answers through the filter
// (ReadFrame, or ReadFrames with recvmmsg(2), or from a TPACKET_V3 ring
// with Config.RingSize). recvmmsg gives sll_pkttype (the direction) and
// the control messages, which parseControl decodes: SO_TIMESTAMPNS (old
// and new layouts) and PACKET_AUXDATA (the length on the wire, a VLAN tag
// the kernel stripped, which InsertVLAN puts back, and the checksum
// status). A send-only Conn (Config.SendOnly) stays bound to protocol 0
// and blocking, out of the runtime poller, which a socket only sending at
// full rate would wake for every frame the driver frees. Reads and writes
// allocate nothing once their headers have grown to the batch size.
//
// Ring is the high-rate path over a TPACKET_V3 ring; Conn with a ring
// uses the same walker (ringWalker). It reads struct tpacket_block_desc
// (block_status, num_pkts, offset_to_first_pkt), each struct tpacket3_hdr
// (tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len, tp_status with the
// VLAN and checksum bits, tp_mac, the VLAN fields) and the struct
// sockaddr_ll after it (sll_pkttype), and hands a block back by storing
// TP_STATUS_KERNEL in its block_status; ReadBatch returns every ready
// frame of a block in one call, pointing into the ring. It waits in Go's
// network poller, once per ring block; it reads the readiness from the
// block's status word rather than with a poll(2), and sets the poller's
// deadline once per context (its deadline; its cancellation, through one
// context.AfterFunc, and Close move the deadline into the past) rather
// than arming a timer per wait. Every system call the capture goroutine
// makes after a wait wakes the runtime's sysmon thread, which then polls
// every 20 µs for a while, so these matter at capture rates.
//
// When the interface goes away, the kernel (packet_notifier, on
// NETDEV_DOWN and NETDEV_UNREGISTER) sets the socket's error to ENETDOWN
// and wakes it with POLLERR, and on NETDEV_UNREGISTER unbinds it
// (getsockname then reports ifindex -1). Reads of Conn and Ring then
// return a *net.OpError wrapping ErrInterfaceGone instead of waiting
// forever; like libpcap ("The interface disappeared"), they do so when the
// interface is only taken down, since the socket then stops receiving.
// The kernel reports a deletion only to sockets still receiving, so after
// a read has reported a link down, reads look every 100 ms whether the
// interface still exists, until it is up again.
//
// BuiltinFilter returns programs compiled from one documented table of
// pcap-filter expressions (filter.go): "arp" and "icmp" exactly as
// tcpdump's; "dhcp" and "icmp-vlan" untagged or behind up to two tags, with
// the same verdict live (outer tag stripped by the kernel) and offline;
// "dhcp-client", "arp-reply" and "arp-vlan", the receive filters of
// dhcpclient and arpscan; and "all". ApplySnapLen caps a program's returns
// to a snap length.
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
// split between two writes to the file, and a timer flushes the buffer
// every FlushInterval: a capture killed with SIGKILL is readable up to its
// last whole block. A write that fails part way (ENOSPC, EDQUOT, EFBIG;
// IsDiskFull) cuts the file back to its last whole block, and Frames says
// how many frames it holds. FileReader reads pcap (either byte order,
// micro- or nanosecond) and pcapng back, each record with its own link
// type (a pcapng file's interfaces may differ), and returns ErrNotPcap for
// anything else.
//
// Capture is the capture run loop (ring, filter, sink) that `rawlab
// capture` is a thin front for: RunConfig.Validate checks every value
// before a socket or a file is opened; Run reads a Source (the Ring) in
// batches, keeps a direction, hands the frames to an Output and to
// OnFrame, and stops on Count, Duration, the context, the interface's
// removal (ErrInterfaceGone) or a failed write. It writes the file out each
// time it drains a ring block, and file captures use FileBlockTimeout, so
// that a SIGKILL loses about what the kernel still fills. Output writes one file, a stream, or a rotation as tcpdump's -C,
// -G and -W (Rotation), sized by the Recorder's own block accounting
// (WriteFramesWithin), each file with its own statistics block. Every file
// is created through internal/outfile: no symbolic link followed, mode
// 0600, owned by the sudo user.
package capture
