#!/usr/bin/env bash
# Installs what evault needs to build and test, from Debian's packages.
# Idempotent: installs only what is missing. Uses sudo when not root.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git openssh-client coreutils time bsdutils util-linux
      libsodium-dev libssl-dev libzstd-dev zlib1g-dev libgit2-dev libcmocka-dev faketime
      libmagic-dev libmagic-mgc libfuse3-dev fuse3 python3 rsync clang libclang-rt-14-dev
      openssh-server ceph-mon ceph-mgr ceph-osd ceph-common librados-dev python3-rados
      man-db systemd)
# man-db renders the manual pages in t0033; systemd is here for
# systemd-analyze: t0032 and tests/package.sh verify dist/systemd offline
# (installing the package does not make it PID 1).
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# openssh-server is here for the end-to-end tests only: each starts its own
# sshd on loopback with its own config (tests/e2e/sshd.sh). The package's
# postinst would start the system's sshd on port 22 (invoke-rc.d runs
# /etc/init.d/ssh where there is no systemd, as in a container) and enable
# ssh.service for the next boot where there is. /etc/ssh/sshd_not_to_be_run
# is Debian's switch read by both the init script (which then exits 0: the
# install does not fail for want of a running sshd) and ssh.service
# (ConditionPathExists), so nothing listens on port 22, now or after a
# reboot. Only on a machine that has no openssh-server yet: one that already
# runs an sshd keeps it. Removing the file turns the system's sshd back on.
if [[ " ${missing[*]} " == *" openssh-server "* ]]; then
	$SUDO mkdir -p /etc/ssh
	$SUDO touch /etc/ssh/sshd_not_to_be_run
fi
# Ceph's daemons are here for the RADOS store (librados-dev) and its
# end-to-end tests only: each test that needs a cluster starts its own
# monitor, manager and OSD on loopback, with its own ceph.conf and keys under
# its temporary directory (tests/e2e/ceph.sh). The packages make a user
# ceph, /etc/ceph (no ceph.conf, an empty rbdmap), /var/lib/ceph and
# /var/log/ceph, and start no daemon where there is no systemd: they have no
# init script. Where systemd runs, their postinsts enable and start
# ceph.target, which pulls ceph-crash.service (a daemon, restarted for
# ever, watching /var/lib/ceph/crash) and rbdmap.service (maps the RBD
# images listed in /etc/ceph/rbdmap); ceph-mon.target, ceph-mgr.target and
# ceph-osd.target start nothing, as no instance (ceph-mon@ID...) is
# enabled. Both units are masked beforehand (a link to /dev/null, which
# the postinsts' deb-systemd-helper unmask leaves, as it did not make it),
# so that nothing of Ceph runs system-wide, now or after a reboot. Only on
# a machine that has no Ceph yet. ceph-osd also adds
# /etc/sysctl.d/30-ceph-osd.conf (a larger fs.aio-max-nr and
# kernel.pid_max), read at the next boot only.
if [[ " ${missing[*]} " == *" ceph-osd "* ]] && ! dpkg-query -W -f='${Status}' ceph-base 2>/dev/null | grep -q "install ok installed"; then
	$SUDO mkdir -p /etc/systemd/system
	for unit in ceph-crash.service rbdmap.service; do
		[ -e "/etc/systemd/system/$unit" ] || $SUDO ln -s /dev/null "/etc/systemd/system/$unit"
	done
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
