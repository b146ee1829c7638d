package outfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rawlab/rawlab/internal/privdrop"
)

// DefaultPerm is the mode of a file created with perm 0: readable and
// writable by its owner only, as dumpcap creates captures.
const DefaultPerm os.FileMode = 0o600

// ErrNotRegular reports an output path that exists and is neither a regular
// file nor a FIFO (a directory, a device, a socket).
var ErrNotRegular = errors.New("not a regular file or FIFO")

// ErrSymlink reports an output path whose final component is a symbolic link.
var ErrSymlink = errors.New("is a symbolic link")

// ErrLinked reports an existing regular file with more than one hard link.
var ErrLinked = errors.New("has more than one hard link")

// Create opens path for writing, creating it with perm (0 means 0600) if it
// does not exist. It refuses a symlink at the final component, a directory
// or anything else that is not a regular file or a FIFO, and a regular file
// with several hard links. An existing regular file is truncated and given
// perm. Run as root through sudo, the file is chowned to the invoking user
// (see privdrop.Invoker). Like dumpcap, opening a FIFO waits until a
// reader has opened it.
func Create(path string, perm os.FileMode) (*os.File, error) {
	owner, ok := privdrop.Invoker()
	if !ok {
		owner = privdrop.Identity{UID: -1, GID: -1}
	}
	return CreateFor(path, perm, owner)
}

// CreateFor is Create with an explicit owner for the new file, for a command
// that will drop to another user (privdrop.Resolve of -Z USER). A negative
// UID or GID leaves that part of the ownership alone. The owner is applied
// only when the process runs as root.
func CreateFor(path string, perm os.FileMode, owner privdrop.Identity) (*os.File, error) {
	if path == "" {
		return nil, errors.New("outfile: empty path")
	}
	if perm == 0 {
		perm = DefaultPerm
	}
	f, err := create(path, perm.Perm(), owner)
	if err != nil {
		return nil, fmt.Errorf("outfile: %w", err)
	}
	return f, nil
}

// Check reports whether Create could create or open path, without creating
// anything: the parent must exist and be a directory; the final component,
// if it exists, must not be a symlink and must be a regular file with one
// link or a FIFO.
func Check(path string) error {
	if path == "" {
		return errors.New("outfile: empty path")
	}
	if err := check(path); err != nil {
		return fmt.Errorf("outfile: %w", err)
	}
	return nil
}

func check(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case err == nil:
		return acceptable(path, fi)
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	if len(path) > 0 && os.IsPathSeparator(path[len(path)-1]) {
		return fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !di.IsDir() {
		return fmt.Errorf("%s: parent %s is not a directory", path, dir)
	}
	return nil
}

// acceptable reports whether an existing final component may be written.
func acceptable(path string, fi os.FileInfo) error {
	switch m := fi.Mode(); {
	case m&os.ModeSymlink != 0:
		return fmt.Errorf("%s: %w", path, ErrSymlink)
	case m&os.ModeNamedPipe != 0:
		return nil
	case !m.IsRegular():
		return fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if links(fi) > 1 {
		return fmt.Errorf("%s: %w", path, ErrLinked)
	}
	return nil
}

// MkdirTemp creates a new private directory (mode 0700) in dir (os.TempDir
// when dir is empty) as os.MkdirTemp does, owned by the invoking user when
// run as root through sudo. The caller removes it.
func MkdirTemp(dir, pattern string) (string, error) {
	name, err := os.MkdirTemp(dir, pattern)
	if err != nil {
		return "", fmt.Errorf("outfile: %w", err)
	}
	if owner, ok := privdrop.Invoker(); ok && os.Geteuid() == 0 {
		if err := os.Lchown(name, owner.UID, owner.GID); err != nil {
			os.Remove(name)
			return "", fmt.Errorf("outfile: %w", err)
		}
	}
	return name, nil
}

// MkdirPrivate makes sure path is a private directory of the calling
// user: it creates it (mode 0700, parents 0755 as needed) or accepts an
// existing one only if it is a real directory (not a symlink), owned by the
// effective uid, and writable by nobody else. It then chowns it to owner
// when owner's UID is not negative and the process runs as root.
func MkdirPrivate(path string, owner privdrop.Identity) error {
	if path == "" {
		return errors.New("outfile: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("outfile: %w", err)
	}
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("outfile: %w", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("outfile: %w", err)
	}
	if err := private(path, fi, owner); err != nil {
		return fmt.Errorf("outfile: %w", err)
	}
	if owner.UID >= 0 && os.Geteuid() == 0 {
		if err := os.Lchown(path, owner.UID, owner.GID); err != nil {
			return fmt.Errorf("outfile: %w", err)
		}
	}
	return nil
}
