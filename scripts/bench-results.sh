# Sourced by the benchmarks: how they run wrk and record what they measured.
#
# bench_result SECTION FIGURE VALUE UNIT [PEER PEER_VALUE RATIO GOAL] appends one figure to the file
# named by $BENCH_RESULTS (nothing when it is unset), one line of eight tab-separated fields that
# scripts/bench-report.py turns into the results table of docs/BENCHMARKS.md:
#   section     the table the figure belongs to ("Gateway and nginx: GET /api/leads/{id}")
#   figure      what was measured ("gateway, 32 connections")
#   value unit  the figure, a plain number ("3241.5", "0.94") and its unit ("req/s", "ms")
#   peer        what it is compared with ("nginx, 32 connections"), and that figure (same unit)
#   ratio       how they compare, as written: "0.51x" (a quotient) or "+0.59 ms" (a difference)
#   goal        the goal when it gives one. Written like a ratio (">= 0.8x", or a signed
#               difference: "<= +0.2 ms") it applies to the ratio, else ("<= 20 ms") to the value
# Empty fields stay empty; values are numbers without thousands separators.
bench_result() {
  [ -n "${BENCH_RESULTS:-}" ] || return 0
  local fields=("$@")
  while [ ${#fields[@]} -lt 8 ]; do fields+=(""); done
  (IFS=$'\t'; echo "${fields[*]}") >>"$BENCH_RESULTS"
}

# wrk_run ARGS...: runs `wrk --latency ARGS...` and sets $rps (requests per second) and $p50, $p90,
# $p99 (milliseconds), and $failed (non-2xx answers plus socket errors, which a benchmark must not
# count as served reads: a warning names them).
wrk_run() {
  local out
  out=$(wrk --latency "$@")
  read -r rps p50 p90 p99 failed < <(echo "$out" | awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000; return v
    }
    /Requests\/sec/ {rps = $2} / 50%/ {p50 = ms($2)} / 90%/ {p90 = ms($2)} / 99%/ {p99 = ms($2)}
    /Non-2xx/ {failed += $NF} /Socket errors/ {gsub(/,/, ""); failed += $4 + $6 + $8 + $10}
    END {printf "%s %.3f %.3f %.3f %d\n", rps, p50, p90, p99, failed}')
  [ "$failed" -eq 0 ] || echo "warning: $failed failed requests in: wrk $*" >&2
}

# wrk_line LABEL: one line for the last wrk_run
wrk_line() { printf "%-52s %8.0f req/s  p50 %7.2f  p90 %7.2f  p99 %7.2f ms\n" "$1" "$rps" "$p50" "$p90" "$p99"; }

# ratio A B: A/B as "0.51x"; difference A B: A-B as "+0.59 ms"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", (b > 0 ? a / b : 0)}'; }
difference() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.2f ms", a - b}'; }
