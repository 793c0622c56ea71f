#!/usr/bin/env bash
# Checks that the engine's layers only call down (docs/architecture.md,
# "Layers"). Reads the #include "..." lines of vaultd/, fusefs/ and cli/
# and reports:
#   upward     a file includes the header of a module in a higher layer;
#   circle     two modules of one layer include each other's headers;
#   front end  cli/ includes more than the public headers, or fusefs/ an
#              engine header that is not in the mount's interface, or a
#              front end names a state write (it writes through files.h);
#   public     a public header (vaultd/include/) includes a private one.
# Each finding not listed in EXCEPTIONS below fails the check (exit 1).
#
#   scripts/layers.sh [ROOT]         the check (ROOT: the source tree, default this one)
#   scripts/layers.sh --all [ROOT]   every finding, exceptions included, and the counts
set -euo pipefail
all=0
if [ "${1:-}" = "--all" ]; then
	all=1
	shift
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# Layers, bottom up: a module (NAME.c and its header) calls only modules of
# its own layer or of lower ones. Keep in step with docs/architecture.md.
LAYERS='
0 base        error util secret names config
1 keys        sshkey identity keystore backend backend_rados chunk manifest pipeline
2 history     state repo layout mounts histpack
3 records     user mission policy device
4 rules       content
5 operations  init file import log close dossier maint missionops userops deviceops migrate refusal
6 verifier    verify verify_walk verify_rules verify_files verify_missions verify_close verify_devices verify_refusals verify_state checkpoint trust bundle show report gitcache packscan
7 remote      proto histxfer serve sync
8 front-ends  cli fusefs
'
# Headers named otherwise than their module.
ALIASES='files:file'
# The engine headers the mount may include (docs/architecture.md, "What the
# mount uses of the engine").
MOUNT_USES='backend chunk content files layout manifest mission mounts names repo state util'
# The documented exceptions: FILE HEADER, and why.
EXCEPTIONS='
vaultd/state.c trust.h    every head the history layer loads is verified first (trust.h, implemented by the verifier)
vaultd/state.c repo.h     the handle and its transaction are one unit: state reads the handle, repo opens the history
'

find_includes() { # FILE: the project headers it includes, one a line
	sed -n 's/^#include "\([^"]*\)".*/\1/p' "$1"
}

files=$(ls vaultd/*.c vaultd/*.h fusefs/*.c fusefs/*.h cli/*.c cli/*.h vaultd/include/evault.h \
	vaultd/include/evault/*.h 2>/dev/null)
{
	printf 'LAYERS\n%s\nALIASES %s\nMOUNT %s\nEXCEPTIONS\n%s\nINCLUDES\n' "$LAYERS" "$ALIASES" \
		"$MOUNT_USES" "$EXCEPTIONS"
	for f in $files; do
		for h in $(find_includes "$f"); do
			echo "$f $h"
		done
	done
	echo WRITES
	grep -nE '\b(state_put|state_remove|state_commit|git_[a-z_]+)\(' cli/*.c fusefs/*.c || true
} | awk -v all="$all" '
function module_of(path,   b) { # vaultd/x.c -> x; fusefs/... -> fusefs; cli/... -> cli
	if (path ~ /^fusefs\//) return "fusefs"
	if (path ~ /^cli\//) return "cli"
	b = path; sub(/.*\//, "", b); sub(/\.[ch]$/, "", b)
	return (b in alias) ? alias[b] : b
}
function report(kind, file, hdr, text) {
	key = file " " hdr
	if (key in exc) {
		used[key] = 1
		nexc++
		if (all) printf "%-9s %s (documented: %s)\n", kind, text, exc[key]
		return
	}
	nbad++
	printf "%-9s %s\n", kind, text
}
/^LAYERS$/ { sec = "L"; next }
/^ALIASES / { for (i = 2; i <= NF; i++) { split($i, a, ":"); alias[a[1]] = a[2] } next }
/^MOUNT / { for (i = 2; i <= NF; i++) mount[$i] = 1; next }
/^EXCEPTIONS$/ { sec = "E"; next }
/^INCLUDES$/ { sec = "I"; next }
/^WRITES$/ { sec = "W"; next }
NF == 0 { next }
sec == "L" { for (i = 3; i <= NF; i++) { layer[$i] = $1; lname[$1] = $2 } next }
sec == "E" { r = $3; for (i = 4; i <= NF; i++) r = r " " $i; exc[$1 " " $2] = r; next }
sec == "W" { report("front end", "", "", $0 ": the mount writes the history through files.h only"); next }
sec == "I" {
	f = $1; h = $2
	if (f ~ /^vaultd\/include\//) {
		if (h != "evault.h" && h !~ /^evault\//)
			report("public", f, h, f " includes the private " h)
		next
	}
	if (h == "evault.h" || h ~ /^evault\//) next
	m = module_of(f)
	if (m == "cli") {
		# its own headers (cli.h, help.h, json.h), and mount.h
		if ((getline dummy < ("cli/" h)) > 0) { close("cli/" h); next }
		if (h != "mount.h")
			report("front end", f, h, f " includes " h ": the command line uses the public headers")
		next
	}
	if (m == "fusefs") {
		if ((getline dummy < ("fusefs/" h)) > 0) { close("fusefs/" h); next }
		b = h; sub(/\.h$/, "", b)
		if (!(b in mount))
			report("front end", f, h, f " includes " h ", which is not in the mount interface")
		next
	}
	t = h; sub(/\.h$/, "", t); t = (t in alias) ? alias[t] : t
	if (!(m in layer)) { report("unknown", f, h, f ": module " m " is in no layer"); next }
	if (!(t in layer)) { report("unknown", f, h, f " includes " h ": module " t " is in no layer"); next }
	if (layer[t] > layer[m]) {
		report("upward", f, h, f " (" lname[layer[m]] ") includes " h " (" lname[layer[t]] ")")
		nup++
	} else if (layer[t] == layer[m] && t != m) {
		edge[m " " t] = edge[m " " t] ? edge[m " " t] : f " " h
	}
}
END {
	for (e in edge) {
		split(e, p, " ")
		if ((p[2] " " p[1]) in edge && p[1] < p[2]) {
			split(edge[e], fa, " ")
			split(edge[p[2] " " p[1]], fb, " ")
			if (((fa[1] " " fa[2]) in exc)) {
				report("circle", fa[1], fa[2], p[1] " and " p[2] " include each other (" edge[e] ", " edge[p[2] " " p[1]] ")")
			} else {
				report("circle", fb[1], fb[2], p[1] " and " p[2] " include each other (" edge[e] ", " edge[p[2] " " p[1]] ")")
			}
			ncircle++
		}
	}
	for (k in exc)
		if (!(k in used)) {
			printf "stale     exception %s no longer happens: remove it\n", k
			nbad++
		}
	printf "layers: %d upward include%s, %d circle%s; %d documented exception%s; %d not allowed\n",
		nup, nup == 1 ? "" : "s", ncircle, ncircle == 1 ? "" : "s", nexc, nexc == 1 ? "" : "s", nbad
	exit nbad ? 1 : 0
}'
