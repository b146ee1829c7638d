package privdrop

import (
	"os"
	"testing"
)

func TestInvoker(t *testing.T) {
	for _, tt := range []struct {
		name, uid, gid string
		want           Identity
		ok             bool
	}{
		{"sudo", "1000", "1001", Identity{UID: 1000, GID: 1001}, true},
		{"no sudo", "", "", Identity{}, false},
		{"sudo from root", "0", "0", Identity{}, false},
		{"garbage", "x", "1", Identity{}, false},
		{"gid missing", "1000", "", Identity{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SUDO_UID", tt.uid)
			t.Setenv("SUDO_GID", tt.gid)
			got, ok := Invoker()
			if os.Geteuid() != 0 {
				if ok {
					t.Errorf("Invoker() = %v, true for a non-root process", got)
				}
				return
			}
			if ok != tt.ok || got.UID != tt.want.UID || got.GID != tt.want.GID {
				t.Errorf("Invoker() = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestResolveNumeric(t *testing.T) {
	// 4242424 has no passwd entry on any sane machine: its own group.
	id, ok, err := Resolve("4242424")
	if err != nil || !ok || id.UID != 4242424 || id.GID != 4242424 || len(id.Groups) != 0 {
		t.Errorf("Resolve(4242424) = %+v, %v, %v", id, ok, err)
	}
	if _, _, err := Resolve("no-such-user-rawlab"); err == nil {
		t.Error("Resolve(unknown name) succeeded")
	}
}
