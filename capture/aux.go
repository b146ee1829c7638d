package capture

import (
	"encoding/binary"
	"io"
	"math/bits"
	"time"
)

// Socket-level constants used to decode control messages. They are fixed
// by the Linux ABI (asm-generic/socket.h, linux/if_packet.h) and repeated
// here so that the decoder builds and is fuzzed on every GOOS.
const (
	solSocket         = 1   // SOL_SOCKET
	solPacket         = 263 // SOL_PACKET
	packetAuxdata     = 8   // PACKET_AUXDATA
	scmTimestampNSOld = 35  // SO_TIMESTAMPNS_OLD: struct timespec of longs
	scmTimestampNSNew = 64  // SO_TIMESTAMPNS_NEW: struct __kernel_timespec

	tpStatusCsumNotReady  = 1 << 3 // TP_STATUS_CSUMNOTREADY
	tpStatusVLANValid     = 1 << 4 // TP_STATUS_VLAN_VALID
	tpStatusVLANTPIDValid = 1 << 6 // TP_STATUS_VLAN_TPID_VALID
	tpStatusCsumValid     = 1 << 7 // TP_STATUS_CSUM_VALID

	sizeofAuxdata = 20 // struct tpacket_auxdata
)

// wordSize is sizeof(size_t) and sizeof(long) on this platform: the width
// of cmsg_len, the alignment of control messages (CMSG_ALIGN), and the
// width of the fields of an old struct timespec.
const wordSize = bits.UintSize / 8

// parseControl decodes the control messages that recvmsg(2) returned with
// a frame on a packet socket into info: SCM_TIMESTAMPNS, old or new layout
// (the receive time), and PACKET_AUXDATA (struct tpacket_auxdata,
// packet(7): the length on the wire, the VLAN tag the kernel stripped and
// the checksum status). Unknown messages are skipped. It allocates nothing.
// A message that runs past the buffer returns io.ErrUnexpectedEOF; what was
// decoded before it stays in info.
//
// Layout (cmsg(3)): struct cmsghdr { size_t cmsg_len; int cmsg_level;
// int cmsg_type; } followed by the data, each message padded to a multiple
// of sizeof(size_t); cmsg_len counts the header and the unpadded data.
func parseControl(oob []byte, info *FrameInfo) error {
	hdrLen := align(wordSize + 8)
	for len(oob) > 0 {
		if len(oob) < hdrLen {
			return io.ErrUnexpectedEOF
		}
		var msgLen uint64
		if wordSize == 8 {
			msgLen = binary.NativeEndian.Uint64(oob[0:8])
		} else {
			msgLen = uint64(binary.NativeEndian.Uint32(oob[0:4]))
		}
		level := int32(binary.NativeEndian.Uint32(oob[wordSize : wordSize+4]))
		typ := int32(binary.NativeEndian.Uint32(oob[wordSize+4 : wordSize+8]))
		if msgLen < uint64(hdrLen) || msgLen > uint64(len(oob)) {
			return io.ErrUnexpectedEOF
		}
		data := oob[hdrLen:msgLen]
		switch {
		case level == solPacket && typ == packetAuxdata:
			if len(data) < sizeofAuxdata {
				return io.ErrUnexpectedEOF
			}
			decodeAuxdata(data, info)
		case level == solSocket && typ == scmTimestampNSOld:
			if len(data) < 2*wordSize {
				return io.ErrUnexpectedEOF
			}
			var sec, nsec int64
			if wordSize == 8 {
				sec = int64(binary.NativeEndian.Uint64(data[0:8]))
				nsec = int64(binary.NativeEndian.Uint64(data[8:16]))
			} else {
				sec = int64(int32(binary.NativeEndian.Uint32(data[0:4])))
				nsec = int64(int32(binary.NativeEndian.Uint32(data[4:8])))
			}
			info.Time = time.Unix(sec, nsec)
		case level == solSocket && typ == scmTimestampNSNew:
			if len(data) < 16 {
				return io.ErrUnexpectedEOF
			}
			info.Time = time.Unix(int64(binary.NativeEndian.Uint64(data[0:8])), int64(binary.NativeEndian.Uint64(data[8:16])))
		}
		next := align(int(msgLen))
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return nil
}

// decodeAuxdata decodes struct tpacket_auxdata (linux/if_packet.h), whose
// fields are in host byte order (packet_rcv fills them in with ntohs where
// the skb holds network order):
//
//	0  u32 tp_status     TP_STATUS_* flags
//	4  u32 tp_len        length on the wire
//	8  u32 tp_snaplen    length captured
//	12 u16 tp_mac        offset of the MAC header (ring only)
//	14 u16 tp_net        offset of the network header (ring only)
//	16 u16 tp_vlan_tci   stripped tag's TCI, if TP_STATUS_VLAN_VALID
//	18 u16 tp_vlan_tpid  stripped tag's TPID, if TP_STATUS_VLAN_TPID_VALID
func decodeAuxdata(b []byte, info *FrameInfo) {
	info.Length = int(binary.NativeEndian.Uint32(b[4:8]))
	decodeStatus(binary.NativeEndian.Uint32(b[0:4]), binary.NativeEndian.Uint16(b[16:18]),
		binary.NativeEndian.Uint16(b[18:20]), info)
}

// decodeStatus decodes what tp_status says, with the tag fields beside it,
// the same in PACKET_AUXDATA and in a ring's struct tpacket3_hdr: the
// stripped VLAN tag (TP_STATUS_VLAN_VALID; its TPID only with
// TP_STATUS_VLAN_TPID_VALID, 802.1Q otherwise) and the checksum status.
// The kernel sets at most one of TP_STATUS_CSUMNOTREADY (ip_summed is
// CHECKSUM_PARTIAL: a frame sent from this host, or over veth, whose
// checksum the hardware was to complete) and TP_STATUS_CSUM_VALID
// (skb_csum_unnecessary: verified by the device or the stack); see
// packet_rcv and tpacket_rcv in net/packet/af_packet.c.
func decodeStatus(status uint32, tci, tpid uint16, info *FrameInfo) {
	if status&tpStatusVLANValid != 0 {
		info.VLAN = true
		info.VLANTCI = tci
		info.VLANTPID = etherTypeVLAN
		if status&tpStatusVLANTPIDValid != 0 && tpid != 0 {
			info.VLANTPID = tpid
		}
	}
	switch {
	case status&tpStatusCsumNotReady != 0:
		info.Checksum = ChecksumPartial
	case status&tpStatusCsumValid != 0:
		info.Checksum = ChecksumValid
	}
}

func align(n int) int { return (n + wordSize - 1) &^ (wordSize - 1) }

// InsertVLAN puts back into the frame b[:n] the 802.1Q/802.1ad tag that
// info says the kernel stripped, right after the two MAC addresses, and
// returns the new length. It does nothing (and returns n) when info has no
// tag, the frame is shorter than 12 bytes, or cap(b) has no room for 4 more
// bytes.
func InsertVLAN(b []byte, n int, info FrameInfo) int {
	if !info.VLAN || n < 12 || n > len(b) || cap(b) < n+4 {
		return n
	}
	b = b[:n+4]
	copy(b[16:], b[12:n])
	binary.BigEndian.PutUint16(b[12:14], info.VLANTPID)
	binary.BigEndian.PutUint16(b[14:16], info.VLANTCI)
	return n + 4
}
