//go:build !unix

package outfile

import (
	"fmt"
	"os"

	"github.com/rawlab/rawlab/internal/privdrop"
)

// create is the portable fallback: without O_NOFOLLOW it checks with Lstat
// and then opens, which leaves a window a local attacker could race.
func create(path string, perm os.FileMode, _ privdrop.Identity) (*os.File, error) {
	if err := check(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, perm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if err == nil {
		err = f.Truncate(0)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func links(os.FileInfo) uint64 { return 1 }

func private(path string, fi os.FileInfo, _ privdrop.Identity) error {
	if !fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s: not a directory", path)
	}
	return nil
}
