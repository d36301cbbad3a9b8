#!/usr/bin/env bash
# Prints a holiday file (format of crates/calendar/data/cn-holidays.toml) that declares the
# years after the last shipped State Council notice, up to two years from now, as plain
# weekday years. For the browser and API tests only: they run on the real clock, and a
# deadline set in December reaches into a year whose notice may not be published yet, which
# a real deployment is refused (staff see a warning; crates/app/tests/it/calendar.rs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
last=$(sed -n 's/^year = \([0-9]*\)$/\1/p' "$root/crates/calendar/data/cn-holidays.toml" | sort -n | tail -n1)
this=$(TZ=Asia/Shanghai date +%Y)
for ((y = last + 1; y <= this + 2; y++)); do
  printf '[[year]]\nyear = %d\ntitle = "test %d"\npublished = "%d-11-01"\n\n' "$y" "$y" "$((y - 1))"
done
