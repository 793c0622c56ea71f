#!/usr/bin/env bash
# The demo of scripts/setup.sh, on its own: runs the main job of evault on
# a new demo vault in DIR (made anew), with the evault named by $EVAULT
# (default: the one on the PATH, as installed by the package).
#   scripts/demo.sh DIR
set -euo pipefail
ev=${EVAULT:-$(command -v evault || true)}
[ -n "$ev" ] && [ -x "$ev" ] || { echo "demo: no evault (set EVAULT or install it)" >&2; exit 2; }
[ $# -eq 1 ] || { echo "usage: scripts/demo.sh DIR" >&2; exit 2; }
mkdir -p "$1"
demo=$(cd "$1" && pwd)
# made anew: only an empty directory or an earlier demo's
if [ -n "$(ls -A "$demo")" ] && [ ! -f "$demo/alice.pass" ]; then
	echo "demo: $demo is not empty and holds no earlier demo" >&2
	exit 2
fi
[ -d "$demo/Vault" ] && { fusermount3 -u "$demo/Vault" 2>/dev/null || true; }
find "$demo" -mindepth 1 -delete
chmod 700 "$demo"
# Demo passphrases in files so the demo runs unattended; real users type
# theirs at the prompt (see README).
printf 'demo passphrase for alice\n' >"$demo/alice.pass"
printf 'demo passphrase for bob\n' >"$demo/bob.pass"
export EVAULT_REPO=$demo/vault
alice() { echo "\$ evault $*    # as alice (admin)" >&2; "$ev" --identity "$demo/alice.id" --passphrase-file "$demo/alice.pass" "$@"; }
bob() { echo "\$ evault $*    # as bob (technician)" >&2; "$ev" --identity "$demo/bob.id" --passphrase-file "$demo/bob.pass" "$@"; }
alice init --admin alice
bob identity new --name bob >"$demo/bob.pub"
alice user add bob --role technician --pubkey "$(cat "$demo/bob.pub")"
alice mission create M-2026-0042 --client "Demo client" --site "Demo site" --member bob \
	--dossier-due "$(date -u -d "+14 days" +%Y-%m-%d)"
printf 'Intervention report: alarm panel serviced, all zones tested.\n' >"$demo/rapport.txt"
bob put "$demo/rapport.txt" M-2026-0042/dossier/
echo "code 4711 for the side door, to rotate at the end" | bob put - M-2026-0042/codes/side-door.txt
printf 'draft notes\n' | bob put - M-2026-0042/work/notes.txt
# the technician's everyday folder: the vault mounted (FUSE), plaintext only in memory
if [ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] && command -v fusermount3 >/dev/null; then
	mkdir -p "$demo/Vault"
	bob mount "$demo/Vault"
	echo "\$ ls $demo/Vault/M-2026-0042; cat .mission; cp notes into work/" >&2
	ls -l "$demo/Vault/M-2026-0042"
	cat "$demo/Vault/M-2026-0042/.mission"
	printf 'site notes written through the mount\n' >"$demo/Vault/M-2026-0042/work/site-notes.txt"
	printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00' >"$demo/photo.jpg"
	head -c 4096 /dev/urandom >>"$demo/photo.jpg"
	cp "$demo/photo.jpg" "$demo/Vault/M-2026-0042/dossier/" 2>&1 || echo "(refused: no written photo authorisation yet)"
	alice mission authorize-photos M-2026-0042 --by "Demo client, site manager" --ref "letter 2026-11-20" --scope "alarm panel"
	sleep 2
	cp "$demo/photo.jpg" "$demo/Vault/M-2026-0042/dossier/" && echo "(accepted after the authorisation)"
	bob umount "$demo/Vault"
else
	if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
		echo "(no /dev/fuse or no fusermount3 here: the mount part of the demo is skipped)" >&2
	else
		echo "(/dev/fuse is not open to $(id -un): the mount part of the demo is skipped;" \
			"docs/admin.md, \"FUSE\", says how to allow it)" >&2
	fi
fi
bob ls -l M-2026-0042/dossier
bob get M-2026-0042/dossier/rapport.txt
bob log
bob codes mark M-2026-0042/codes/side-door.txt --rotated
alice mission close M-2026-0042
alice mission certificate M-2026-0042
# the dossier handed over to the client: files, SHA-256 list, signed statement
alice dossier handover M-2026-0042 --to "Demo client, site manager" --out "$demo/dossier-M-2026-0042"
echo "\$ (cd dossier-M-2026-0042 && sha256sum -c SHA256SUMS && ssh-keygen -Y verify …)" >&2
(cd "$demo/dossier-M-2026-0042" && sha256sum -c SHA256SUMS &&
	ssh-keygen -Y verify -f allowed_signers -I alice -n evault-dossier -s statement.txt.sig <statement.txt)
echo "\$ evault dossier verify $demo/dossier-M-2026-0042" >&2
"$ev" dossier verify "$demo/dossier-M-2026-0042"
# a mission the company refuses: in the register, the client sealed to admins
bob mission refuse --client "Other demo client" --reason employee-surveillance
bob mission refusals
alice report indicators --year "$(date -u +%Y)"
echo "\$ evault audit allowed-signers > allowed-signers; git log --show-signature" >&2
"$ev" audit allowed-signers >"$demo/allowed-signers"
git -C "$EVAULT_REPO/audit.git" -c gpg.format=ssh \
	-c gpg.ssh.allowedSignersFile="$demo/allowed-signers" log --show-signature --format='%h %s'
echo "\$ evault audit verify --objects" >&2
"$ev" audit verify --objects
echo "\$ evault fsck --full" >&2
"$ev" fsck --full
echo
echo "demo vault ready: export EVAULT_REPO=$EVAULT_REPO"
