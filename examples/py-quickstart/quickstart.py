"""The quickstart, in Python: one GET per iteration, two checks and a latency threshold.

    stampede run examples/py-quickstart/quickstart.py -e BASE_URL=http://127.0.0.1:8080
"""

from stampede import check, env, http

options = {
    "vus": 5,
    "duration": "10s",
    "thresholds": {"http_req_duration": ["p(95)<250"], "checks": ["rate>0.99"]},
}


def default():
    base = env("BASE_URL", "http://127.0.0.1:8080")
    res = http.get(f"{base}/")
    check(res, {
        "status is 200": lambda r: r.status == 200,
        "body says hello": lambda r: "hello" in r.text,
    })
