"""Timing tells nobody who has an account: both answers do the same work (issue 20.8)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from conftest import Browser


def timed_pairs(port: int, path: str, form: Any, known: str, unknown: str,
                pairs: int = 50, status: int = 200) -> tuple[list[float], list[float]]:
    """Time ``pairs`` requests for each address, interleaved, each on a new connection."""
    browser = Browser(port)
    browser.extra_headers = {}
    times: dict[str, list[float]] = {known: [], unknown: []}
    for i in range(pairs):
        order = (known, unknown) if i % 2 else (unknown, known)
        for address in order:
            token = browser.csrf(path)
            started = time.perf_counter()
            answer, _ = browser.request("POST", path, {**form(i, address), "csrf_token": token})
            times[address].append(time.perf_counter() - started)
            assert answer == status
    return times[known], times[unknown]


def no_difference(known: list[float], unknown: list[float]) -> None:
    """The medians differ by less than the spread of either side: noise, not a signal."""
    spread = min(statistics.quantiles(known, n=4)[2] - statistics.quantiles(known, n=4)[0],
                 statistics.quantiles(unknown, n=4)[2] - statistics.quantiles(unknown, n=4)[0])
    difference = abs(statistics.median(known) - statistics.median(unknown))
    slower = sum(k > u for k, u in zip(known, unknown, strict=True)) / len(known)
    print(f"median known {statistics.median(known) * 1000:.2f} ms, unknown "
          f"{statistics.median(unknown) * 1000:.2f} ms, spread {spread * 1000:.2f} ms, "
          f"known slower in {slower:.0%} of pairs")
    assert difference < max(spread, 0.05 * statistics.median(unknown)), (difference, spread)
    assert 0.2 < slower < 0.8


def test_a_reset_request_takes_as_long_for_any_address(app, make_user, serve):
    make_user("known@example.com")
    with serve(workers=1, RATELIMIT_ENABLED="false") as port:
        known, unknown = timed_pairs(port, "/reset", lambda i, a: {"email": a},
                                     "known@example.com", "unknown@example.com")
    no_difference(known, unknown)


def test_sign_up_takes_as_long_for_a_taken_address(app, make_user, serve):
    make_user("known@example.com")
    with serve(workers=1, RATELIMIT_ENABLED="false") as port:
        known, unknown = timed_pairs(
            port, "/signup",
            lambda i, a: {"email": a if a == "known@example.com" else f"new{i}@example.com",
                          "password": "a long enough password"},
            "known@example.com", "fresh@example.com", pairs=30,  # each hashes a password
            status=302)  # signed in either way, on to the questions
    no_difference(known, unknown)
