#!/usr/bin/env bash
# Regenerates internal/oui/oui.txt, the OUI table embedded in rawlab, from the
# `oui-data` package on the npm registry (silverwind/oui-data, BSD-2-Clause),
# a maintained JSON copy of the IEEE MA-L, MA-M and MA-S registries.
#
#   scripts/gen-oui.sh            # latest version
#   scripts/gen-oui.sh 2.1.9      # a given version
#
# Needs npm and node. The output is arp-scan's ieee-oui.txt format (one
# `PREFIX<TAB>Vendor` line per assignment, PREFIX 6, 7 or 9 hex digits,
# sorted), with a header naming the source, version and date, so that the
# table is searched in place by binary search and costs nothing at start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-latest}"
out=internal/oui/oui.txt
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "oui-data@$version" >/dev/null)
tar -xzf "$tmp"/oui-data-*.tgz -C "$tmp"
pkg="$tmp/package"
ver="$(node -p "require('$pkg/package.json').version")"
lic="$(node -p "require('$pkg/package.json').license")"
published="$(npm view "oui-data@$ver" "time[$ver]" 2>/dev/null || echo unknown)"

node - "$pkg/index.json" "$ver" "$lic" "$published" >"$out.tmp" <<'JS'
const fs = require("fs");
const [file, ver, lic, published] = process.argv.slice(2);
const data = JSON.parse(fs.readFileSync(file, "utf8"));
const lines = [];
for (const [k, v] of Object.entries(data)) {
  const key = k.toUpperCase();
  if (!/^[0-9A-F]{6,12}$/.test(key)) continue;
  // The first line of the registry entry is the organization's name.
  const name = String(v).split("\n")[0].replace(/[\t\r]/g, " ").replace(/\s+/g, " ").trim();
  if (name) lines.push(key + "\t" + name);
}
lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const today = new Date().toISOString().slice(0, 10);
process.stdout.write(
  "# rawlab OUI table: IEEE MA-L, MA-M and MA-S assignments (first line of the organization name).\n" +
  `# Source: npm package oui-data ${ver} (https://www.npmjs.com/package/oui-data, https://github.com/silverwind/oui-data), license ${lic}, published ${published}.\n` +
  `# Generated ${today} by scripts/gen-oui.sh; ${lines.length} entries. Format: arp-scan's ieee-oui.txt (PREFIX<TAB>Vendor), sorted.\n` +
  lines.join("\n") + "\n");
JS
mv "$out.tmp" "$out"
echo "wrote $out: $(grep -vc '^#' "$out") entries from oui-data $ver ($published)"
