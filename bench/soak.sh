#!/usr/bin/env bash
# The soak: 10 minutes of load with failures mixed in (503s, timeouts, refused connections,
# trapping iterations), sampling stampede's RSS and open sockets every 10 s. Both must stay flat.
#   bench/soak.sh [DURATION_SECONDS]    (default 600; the scenarios stop at 10 minutes)
# With SOAK_OUTPUTS=1, every streaming output is on too: JSON lines and CSV (to /dev/null),
# Prometheus remote-write (to Debian's prometheus, started here) and OTLP (to a sink).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
cargo build --release --locked
(cd tests/guests && cargo build --release --target wasm32-wasip2 --target-dir ../../target/guests)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/stampede serve --listen 127.0.0.1:$port 2>/dev/null & server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 0.5
outs=()
if [ "${SOAK_OUTPUTS:-0}" = 1 ]; then
    pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    oport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    pdir=$(mktemp -d)
    printf 'global:\n  scrape_interval: 1h\n' > $pdir/prometheus.yml
    prometheus --config.file=$pdir/prometheus.yml --storage.tsdb.path=$pdir/data \
        --web.listen-address=127.0.0.1:$pport --web.enable-remote-write-receiver >/dev/null 2>&1 & prom=$!
    python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0))); self.send_response(200)
        self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' $oport & otlp=$!
    trap 'kill $server $prom $otlp 2>/dev/null; rm -rf $pdir' EXIT
    export STAMPEDE_OTEL_HTTP_EXPORTER_INSECURE=true STAMPEDE_OTEL_HTTP_EXPORTER_ENDPOINT=127.0.0.1:$oport
    outs=(--out json=/dev/null --out csv=/dev/null
          --out experimental-prometheus-rw=url=http://127.0.0.1:$pport/api/v1/write --out opentelemetry)
    sleep 2
fi
target/release/stampede run target/guests/wasm32-wasip2/release/probe.wasm -c bench/soak.json \
    -e BASE_URL=http://127.0.0.1:$port -q "${outs[@]}" --summary-export target/soak-summary.json > target/soak-summary.txt 2>target/soak-log.txt &
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
grep -E "http_reqs|http_req_failed|iteration_errors|iterations\.|cpu|memory|output" target/soak-summary.txt
