#!/usr/bin/env bash
# Saves a screenshot of every page of the console (`loaxa web`), at 1366×768 and on a phone,
# on a copy of the bundled example station airing its rehearsal: headless Chromium over
# WebDriver, as the console's tests drive it. Usage: scripts/console-screenshots.sh [FOLDER]
# (default: target/console-screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup
out="$(realpath -m "${1:-target/console-screenshots}")"
mkdir -p "$out"
LOAXA_SCREENSHOTS="$out" cargo test --test loaxa browser::screenshots_of_every_page -- --ignored --exact
ls -1 "$out"
