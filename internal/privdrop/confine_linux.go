package privdrop

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// landlockWrite are the filesystem rights Confine handles (landlock(7)):
// everything that writes, creates, removes or renames. Reading is left alone.
const landlockWrite = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
	unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
	unix.LANDLOCK_ACCESS_FS_MAKE_REG | unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
	unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_MAKE_SYM

// landlockFile are the rights a rule on a file (not a directory) may grant.
const landlockFile = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE

func confine(paths []string) error {
	abi, _, e := syscall.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 {
		return nil // no Landlock in this kernel (ENOSYS) or it is off (EOPNOTSUPP)
	}
	handled := uint64(landlockWrite)
	if abi >= 2 {
		handled |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		handled |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	attr := unix.LandlockRulesetAttr{Handled_access_fs: handled}
	rfd, _, e := syscall.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), 8, 0)
	runtime.KeepAlive(&attr)
	if e != 0 {
		return fmt.Errorf("privdrop: landlock_create_ruleset: %w", e)
	}
	defer unix.Close(int(rfd))
	for _, p := range paths {
		if err := allow(int(rfd), p, handled); err != nil {
			return err
		}
	}
	// landlock_restrict_self(2) needs no_new_privs (or CAP_SYS_ADMIN) and
	// acts on the calling thread: every thread must call it.
	if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); e == syscall.ENOTSUP {
		return nil // linked with cgo: no way to reach every thread; see the doc
	} else if e != 0 {
		return fmt.Errorf("privdrop: PR_SET_NO_NEW_PRIVS: %w", e)
	}
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_LANDLOCK_RESTRICT_SELF, rfd, 0, 0); e != 0 {
		return fmt.Errorf("privdrop: landlock_restrict_self: %w", e)
	}
	return nil
}

// allow adds a rule letting path (a directory: everything beneath it; a
// file: writing it) be written.
func allow(rfd int, path string, handled uint64) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("privdrop: confine to %s: %w", path, &os.PathError{Op: "open", Path: path, Err: err})
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("privdrop: confine to %s: %w", path, err)
	}
	access := handled
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= landlockFile
	}
	rule := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	_, _, e := syscall.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rfd), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
	runtime.KeepAlive(&rule)
	if e != 0 {
		return fmt.Errorf("privdrop: confine to %s: landlock_add_rule: %w", path, e)
	}
	return nil
}
