package privdrop

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// Config says whom to become and what to keep.
type Config struct {
	// User is the user to become (-Z): a name or a numeric uid. Empty
	// means the invoking user from SUDO_UID and SUDO_GID.
	User string
	// KeepNetAdmin keeps CAP_NET_ADMIN, on one thread reached through
	// WithNetAdmin, for netlink changes made after the drop.
	KeepNetAdmin bool
}

// Identity is a user to become.
type Identity struct {
	UID, GID int
	// Groups are the supplementary group ids; none when the user has no
	// entry in the user database.
	Groups []int
}

// ErrNotRoot reports a Config.User that differs from the current user in a
// process that cannot change user.
var ErrNotRoot = errors.New("privdrop: changing user needs root")

// Drop gives up root as Config says. It is a no-op (nil) when the process
// holds neither root nor a capability, and when it runs as plain root with
// no SUDO_UID and no Config.User. Call it once, after opening sockets,
// netlink handles and files, before reading anything from the network.
func Drop(cfg Config) error {
	return drop(cfg)
}

// WithNetAdmin runs fn with CAP_NET_ADMIN effective: on the keeper thread
// after a Drop with KeepNetAdmin, or directly otherwise (the process is
// still what it was, root or not).
func WithNetAdmin(fn func() error) error {
	return withNetAdmin(fn)
}

// FileCapsOnly reports whether the process runs with capabilities from the
// binary's file capabilities while its real uid is not root: the setcap
// install. Commands refuse what needs root's judgement (--apply) then.
func FileCapsOnly() bool {
	return fileCapsOnly()
}

// Invoker returns the user that ran rawlab through sudo: SUDO_UID and
// SUDO_GID when the effective uid is 0 and both parse as non-root ids.
// Supplementary groups are not looked up here (see Resolve).
func Invoker() (Identity, bool) {
	if os.Geteuid() != 0 {
		return Identity{}, false
	}
	uid, err1 := strconv.Atoi(os.Getenv("SUDO_UID"))
	gid, err2 := strconv.Atoi(os.Getenv("SUDO_GID"))
	if err1 != nil || err2 != nil || uid <= 0 || gid < 0 {
		return Identity{}, false
	}
	return Identity{UID: uid, GID: gid}, true
}

// Resolve returns the identity Drop would become for name (-Z), or the
// invoking user when name is empty, with supplementary groups. ok is false
// when there is nobody to become (not root, or plain root without sudo).
func Resolve(name string) (id Identity, ok bool, err error) {
	if name == "" {
		id, ok = Invoker()
		if !ok {
			return Identity{}, false, nil
		}
		if u, err := user.LookupId(strconv.Itoa(id.UID)); err == nil {
			id.Groups = groups(u)
		}
		return id, true, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		n, nerr := strconv.Atoi(name)
		if nerr != nil || n < 0 {
			return Identity{}, false, fmt.Errorf("privdrop: user %q: %w", name, err)
		}
		u, err = user.LookupId(name)
		if err != nil {
			// A numeric uid with no entry: its own group, no others.
			return Identity{UID: n, GID: n}, true, nil
		}
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return Identity{}, false, fmt.Errorf("privdrop: user %q: uid %q", name, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return Identity{}, false, fmt.Errorf("privdrop: user %q: gid %q", name, u.Gid)
	}
	return Identity{UID: uid, GID: gid, Groups: groups(u)}, true, nil
}

func groups(u *user.User) []int {
	ids, err := u.GroupIds()
	if err != nil {
		return nil
	}
	var out []int
	for _, s := range ids {
		if g, err := strconv.Atoi(s); err == nil {
			out = append(out, g)
		}
	}
	return out
}

// Confine lets the process write only to paths from now on: each a
// directory (anything beneath it may be created, written or removed) or a
// file (it may be written). Reading is not restricted. It uses Landlock
// (landlock(7)) and sets PR_SET_NO_NEW_PRIVS; it is a quiet no-op (nil)
// where the kernel lacks Landlock or has it off, and in a binary linked
// with cgo, where the rule cannot reach every thread. Call it after Drop,
// once every output file that will ever be created has its directory
// among paths.
func Confine(paths []string) error {
	return confine(paths)
}
