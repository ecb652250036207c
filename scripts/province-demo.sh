#!/usr/bin/env bash
# The province on one machine: a private PostgreSQL as the centre, three copies of the bundled
# example station (each with its daemon airing into a WAV file and its listening `loaxa sync`,
# placed on the map), a khẩn cấp bulletin drafted by an editor, approved by an approver and
# aired at all three, its delivery board printed — and a screenshot of every page of the
# province's console (`loaxa central web`), at 1366×768 and on a phone, taken by headless
# Chromium over WebDriver. Usage: scripts/province-demo.sh [FOLDER]
# (default: target/province-screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup
out="$(realpath -m "${1:-target/province-screenshots}")"
mkdir -p "$out"
LOAXA_SCREENSHOTS="$out" cargo test --test loaxa \
    province::demo_a_centre_and_three_example_stations_with_screenshots -- --ignored --exact --nocapture
ls -1 "$out"
