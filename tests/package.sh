#!/usr/bin/env bash
# The Debian package, as a sysadmin installs it: built from the tree
# (scripts/package.sh), installed with apt-get on this machine, its files
# where Debian looks for them, the demo (scripts/demo.sh) run against the
# installed /usr/bin/evault as root and as an ordinary user, then removed.
# Run by scripts/test.sh once, after the release pass (it installs into
# /usr: root only). Ends with "package: N passed, M failed".
#   EVAULT_BIN=build/evault tests/package.sh
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
export EVAULT_BIN=${EVAULT_BIN:-$SRC/build/evault}
. "$SRC/tests/e2e/lib.sh"
TEST_NAME=package
[ "$(id -u)" -eq 0 ] || { ko "the package test installs into /usr: run it as root"; finish; exit; }
user=evault-demo

cleanup_package() {
	dpkg -s evault >/dev/null 2>&1 && dpkg -r evault >/dev/null 2>&1
	id "$user" >/dev/null 2>&1 && userdel -r "$user" >/dev/null 2>&1
	cleanup_test
}
trap cleanup_package EXIT

expect 0 "scripts/package.sh builds the .deb" "$SRC/scripts/package.sh" "$T/build-pkg"
deb=$(tail -1 "$T/out")
check "  ... named evault_VERSION_ARCH.deb" test -f "$deb" -a "${deb##*/}" = "evault_$("$EVAULT_BIN" --version | cut -d' ' -f2)_$(dpkg --print-architecture).deb"
dpkg-deb -I "$deb" >"$T/control"
check "its control: Depends on the shared libraries and fuse3" \
	bash -c "grep -q '^ Depends:.*libsodium23.*' '$T/control' && grep -q '^ Depends:.*fuse3' '$T/control'"
check "  ... librados2 only suggested" bash -c "grep -q '^ Suggests:.*librados2' '$T/control' && ! grep -q '^ Depends:.*librados' '$T/control'"
dpkg-deb -c "$deb" | awk '{print $6}' >"$T/files"
check "no test or benchmark tool in the package" bash -c "[ \$(grep -c '^./usr/bin/.' '$T/files') -eq 1 ]"

# installed as a sysadmin would: apt-get resolves what it depends on
dpkg -r evault >/dev/null 2>&1
expect 0 "apt-get install ./evault_*.deb" \
	env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb"
check "/usr/bin/evault is the package's" bash -c "dpkg -S /usr/bin/evault | grep -q '^evault:'"
check "man finds evault(1) and evault-mission(1)" bash -c "man -w evault >/dev/null && man -w evault-mission >/dev/null"
check "man evault-mission shows mission close's usage" \
	bash -c "MANWIDTH=200 man evault-mission 2>/dev/null | grep -q 'evault mission close MID \[‐‐dry‐run\] \[‐‐force\]\|evault mission close MID \[--dry-run\] \[--force\]'"
check "the bash completion is installed where bash-completion loads it" \
	bash -c ". /usr/share/bash-completion/completions/evault && complete -p evault | grep -q _evault"
units=$(dpkg -L evault | grep '^\(/usr\)\?/lib/systemd/system/.*\.\(service\|timer\)$' | sort)
check "the retention units are installed ($(echo $units))" \
	bash -c "grep -q evault-retention.service <<<'$units' && grep -q evault-retention.timer <<<'$units'"
check "  ... and run the installed evault" grep -q '^ExecStart=/usr/bin/evault ' /usr/lib/systemd/system/evault-retention.service
expect 0 "  ... systemd-analyze verify accepts them" systemd-analyze verify --man=no $units
check "the docs are in /usr/share/doc/evault" test -f /usr/share/doc/evault/admin.md -a -f /usr/share/doc/evault/cli.md

# the demo against the installed binary, as root
expect 0 "the demo runs on the installed evault as root" \
	env EVAULT=/usr/bin/evault bash "$SRC/scripts/demo.sh" "$T/demo-root"
check "  ... it verified the history and closed the mission" \
	bash -c "grep -q '^OK vault' '$T/out' && grep -q 'demo vault ready' '$T/out'"
check "  ... and used the mount (root may open /dev/fuse)" grep -q 'accepted after the authorisation' "$T/out"

# as an ordinary user, on a machine whose /dev/fuse is open to all, as the
# fuse3 package's udev rule makes it: here a private mount namespace with
# a copy of the device node, mode 0666 (the real one is left alone)
useradd -m -s /bin/bash "$user" >/dev/null 2>&1
home=$(getent passwd "$user" | cut -d: -f6)
cp "$SRC/scripts/demo.sh" "$home/demo.sh" && chown "$user:" "$home/demo.sh"
expect 0 "the demo runs as an ordinary user, /dev/fuse open to users" \
	unshare -m --propagation private bash -c "
		mknod '$T/fuse' c 10 229 && chmod 0666 '$T/fuse' && mount --bind '$T/fuse' /dev/fuse &&
		exec runuser -u '$user' -- env -i HOME='$home' PATH=/usr/bin:/bin bash '$home/demo.sh' '$home/demo'"
check "  ... it verified the history, mounted, and closed the mission" \
	bash -c "grep -q '^OK vault' '$T/out' && grep -q 'accepted after the authorisation' '$T/out'"
check "  ... the vault and the identities belong to the user" \
	bash -c "[ -d '$home/demo/vault/audit.git' ] && [ \$(find '$home/demo' ! -user '$user' | wc -l) -eq 0 ]"
expect 0 "the demo as an ordinary user where /dev/fuse is root's only (mode 0600)" \
	runuser -u "$user" -- env -i HOME="$home" PATH=/usr/bin:/bin bash "$home/demo.sh" "$home/demo"
check "  ... says why the mount part is skipped, and how to allow it" \
	bash -c "grep -q '/dev/fuse is not open to $user' '$T/err' && grep -q 'docs/admin.md' '$T/err'"
check "  ... and does the rest" grep -q '^OK vault' "$T/out"

expect 0 "dpkg -r evault" dpkg -r evault
check "  ... removes the command, pages and units" \
	bash -c "[ ! -e /usr/bin/evault ] && [ ! -e /usr/share/man/man1/evault.1 ] && [ ! -e /usr/lib/systemd/system/evault-retention.timer ]"
finish
