#!/usr/bin/env bash
# Remakes docs/img/summary_first_screen.png: the first screen (1400 × 1000 CSS px) of a run's
# results/summary.html, as headless Chromium draws it, reduced to a 256-colour PNG.
#
#   make run && make screenshot                       # the demo (config.yaml), then the picture
#   docs/img/make_summary_screenshot.sh [SUMMARY_HTML] [OUT_PNG]
#
# SUMMARY_HTML defaults to results/summary.html, OUT_PNG to docs/img/summary_first_screen.png.
# Needs Chromium (Debian/Ubuntu: `apt-get install chromium`; another binary: CHROMIUM=/path/to/it)
# and Pillow (in the project's environment; another interpreter: PYTHON=/path/to/python).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
summary=$(realpath "${1:-$repo/results/summary.html}")
out=$(realpath -m "${2:-$repo/docs/img/summary_first_screen.png}")
browser=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
python=${PYTHON:-$repo/.venv/bin/python}
[ -f "$summary" ] || { echo "no $summary: run the workflow first (make run)" >&2; exit 1; }
[ -n "$browser" ] || { echo "no Chromium found: apt-get install chromium, or set CHROMIUM" >&2; exit 1; }

# a throw-away profile; no network, no updates, no first-run pages (the page needs none: its
# figures are data: URIs). --no-sandbox: Chromium refuses to run as root otherwise.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --hide-scrollbars --user-data-dir="$profile" \
    --window-size=1400,1000 --screenshot="$out" "file://$summary" 2>/dev/null

# 256 colours, no dithering: the page is flat colours and text; under half the size of Chromium's PNG
"$python" - "$out" <<'PY'
import sys

from PIL import Image

path = sys.argv[1]
image = Image.open(path).convert("RGB")
image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
PY
echo "$out: $(du -k "$out" | cut -f1) KB"
