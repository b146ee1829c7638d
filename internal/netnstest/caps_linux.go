package netnstest

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// CapCopy copies the executable src into a new directory that every user
// can reach (removed at cleanup) and, when caps is not 0, gives the copy
// those capabilities, permitted and effective, as `setcap CAPS+ep` would
// (security.capability holding struct vfs_cap_data, VFS_CAP_REVISION_2;
// capabilities(7)). caps is a mask of 1<<unix.CAP_*. It returns the copy's
// path. For tests that run a binary as an unprivileged user.
func CapCopy(t testing.TB, src string, caps uint64) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "netnstest-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := copyExecutable(dst, src); err != nil {
		t.Fatalf("netnstest: copy %s: %v", src, err)
	}
	if caps == 0 {
		return dst
	}
	var b [20]byte
	binary.LittleEndian.PutUint32(b[0:], 0x02000000|0x1) // revision 2, effective
	binary.LittleEndian.PutUint32(b[4:], uint32(caps))   // permitted, low word
	binary.LittleEndian.PutUint32(b[12:], uint32(caps>>32))
	if err := unix.Setxattr(dst, "security.capability", b[:], 0); err != nil {
		t.Fatalf("netnstest: file capabilities on %s: %v", dst, err)
	}
	return dst
}

func copyExecutable(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
