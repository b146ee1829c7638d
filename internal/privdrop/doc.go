// Package privdrop gives up root after rawlab has opened what needs root,
// as tcpdump -Z and dumpcap do.
//
// A command opens its packet sockets, netlink handles and output files, then
// calls Drop. Run through sudo(8), the process becomes the invoking user
// (SUDO_UID, SUDO_GID and that user's supplementary groups); Config.User
// (-Z USER) names another user. Plain root, without SUDO_UID and without
// -Z, stays root: that is a choice the administrator made, as with tcpdump
// built without a default -Z user.
//
// Capabilities (capabilities(7)): without Config.KeepNetAdmin every
// capability is cleared on every thread, by the uid change itself
// (setresuid(2) from root to non-root with PR_SET_KEEPCAPS unset clears the
// permitted and effective sets; Go applies setresuid, setresgid and
// setgroups to all threads). With KeepNetAdmin, one OS thread keeps
// CAP_NET_ADMIN, in its permitted and effective sets only, through
// PR_SET_KEEPCAPS and capset(2); the others hold nothing. Work that needs
// CAP_NET_ADMIN (netlink address and route changes for --apply's renew and
// release) runs there through WithNetAdmin. Capability sets are per thread
// in Linux and a Go binary linked with cgo cannot set them on all threads
// (syscall.AllThreadsSyscall returns ENOTSUP), hence the one keeper thread.
//
// A binary holding file capabilities (setcap cap_net_raw+ep) run by a
// non-root user has its capabilities cleared on all threads with
// syscall.AllThreadsSyscall(SYS_CAPSET); a binary linked with cgo cannot
// do that, and Drop then fails rather than keep them: build a setcap'd
// binary with CGO_ENABLED=0. FileCapsOnly reports that mode, so that a
// command can refuse what needs a real root (--apply).
//
// PR_SET_NO_NEW_PRIVS (prctl(2)) is set after the drop, on all threads when
// syscall.AllThreadsSyscall is available, otherwise on the calling thread
// and the keeper thread.
package privdrop
