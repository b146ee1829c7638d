//go:build unix

package outfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/rawlab/rawlab/internal/privdrop"
	"golang.org/x/sys/unix"
)

func create(path string, perm os.FileMode, owner privdrop.Identity) (*os.File, error) {
	// No O_TRUNC: what the path names is checked with fstat before anything
	// is truncated (open(2): O_NOFOLLOW fails with ELOOP on a symlink).
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm))
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%s: %w", path, ErrSymlink)
		}
		if errors.Is(err, unix.EISDIR) {
			return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if err := prepare(f, path, perm, owner); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func prepare(f *os.File, path string, perm os.FileMode, owner privdrop.Identity) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return nil
	case unix.S_IFREG:
	default:
		return fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if st.Nlink > 1 {
		return fmt.Errorf("%s: %w", path, ErrLinked)
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if os.Geteuid() == 0 && (owner.UID >= 0 || owner.GID >= 0) {
		if err := f.Chown(owner.UID, owner.GID); err != nil {
			return err
		}
	}
	return nil
}

func links(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// private checks an existing directory for MkdirPrivate.
func private(path string, fi os.FileInfo, owner privdrop.Identity) error {
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s: %w", path, ErrSymlink)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", path)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner", path)
	}
	if int(st.Uid) != os.Geteuid() && int(st.Uid) != owner.UID {
		return fmt.Errorf("%s: owned by uid %d, not by this user", path, st.Uid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s: writable by group or others (mode %#o)", path, fi.Mode().Perm())
	}
	return nil
}
