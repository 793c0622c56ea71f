#!/usr/bin/env bash
# Installs what evault needs to build and test, from Debian's packages.
# Idempotent: installs only what is missing. Uses sudo when not root.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git openssh-client coreutils time bsdutils util-linux
      libsodium-dev libssl-dev libzstd-dev zlib1g-dev libgit2-dev libcmocka-dev faketime
      libmagic-dev libmagic-mgc libfuse3-dev fuse3 python3 rsync clang libclang-rt-14-dev)
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
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
