#!/usr/bin/env bash
# Renders the commune report of a simulated month (tests/report.rs) in every format, and the
# HTML page in headless Chromium to a PNG and an A4 PDF, so a person can look at what the
# operator prints. Output: target/report-demo/. Installs Debian's chromium if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/target/report-demo"
mkdir -p "$out"
if ! command -v chromium >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium fonts-dejavu-core fonts-liberation >/dev/null
fi
LOAXA_DEMO_OUT="$out" cargo test -q --test report -- --ignored demo_report_files
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" --hide-scrollbars)
chromium "${flags[@]}" --window-size=900,1800 --screenshot="$out/bao-cao.png" "file://$out/bao-cao.html" 2>/dev/null
chromium "${flags[@]}" --no-pdf-header-footer --print-to-pdf="$out/bao-cao.pdf" "file://$out/bao-cao.html" 2>/dev/null
ls -la "$out"
