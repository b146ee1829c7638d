package capture

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/net/bpf"
)

// Typed interface errors, tested with errors.Is. LookupInterface, Listen and
// NewRing return them wrapped, as in "capture: interface eth9: no such
// interface", before any socket is opened or anything is sent.
var (
	// ErrNoInterface means no interface has the given name.
	ErrNoInterface = errors.New("no such interface")
	// ErrInterfaceDown means the interface exists but is administratively
	// down (IFF_UP clear).
	ErrInterfaceDown = errors.New("interface is down")
	// ErrNotEthernet means the interface is not an Ethernet interface
	// (ARPHRD_ETHER): loopback, a tunnel, a Wi-Fi monitor interface, ...
	ErrNotEthernet = errors.New("not an Ethernet interface")
	// ErrNotPcap means a file is neither classic pcap nor pcapng.
	ErrNotPcap = errors.New("not a pcap or pcapng file")
	// ErrInterfaceGone means the interface a socket was bound to was
	// deleted (or its namespace went away) while the socket was open. Reads
	// return it wrapped in a *net.OpError once the kernel reports ENETDOWN
	// or the ifindex no longer exists, and keep returning it at once;
	// writes return it once the kernel says the interface is missing
	// (ENXIO). As libpcap does ("The interface disappeared"), a read also
	// returns it when the interface is only taken down, since the socket
	// then stops receiving; once the interface is up again, reads go on.
	ErrInterfaceGone = errors.New("the interface disappeared")
)

// ChecksumStatus is what the kernel said about a received frame's
// transport checksum (tp_status of PACKET_AUXDATA or the ring header,
// linux/if_packet.h). Its zero value means the kernel said nothing, so the
// checksum must be verified in software.
type ChecksumStatus uint8

// Checksum statuses.
const (
	// ChecksumUnknown: no status from the kernel; verify in software.
	ChecksumUnknown ChecksumStatus = iota
	// ChecksumValid: TP_STATUS_CSUM_VALID, the device or stack verified
	// the checksum.
	ChecksumValid
	// ChecksumPartial: TP_STATUS_CSUMNOTREADY, the checksum is to be
	// completed by hardware (a frame sent from this host, or over veth);
	// the field holds only the pseudo-header sum and is not an error.
	ChecksumPartial
)

// String returns "unknown", "valid" or "partial".
func (s ChecksumStatus) String() string {
	switch s {
	case ChecksumValid:
		return "valid"
	case ChecksumPartial:
		return "partial"
	default:
		return "unknown"
	}
}

// Direction is the direction of a frame relative to the capturing
// interface. Its zero value means unknown.
type Direction uint8

// Directions. The values match the pcapng epb_flags direction bits.
const (
	Inbound  Direction = 1
	Outbound Direction = 2
)

// String returns "in", "out", or "unknown".
func (d Direction) String() string {
	switch d {
	case Inbound:
		return "in"
	case Outbound:
		return "out"
	default:
		return "unknown"
	}
}

// Column returns d as the text output's direction column, padded to one
// width: "In  ", "Out ", or "" when unknown.
func (d Direction) Column() string {
	switch d {
	case Inbound:
		return "In  "
	case Outbound:
		return "Out "
	default:
		return ""
	}
}

// PacketType is the sll_pkttype the kernel reports with a received frame
// (packet(7), linux/if_packet.h).
type PacketType uint8

// Packet types, as in linux/if_packet.h.
const (
	PacketHost      PacketType = 0 // addressed to this host
	PacketBroadcast PacketType = 1 // link-layer broadcast
	PacketMulticast PacketType = 2 // link-layer multicast
	PacketOtherHost PacketType = 3 // to another host, seen in promiscuous mode
	PacketOutgoing  PacketType = 4 // sent by this host
	PacketLoopback  PacketType = 5 // multicast looped back
)

// String returns the name of the packet type.
func (t PacketType) String() string {
	switch t {
	case PacketHost:
		return "host"
	case PacketBroadcast:
		return "broadcast"
	case PacketMulticast:
		return "multicast"
	case PacketOtherHost:
		return "otherhost"
	case PacketOutgoing:
		return "outgoing"
	case PacketLoopback:
		return "loopback"
	default:
		return fmt.Sprintf("pkttype(%d)", uint8(t))
	}
}

// Direction maps a packet type to a direction as libpcap does: only
// PACKET_OUTGOING is outbound.
func (t PacketType) Direction() Direction {
	if t == PacketOutgoing {
		return Outbound
	}
	return Inbound
}

