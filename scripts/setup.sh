#!/usr/bin/env bash
# One command for a newcomer: install what is needed, build, and run the
# main job on a demo vault created under ./demo/ (scripts/demo.sh: init, a
# technician, a mission, a put and a get, the vault mounted as a folder
# with the photo rule at work, the code marked and the mission closed with
# its erasure certificate, the signed log verified with stock git).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
EVAULT=$PWD/build/evault exec scripts/demo.sh "$PWD/demo"
