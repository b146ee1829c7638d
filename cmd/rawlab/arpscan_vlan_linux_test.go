//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// vlanHost makes ns answer ARP only on VLAN vid of its eth0, with cidr, and
// returns the interface holding the address. It uses an 802.1Q subinterface
// (eth0.VID) where the kernel has 8021q; otherwise it emulates one with two
// tc eBPF programs on eth0: ingress drops untagged frames and frames of other
// VLANs and pops the tag (bpf_skb_vlan_pop), egress pushes it
// (bpf_skb_vlan_push), so that on the wire the host is a VLAN member.
func vlanHost(t *testing.T, ns *netnstest.NS, vid uint16, cidr string) string {
	t.Helper()
	sub := fmt.Sprintf("eth0.%d", vid)
	if _, err := ns.Output("ip", "link", "add", "link", "eth0", "name", sub, "type", "vlan", "id", fmt.Sprint(vid)); err == nil {
		ns.LinkUp(t, sub)
		ns.AddAddr(t, sub, cidr)
		return sub
	}
	h := ns.Netlink()
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	qdisc := &netlink.Clsact{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: link.Attrs().Index,
		Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT}}
	if err := h.QdiscReplace(qdisc); err != nil {
		t.Fatalf("%s: clsact: %v", ns.Name, err)
	}
	for _, dir := range []struct {
		parent uint32
		prog   []byte
		name   string
	}{
		{netlink.HANDLE_MIN_INGRESS, vlanPopProgram(vid), "rawlab_vpop"},
		{netlink.HANDLE_MIN_EGRESS, vlanPushProgram(vid), "rawlab_vpush"},
	} {
		fd, err := loadSchedCls(dir.prog, dir.name)
		if err != nil {
			t.Fatalf("no 8021q, and the eBPF VLAN emulation does not load: %v", err)
		}
		f := &netlink.BpfFilter{FilterAttrs: netlink.FilterAttrs{LinkIndex: link.Attrs().Index, Parent: dir.parent,
			Handle: netlink.MakeHandle(0, 1), Protocol: unix.ETH_P_ALL, Priority: 0xbd}, Fd: fd, Name: dir.name, DirectAction: true}
		err = h.FilterReplace(f)
		unix.Close(fd)
		if err != nil {
			t.Fatalf("%s: bpf filter: %v", ns.Name, err)
		}
	}
	ns.AddAddr(t, "eth0", cidr)
	return "eth0"
}

// insn encodes struct bpf_insn (linux/bpf.h).
func insn(code, dst, src uint8, off int16, imm int32) []byte {
	b := make([]byte, 8)
	b[0], b[1] = code, dst&0x0f|src<<4
	binary.NativeEndian.PutUint16(b[2:], uint16(off))
	binary.NativeEndian.PutUint32(b[4:], uint32(imm))
	return b
}

const (
	eMov64Imm = 0xb7 // BPF_ALU64 | BPF_MOV | BPF_K
	eAnd64Imm = 0x57 // BPF_ALU64 | BPF_AND | BPF_K
	eLdxW     = 0x61 // BPF_LDX | BPF_MEM | BPF_W
	eJeqImm   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	eJneImm   = 0x55 // BPF_JMP | BPF_JNE | BPF_K
	eCall     = 0x85
	eExit     = 0x95

	skbVlanPresent = 20 // offsetof(struct __sk_buff, vlan_present)
	skbVlanTCI     = 24 // offsetof(struct __sk_buff, vlan_tci)
	funcVlanPush   = 18 // BPF_FUNC_skb_vlan_push
	funcVlanPop    = 19 // BPF_FUNC_skb_vlan_pop
)

// vlanPushProgram: bpf_skb_vlan_push(skb, htons(ETH_P_8021Q), vid); TC_ACT_OK.
func vlanPushProgram(vid uint16) []byte {
	var p []byte
	p = append(p, insn(eMov64Imm, 2, 0, 0, int32(htons16(0x8100)))...)
	p = append(p, insn(eMov64Imm, 3, 0, 0, int32(vid))...)
	p = append(p, insn(eCall, 0, 0, 0, funcVlanPush)...)
	p = append(p, insn(eMov64Imm, 0, 0, 0, 0)...)
	p = append(p, insn(eExit, 0, 0, 0, 0)...)
	return p
}

// vlanPopProgram: drop unless tagged with vid; pop the tag; TC_ACT_OK.
func vlanPopProgram(vid uint16) []byte {
	var p []byte
	p = append(p, insn(eLdxW, 2, 1, skbVlanPresent, 0)...) // r2 = skb->vlan_present
	p = append(p, insn(eJeqImm, 2, 0, 6, 0)...)            // untagged: goto drop
	p = append(p, insn(eLdxW, 2, 1, skbVlanTCI, 0)...)     // r2 = skb->vlan_tci
	p = append(p, insn(eAnd64Imm, 2, 0, 0, 0x0fff)...)     // r2 &= VID mask
	p = append(p, insn(eJneImm, 2, 0, 3, int32(vid))...)   // other VLAN: goto drop
	p = append(p, insn(eCall, 0, 0, 0, funcVlanPop)...)    // pop(skb)
	p = append(p, insn(eMov64Imm, 0, 0, 0, 0)...)          // TC_ACT_OK
	p = append(p, insn(eExit, 0, 0, 0, 0)...)
	p = append(p, insn(eMov64Imm, 0, 0, 0, 2)...) // drop: TC_ACT_SHOT
	p = append(p, insn(eExit, 0, 0, 0, 0)...)
	return p
}

func htons16(x uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], x)
	return binary.NativeEndian.Uint16(b[:])
}

// schedClsAttr is the BPF_PROG_LOAD part of union bpf_attr.
type schedClsAttr struct {
	progType, insnCnt   uint32
	insns, license      uint64
	logLevel, logSize   uint32
	logBuf              uint64
	kernVersion, flags  uint32
	name                [16]byte
	ifindex, attachType uint32
}

func loadSchedCls(prog []byte, name string) (int, error) {
	license := []byte("GPL\x00")
	logBuf := make([]byte, 8192)
	attr := schedClsAttr{progType: unix.BPF_PROG_TYPE_SCHED_CLS, insnCnt: uint32(len(prog) / 8),
		insns: uint64(uintptr(unsafe.Pointer(&prog[0]))), license: uint64(uintptr(unsafe.Pointer(&license[0]))),
		logLevel: 1, logSize: uint32(len(logBuf)), logBuf: uint64(uintptr(unsafe.Pointer(&logBuf[0])))}
	copy(attr.name[:], name)
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(prog)
	runtime.KeepAlive(license)
	runtime.KeepAlive(logBuf)
	if errno != 0 {
		n := 0
		for n < len(logBuf) && logBuf[n] != 0 {
			n++
		}
		return -1, fmt.Errorf("bpf prog load %s: %w: %s", name, errors.Join(errno), logBuf[:n])
	}
	return int(fd), nil
}
