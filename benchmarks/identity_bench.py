"""Time one resident ID validation (check character, birth date, region code in force).

    .venv/bin/python -m benchmarks.identity_bench [numbers]

Prints microseconds per validation over a warm cache of region codes, and the cold first
lookup of an area code (python-stdnum's table scan) for comparison.
"""
from __future__ import annotations

import random
import sys
import time

from models.demo import make_id_no
from rules import identity


def main(count: int = 100_000) -> None:
    rng = random.Random(12)
    numbers = [make_id_no(rng, set()) for _ in range(2000)]
    identity._last_year_in_force.cache_clear()
    start = time.perf_counter()
    identity._last_year_in_force("330106")
    cold = time.perf_counter() - start
    for number in numbers:
        identity.validate_resident_id(number)  # warm the per-area cache
    rounds = max(1, count // len(numbers))
    start = time.perf_counter()
    for _ in range(rounds):
        for number in numbers:
            identity.validate_resident_id(number)
    elapsed = time.perf_counter() - start
    per_call = elapsed / (rounds * len(numbers)) * 1e6
    print(f"resident ID validation: {per_call:.2f} µs per number "
          f"({rounds * len(numbers):,} numbers, warm cache)")
    print(f"first lookup of an area code (stdnum table scan): {cold * 1e6:.0f} µs")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
