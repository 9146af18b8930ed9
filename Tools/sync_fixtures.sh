#!/usr/bin/env bash
# Re-copies the shared reference fixtures (../shared/fixtures, README included) into
# Tests/Fixtures/reference, so that a fresh clone's `make test` is self-contained.
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:-../shared/fixtures}"
[ -f "$src/README.md" ] || { echo "no fixture set at $src" >&2; exit 1; }
rm -rf Tests/Fixtures/reference
mkdir -p Tests/Fixtures
cp -r "$src" Tests/Fixtures/reference
chmod -R u+w Tests/Fixtures/reference
echo "synced $(find Tests/Fixtures/reference -name manifest.json | wc -l) model folders from $src"
