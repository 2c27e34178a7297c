#!/usr/bin/env bash
# ES256 against OpenSSL, in one sitting: ROUNDS rounds, each of
# `openssl speed ecdsap256` (by CPU time, then by wall clock) and the
# criterion benches of verification (`verify/*`, bare `p256/*`) and signing
# (`mint_access_token/*`, `client_credentials/*`) in short windows, so that
# load from other work on the machine falls on every party alike. Prints
# each round and the medians over rounds, with verify/ES256 ÷ OpenSSL's
# verification time.
#
#   bench/es256-openssl.sh [ROUNDS]
#   BASELINE=DIR bench/es256-openssl.sh [ROUNDS]
#
# DIR holds `verify` and `issue`, the same benches built from another
# revision (`cargo bench --no-run`, then copy the executables): they run in
# the same rounds, before this tree's in odd rounds and after in even ones.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${1:-6}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
WINDOW=(--warm-up-time 1 --measurement-time 3)

# bench_exe PACKAGE BENCH -> path of the built bench executable
bench_exe() {
    (cd "$ROOT" && cargo bench -q -p "$1" --bench "$2" --no-run --message-format=json) |
        python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$2"
}
mkdir -p "$OUT/bin/this"
cp "$(bench_exe sessiond-guard verify)" "$OUT/bin/this/verify"
cp "$(bench_exe sessiond issue)" "$OUT/bin/this/issue"
KINDS=(this)
if [ -n "${BASELINE:-}" ]; then
    cp -r "$BASELINE" "$OUT/bin/baseline"
    KINDS=(baseline this)
fi

# run KIND ROUND: both benches of one build, results under $OUT/KIND-ROUND
run() {
    local dir="$OUT/$1-$2"
    CARGO_TARGET_DIR=$dir "$OUT/bin/$1/verify" --bench "${WINDOW[@]}" '^verify/|^p256/' >/dev/null 2>&1
    CARGO_TARGET_DIR=$dir "$OUT/bin/$1/issue" --bench "${WINDOW[@]}" 'mint_access_token|client_credentials' >/dev/null 2>&1
}
for r in $(seq 1 "$ROUNDS"); do
    {
        echo "round $r $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
        openssl speed -seconds 3 ecdsap256 2>/dev/null | tail -n 1
        openssl speed -elapsed -seconds 3 ecdsap256 2>/dev/null | tail -n 1
    } >>"$OUT/openssl.txt"
    if [ $((r % 2)) = 1 ]; then order=("${KINDS[@]}"); else order=(); for k in "${KINDS[@]}"; do order=("$k" "${order[@]}"); done; fi
    for kind in "${order[@]}"; do run "$kind" "$r"; done
    echo "round $r done" >&2
done

python3 - "$OUT" "$ROUNDS" "${KINDS[@]}" <<'EOF'
import glob, json, statistics as st, sys
out, rounds, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
lines = open(f"{out}/openssl.txt").read().splitlines()
ossl = []
for i in range(0, len(lines), 3):
    cpu, wall = lines[i + 1].split(), lines[i + 2].split()
    # openssl prints operations per second: sign/s, verify/s.
    ossl.append({"head": lines[i], "sign": 1e6 / float(cpu[-2]), "verify": 1e6 / float(cpu[-1]),
                 "sign_wall": 1e6 / float(wall[-2]), "verify_wall": 1e6 / float(wall[-1])})
res = {}
for kind in kinds:
    for r in range(1, rounds + 1):
        for f in glob.glob(f"{out}/{kind}-{r}/criterion/**/new/estimates.json", recursive=True):
            name = f.split("criterion/")[1].removesuffix("/new/estimates.json")
            res.setdefault((kind, name), {})[r] = json.load(open(f))["median"]["point_estimate"] / 1000
for r, o in enumerate(ossl, 1):
    mine = "  ".join(f"{k} verify/ES256 {res.get((k, 'verify/ES256'), {}).get(r, float('nan')):.1f}" for k in kinds)
    print(f"{o['head']}: openssl sign {o['sign']:.1f} verify {o['verify']:.1f} µs (wall {o['sign_wall']:.1f} / {o['verify_wall']:.1f})  {mine}")
print("\nmedians over rounds (µs):")
for key in ("sign", "verify", "sign_wall", "verify_wall"):
    print(f"  openssl {key:<12} {st.median(o[key] for o in ossl):8.2f}")
for (kind, name), by_round in sorted(res.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"  {kind:<8} {name:<28} {st.median(by_round.values()):8.2f}   (min {min(by_round.values()):.2f}, max {max(by_round.values()):.2f})")
for kind in kinds:
    es = res.get((kind, "verify/ES256"), {})
    # Criterion times by wall clock; OpenSSL by CPU time unless -elapsed.
    # They agree on a quiet machine; under load only the wall-clock ratio
    # compares like with like.
    for key in ("verify", "verify_wall"):
        ratios = [es[r] / ossl[r - 1][key] for r in es]
        if ratios:
            print(f"{kind}: verify/ES256 ÷ openssl {key}, median over rounds: {st.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")
EOF
