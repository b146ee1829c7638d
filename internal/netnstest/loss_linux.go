package netnstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// SetLoss makes the named link drop percent of the frames it sends, at
// random. It uses `tc qdisc replace dev IF root netem loss N%` (tc-netem(8));
// on kernels built without sch_netem it attaches instead, on the clsact
// egress hook, a seven-instruction eBPF classifier that drops a frame when
// bpf_get_prandom_u32() & 0xffff falls below percent*65536/100 (tc-bpf(8),
// bpf-helpers(7)). Both act on every frame the link sends, ARP included.
// Calling it again replaces the previous setting.
func (ns *NS) SetLoss(t testing.TB, ifname string, percent float64) {
	t.Helper()
	if percent < 0 || percent > 100 {
		t.Fatalf("netnstest: SetLoss %s: %v%% is not a percentage", ifname, percent)
	}
	out, netemErr := ns.Output("tc", "qdisc", "replace", "dev", ifname, "root", "netem", "loss", strconv.FormatFloat(percent, 'f', -1, 64)+"%")
	if netemErr == nil {
		return
	}
	if err := ns.bpfLoss(ifname, percent); err != nil {
		t.Fatalf("netnstest: %s: SetLoss %s: netem: %v (%s); eBPF fallback: %v", ns.Name, ifname, netemErr, out, err)
	}
}

// lossFilterPrio is the tc priority (and handle) of the eBPF loss filter.
const lossFilterPrio = 0xbe

// bpfLoss attaches the random-drop classifier to ifname's clsact egress hook.
func (ns *NS) bpfLoss(ifname string, percent float64) error {
	link, err := ns.h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("link %s: %w", ifname, err)
	}
	qdisc := &netlink.Clsact{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: link.Attrs().Index,
		Handle:    netlink.MakeHandle(0xffff, 0),
		Parent:    netlink.HANDLE_CLSACT,
	}}
	if err := ns.h.QdiscReplace(qdisc); err != nil {
		return fmt.Errorf("clsact qdisc: %w", err)
	}
	fd, err := loadLossProgram(uint32(percent * 65536 / 100))
	if err != nil {
		return err
	}
	defer unix.Close(fd) // the filter holds its own reference
	filter := &netlink.BpfFilter{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: link.Attrs().Index,
			Parent:    netlink.HANDLE_MIN_EGRESS,
			Handle:    netlink.MakeHandle(0, 1),
			Protocol:  unix.ETH_P_ALL,
			Priority:  lossFilterPrio,
		},
		Fd:           fd,
		Name:         "rawlab_loss",
		DirectAction: true,
	}
	if err := ns.h.FilterReplace(filter); err != nil {
		return fmt.Errorf("bpf filter: %w", err)
	}
	return nil
}

// eBPF instruction fields (linux/bpf.h, linux/bpf_common.h).
const (
	bpfCall     = 0x05 | 0x80 // BPF_JMP | BPF_CALL
	bpfExit     = 0x05 | 0x90 // BPF_JMP | BPF_EXIT
	bpfJGEImm   = 0x05 | 0x30 // BPF_JMP | BPF_JGE | BPF_K
	bpfAndImm64 = 0x07 | 0x50 // BPF_ALU64 | BPF_AND | BPF_K
	bpfMovImm64 = 0x07 | 0xb0 // BPF_ALU64 | BPF_MOV | BPF_K

	bpfFuncGetPrandomU32 = 7 // BPF_FUNC_get_prandom_u32
	tcActOK              = 0 // TC_ACT_OK
	tcActStolen          = 4 // TC_ACT_STOLEN: freed, the sender told it went out
)

// bpfInsn encodes struct bpf_insn: code, dst_reg:4 | src_reg:4, off, imm.
func bpfInsn(code uint8, dst uint8, off int16, imm int32) []byte {
	b := make([]byte, 8)
	b[0] = code
	b[1] = dst & 0x0f
	binary.NativeEndian.PutUint16(b[2:], uint16(off))
	binary.NativeEndian.PutUint32(b[4:], uint32(imm))
	return b
}

// lossProgram returns the classifier: drop when (random & 0xffff) < threshold.
// It drops with TC_ACT_STOLEN, not TC_ACT_SHOT: a shot frame makes the
// sender's sendmsg(2) fail with ENOBUFS (and ping, for one, resends it), while
// a stolen one is reported sent and silently lost, as on a wire and as netem
// does.
func lossProgram(threshold uint32) []byte {
	var p []byte
	p = append(p, bpfInsn(bpfCall, 0, 0, bpfFuncGetPrandomU32)...) // r0 = random u32
	p = append(p, bpfInsn(bpfAndImm64, 0, 0, 0xffff)...)           // r0 &= 0xffff
	p = append(p, bpfInsn(bpfJGEImm, 0, 2, int32(threshold))...)   // if r0 >= threshold goto pass
	p = append(p, bpfInsn(bpfMovImm64, 0, 0, tcActStolen)...)      // r0 = TC_ACT_STOLEN
	p = append(p, bpfInsn(bpfExit, 0, 0, 0)...)                    // return
	p = append(p, bpfInsn(bpfMovImm64, 0, 0, tcActOK)...)          // pass: r0 = TC_ACT_OK
	p = append(p, bpfInsn(bpfExit, 0, 0, 0)...)                    // return
	return p
}

// progLoadAttr is the BPF_PROG_LOAD part of union bpf_attr.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [16]byte
	progIfindex        uint32
	expectedAttachType uint32
}

// loadLossProgram loads lossProgram as a BPF_PROG_TYPE_SCHED_CLS program
// and returns its file descriptor.
func loadLossProgram(threshold uint32) (int, error) {
	insns := lossProgram(threshold)
	license := []byte("Dual MIT/GPL\x00")
	logBuf := make([]byte, 4096)
	attr := progLoadAttr{
		progType: unix.BPF_PROG_TYPE_SCHED_CLS,
		insnCnt:  uint32(len(insns) / 8),
		insns:    uint64(uintptr(unsafe.Pointer(&insns[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
		logLevel: 1,
		logSize:  uint32(len(logBuf)),
		logBuf:   uint64(uintptr(unsafe.Pointer(&logBuf[0]))),
	}
	copy(attr.progName[:], "rawlab_loss")
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(insns)
	runtime.KeepAlive(license)
	runtime.KeepAlive(logBuf)
	if errno != 0 {
		log := string(logBuf[:max(0, indexZero(logBuf))])
		return -1, fmt.Errorf("bpf prog load: %w: %s", errors.Join(errno), log)
	}
	return int(fd), nil
}

func indexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}
