#!/usr/bin/env bash
# The balancing lab's sweep report in a browser: a short run of experiments/labs/balancing.toml
# (12 variants x 2 seeds), rendered by headless Chromium at 1280 px, must show the ranking
# table on the first screen and the table and every chart without scrolling sideways
# (scripts/check-report-layout). Skipped (77) where Chromium is not installed.
set -euo pipefail
STRATA=$1
ROOT=$2
WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$ROOT"
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null ||
  { echo "no Chromium: skipped"; exit 77; }
"$STRATA" run experiments/labs/balancing.toml --out "$WORK/balancing" --quiet --seeds 0,1 --set train.steps=12 \
  --set train.warmup_steps=2 --set train.log_every=4 --set train.eval_every=6 --set train.eval_batches=1 >"$WORK/run.log"
scripts/check-report-layout "$WORK/balancing/report.html" 1280 "$WORK/balancing.png"
# The same page is self-contained: no request leaves it (no URL, no script, no external style).
! grep -Eq 'https?://|<script|<link|@import|url\(' "$WORK/balancing/report.html" ||
  { echo "the sweep report references something outside itself"; exit 1; }
