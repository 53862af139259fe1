#!/usr/bin/env bash
# The soak: 10 minutes of load with failures mixed in (503s, timeouts, refused connections,
# trapping iterations), sampling stampede's RSS and open sockets every 10 s. Both must stay flat.
#   bench/soak.sh [DURATION_SECONDS]    (default 600; the scenarios stop at 10 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
cargo build --release --locked
(cd tests/guests && cargo build --release --target wasm32-wasip2 --target-dir ../../target/guests)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/stampede serve --listen 127.0.0.1:$port 2>/dev/null & server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 0.5
target/release/stampede run target/guests/wasm32-wasip2/release/probe.wasm -c bench/soak.json \
    -e BASE_URL=http://127.0.0.1:$port -q --summary-export target/soak-summary.json > target/soak-summary.txt 2>target/soak-log.txt &
pid=$!
echo "elapsed_s rss_kb sockets"
start=$(date +%s)
while kill -0 $pid 2>/dev/null; do
    now=$(( $(date +%s) - start ))
    rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    socks=$(ls -l /proc/$pid/fd 2>/dev/null | grep -c socket: || true)
    echo "$now $rss $socks"
    [ "$now" -ge "$secs" ] && kill -INT $pid
    sleep 10
done
wait $pid || true
grep -E "http_reqs|http_req_failed|iteration_errors|iterations\.|cpu|memory" target/soak-summary.txt
