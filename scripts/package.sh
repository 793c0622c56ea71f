#!/usr/bin/env bash
# Builds the Debian package of evault (CPack) in DIR (default build-pkg/),
# installed under /usr: the command, its manual pages, the bash completion,
# the retention timer's systemd units and the docs. Prints the .deb's path.
#   scripts/package.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-pkg}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
cmake -S . -B "$dir" -DEVAULT_WERROR=ON -DEVAULT_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$dir" -j"$(nproc)" --target evault-cli man -- --no-print-directory >/dev/null
dir=$(cd "$dir" && pwd)
rm -f "$dir"/evault_*.deb
(cd "$dir" && cpack -G DEB >/dev/null)
ls "$dir"/evault_*.deb