// FrameInfo describes one received frame.
type FrameInfo struct {
	// Time is the kernel's receive timestamp (SO_TIMESTAMPNS or the ring
	// header); time.Now() if the kernel gave none.
	Time time.Time
	// Length is the frame's length on the wire (as the kernel saw it, tag
	// stripped if the kernel stripped it); it may exceed what was read.
	Length int
	// Dir is Inbound or Outbound; zero if unknown.
	Dir Direction
	// Type is the kernel's sll_pkttype (valid when Dir is not zero).
	Type PacketType
	// VLAN is set when the kernel stripped an 802.1Q/802.1ad tag from the
	// frame (TP_STATUS_VLAN_VALID): the frame data then lacks the tag, and
	// VLANTCI and VLANTPID give it back.
	VLAN     bool
	VLANTCI  uint16
	VLANTPID uint16
	// Checksum is the kernel's word on the transport checksum.
	Checksum ChecksumStatus
}

// Msg is one frame for Conn.ReadFrames: the caller's buffer, how much of
// it the frame fills, and what the kernel said about it.
type Msg struct {
	Buf  []byte
	N    int
	Info FrameInfo
}

// Frame is one frame read by Ring.ReadBatch: its data, which points into
// the ring, and what the kernel said about it.
type Frame struct {
	Data []byte
	Info FrameInfo
}

// Stats are a socket's kernel counters, cumulative since it was opened.
type Stats struct {
	// Packets counts frames that passed the filter, dropped ones included
	// (tp_packets of PACKET_STATISTICS).
	Packets uint64
	// Drops counts frames the kernel dropped because the socket's buffer or
	// ring was full (tp_drops).
	Drops uint64
}

// Config configures Listen.
type Config struct {
	// Filter is a classic BPF program attached before bind(2), so nothing
	// unfiltered is ever queued. nil accepts every frame.
	Filter []bpf.RawInstruction
	// Promiscuous puts the interface in promiscuous mode while the socket
	// is open (PACKET_MR_PROMISC).
	Promiscuous bool
	// Protocol is the EtherType to bind to; 0 means ETH_P_ALL.
	Protocol uint16
	// IgnoreOutgoing asks the kernel not to pass the frames this host
	// sends on the interface (PACKET_IGNORE_OUTGOING, Linux 4.20); frames
	// this socket sends are never looped back to it anyway.
	IgnoreOutgoing bool
	// SendOnly opens a socket that never receives (protocol 0, not bound
	// for input, kept out of the runtime poller for reads).
	SendOnly bool
	// QdiscBypass sends straight to the driver (PACKET_QDISC_BYPASS).
	QdiscBypass bool
	// RecvBuffer is SO_RCVBUF(FORCE) in bytes; 0 keeps the kernel default.
	RecvBuffer int
	// RingSize, when positive, makes ReadFrames read a TPACKET_V3 ring of
	// about that many bytes (whole 32 KiB blocks, at least 4, each handed
	// over within a millisecond) instead of calling recvmmsg(2). A read
	// deadline is then never less than two milliseconds ahead, so that a
	// read returns every frame that arrived before its deadline.
	RingSize int
}

// RingConfig configures NewRing. Zero values take the defaults.
type RingConfig struct {
	// Filter is a classic BPF program, attached before bind(2); nil
	// accepts every frame.
	Filter []bpf.RawInstruction
	// Promiscuous puts the interface in promiscuous mode while the ring is
	// open (PACKET_MR_PROMISC).
	Promiscuous bool
	// SnapLen is the most bytes kept of a frame; the filter's returns are
	// capped to it so the kernel copies no more. 0 means DefaultSnapLen.
	SnapLen int
	// BlockSize is the size of a ring block, a multiple of the page size;
	// 0 means DefaultRingBlockSize.
	BlockSize int
	// NumBlocks is the number of blocks; 0 means DefaultRingBlocks.
	NumBlocks int
	// BlockTimeout is how long the kernel waits before handing over a block
	// that is not full (tp_retire_blk_tov, >= 1 ms); 0 means
	// DefaultRingBlockTimeout. It bounds the latency of a quiet capture.
	BlockTimeout time.Duration
	// IgnoreOutgoing asks the kernel not to pass the frames this host sends
	// (PACKET_IGNORE_OUTGOING, Linux 4.20), as tcpdump -Q in does.
	IgnoreOutgoing bool
}

// sameContext reports whether a and b are the same as far as a read is
// concerned: the same Done channel and the same deadline (a context made
// by context.WithValue is the same as its parent). It never compares the
// contexts themselves, which panics for an uncomparable type.
func sameContext(a, b context.Context) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if a.Done() != b.Done() {
		return false
	}
	da, oka := a.Deadline()
	db, okb := b.Deadline()
	return oka == okb && da.Equal(db)
}

// Ring defaults: 32 blocks of 1 MiB, 32 MiB in all, hold about 300,000
// 60-byte frames, a third of a second of a saturated veth on a small
// machine; tcpdump's default is 2 MiB.
const (
	DefaultRingBlockSize    = 1 << 20
	DefaultRingBlocks       = 32
	DefaultRingBlockTimeout = 10 * time.Millisecond
)
