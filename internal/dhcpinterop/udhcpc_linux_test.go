package dhcpinterop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReferenceClient checks the servers' configurations with a reference
// client, busybox udhcpc: when it passes and a rawlab test fails, rawlab is
// at fault, not the server set-up.
func TestReferenceClient(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			e := newEnv(t, s)
			out := filepath.Join(e.dir, "udhcpc.env")
			script := filepath.Join(e.dir, "udhcpc.sh")
			writeFile(t, script, `#!/bin/sh
[ "$1" = bound ] || exit 0
for v in ip subnet router dns domain lease search staticroutes serverid; do
	eval "echo $v=\$$v"
done >`+out+"\n")
			if err := os.Chmod(script, 0o755); err != nil {
				t.Fatal(err)
			}
			e.client.Exec(t, "busybox", "udhcpc", "-i", "rl0", "-q", "-n", "-f", "-t", "5", "-T", "1",
				"-O", "search", "-O", "staticroutes", "-s", script)
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("udhcpc ran no bound script: %v", err)
			}
			got := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				k, v, _ := strings.Cut(line, "=")
				got[k] = strings.TrimSpace(v)
			}
			ip, _ := e.held(t)
			if !inPool(ip) {
				t.Fatalf("%s's lease database gives %s the address %q, want one in %s-%s", s.name, clientMAC, ip, poolStart, poolEnd)
			}
			want := map[string]string{
				"ip": ip, "subnet": mask, "router": serverIP, "dns": dnsIP, "domain": domain,
				"lease": "600", "search": domain + " rawlab.test", "serverid": serverIP,
				"staticroutes": "198.19.0.0/16 " + serverIP + " 0.0.0.0/0 " + serverIP,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("udhcpc's view of the lease (-want +got):\n%s", diff)
			}
		})
	}
}
