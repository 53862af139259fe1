"""The benchmark's Python script: one GET of $URL and one check per iteration ($MODE=sleep:
park for $SLEEP seconds instead, for memory per VU)."""

from stampede import check, env, http, sleep


def default():
    if env("MODE") == "sleep":
        sleep(float(env("SLEEP", "1")))
        return
    res = http.get(env("URL"))
    check(res, {"status is 200": lambda r: r.status == 200})
