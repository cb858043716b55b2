#!/usr/bin/env bash
# Sensor benchmark (issue: network sensor core). Generates a >= 1M-packet, >= 50k-flow mixed
# capture with mamori's own test kit, then measures in ONE run, on one core each:
#   - the raw capture read loop alone        (mamori's reader, no decoding)
#   - mamori analyze (decode + flows + L7)   (--format jsonl to /dev/null and summary only)
#   - tshark -r f -q -z conv,ip               (Debian package tshark)
#   - argus -r f -w /dev/null                 (Debian package argus-server)
# and prints packets/s, peak RSS and ratios as a Markdown table for BENCHMARKS.md.
#
#   bash bench/sensor.sh [packets] [flows]
# Peers are installed with apt-get when missing (root) or skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
flows=${2:-50000}
out=bench/out
mkdir -p "$out"
export CARGO_TERM_COLOR=never

if [ "$(id -u)" = 0 ]; then
  for p in tshark argus-server time; do
    dpkg -s "$p" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 || true
  done
fi

tdir=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p mamori --bin mamori --example read_loop
bin=$tdir/release/mamori
cap="$out/bench-$packets-$flows.pcap"
[ -s "$cap" ] || $bin testkit write-bench "$cap" --packets "$packets" --flows "$flows" --seed 1

# measure CMD... -> "seconds maxrss_kib"
measure() {
  local t0 t1 rssf
  rssf=$(mktemp)
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$rssf" taskset -c 0 "$@" >/dev/null 2>&1 || true
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc -l) $(tail -n1 "$rssf")"
  rm -f "$rssf"
}

declare -A secs rss
run() { local name=$1; shift; read -r s r < <(measure "$@"); secs[$name]=$s; rss[$name]=$r; }

# Warm the page cache so the first tool measured is not charged for disk reads.
cat "$cap" > /dev/null
run read_loop "$tdir/release/examples/read_loop" "$cap"
run analyze_sensor $bin analyze --quiet --no-detect "$cap"
run analyze $bin analyze --quiet "$cap"
run analyze_jsonl $bin analyze --quiet --format jsonl -o /dev/null "$cap"
command -v tshark >/dev/null && run tshark tshark -r "$cap" -q -z conv,ip
command -v argus >/dev/null && run argus argus -r "$cap" -w /dev/null

pps() { echo "$packets / ${secs[$1]}" | bc -l; }
printf '\n| tool | seconds | packets/s | peak RSS (MiB) | analyze speed ratio |\n|---|---:|---:|---:|---:|\n'
for k in read_loop analyze_sensor analyze analyze_jsonl tshark argus; do
  [ -n "${secs[$k]:-}" ] || continue
  printf '| %s | %.2f | %.0f | %.1f | %.2f× |\n' "$k" "${secs[$k]}" "$(pps $k)" "$(echo "${rss[$k]} / 1024" | bc -l)" \
    "$(echo "${secs[$k]} / ${secs[analyze]}" | bc -l)"
done
echo
echo "capture: $cap ($(stat -c %s "$cap") bytes, $packets packets, $flows flows); machine: $(nproc) cores, $(uname -r)"
echo "ratio column: time of the tool divided by time of mamori analyze (>1 means mamori is faster)"
echo "analyze_sensor: decode + flows + L7 only (--no-detect); analyze: with all checks and built-in rules"
