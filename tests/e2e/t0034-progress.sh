#!/usr/bin/env bash
# The progress line of long work: drawn on standard error when it is a
# terminal (script(1) gives the command one), erased at the end, and never
# written into a pipe, a file or a log.
. "$(dirname "$0")/lib.sh"
standard_vault
head -c $((16 << 20)) /dev/urandom >"$T/big"
as bob put "$T/big" M-1/dossier/big >/dev/null || ko "put of the test file"
ev="$EVAULT_BIN --identity $T/bob.id --passphrase-file $T/bob.pass"

# a reader that waits 1.5 s before reading: the work lasts past the half
# second after which the line appears
slow_reader="{ sleep 1.5; cat; }"
# a writer that sends 8 MiB, pauses 1.5 s, sends 8 MiB more
slow_writer="{ head -c 8388608 /dev/urandom; sleep 1.5; head -c 8388608 /dev/urandom; }"

in_tty() { # COMMAND-LINE: run under script(1); the terminal's bytes in $T/tty
	script -qec "$1" /dev/null </dev/null >"$T/tty" 2>&1
}

in_tty "$ev get M-1/dossier/big - | $slow_reader > $T/got"
check "get on a terminal draws its progress with the size and the share done" \
	grep -aq 'get: .* of 16.0 MiB, [0-9]*%' "$T/tty"
check "  ... and erases it at the end (\\r, erase to the end of line)" \
	bash -c "tail -c 8 '$T/tty' | od -c | grep -q '\\\\r 033   \\[   K'"
check "  ... the file's bytes are untouched by it" cmp -s "$T/big" "$T/got"

in_tty "$slow_writer | $ev put - M-1/work/stream.bin"
check "put from a pipe (size unknown) draws the bytes so far" grep -aq 'put: [0-9.]* MiB' "$T/tty"
check "  ... and the line is erased before the stored path is printed" \
	bash -c "tr '\\r' '\\n' <'$T/tty' | grep -a 'M-1/work/stream.bin' | grep -qv 'put:'"

# not a terminal: nothing but the command's own output
$EVAULT_BIN --identity "$T/bob.id" --passphrase-file "$T/bob.pass" get M-1/dossier/big - 2>"$T/err" |
	{ sleep 1.5; cat >/dev/null; }
check "get with standard error in a file: no progress written there" test ! -s "$T/err"
eval "$slow_writer" | as bob put -f - M-1/work/stream.bin >/dev/null 2>"$T/err"
check "put with standard error in a file: no progress written there" test ! -s "$T/err"
in_tty "TERM=dumb $ev get M-1/dossier/big - | $slow_reader > /dev/null"
check "TERM=dumb: no progress line" bash -c "! grep -aq 'get:' '$T/tty'"

# an error after progress: the line is erased, the error stands alone
in_tty "$slow_writer | $ev put - M-1/work/stream.bin"
check "an error after a progress line: the line erased first, the error alone" \
	bash -c "grep -aq 'put: ' '$T/tty' && grep -aq \$'\\r\\033\\[Kevault: .*exists' '$T/tty'"
finish
