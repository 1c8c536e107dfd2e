#!/bin/sh
# Kernel build benchmark (see kernel-build.ts): cold build, then the cached request.
set -e
cd "$(dirname "$0")/.."
npx tsx bench/kernel-build.ts --kernel "${1:-source-7.2}" --cold
npx tsx bench/kernel-build.ts --kernel "${1:-source-7.2}"
