// Package outfile creates the files rawlab writes (captures, rotated
// captures, lease pcaps, the lab's run directory) the way dumpcap does:
//
//   - the final path component is opened with O_NOFOLLOW, so a symlink
//     planted at the output path is refused, not followed (open(2), ELOOP);
//   - only a regular file or a FIFO is accepted; an existing regular file is
//     truncated only after fstat(2) has shown it is one, and only if it has a
//     single link (a hard link planted to another file is refused);
//   - the mode is 0600 unless the caller asks for another;
//   - run as root through sudo(8), the file is owned by the invoking user
//     (SUDO_UID/SUDO_GID), not by root.
//
// Check validates a path without creating anything, so a command can refuse
// a bad output path before it sends a frame.
package outfile
