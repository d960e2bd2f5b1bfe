"""Transform: validate the raw rows and total the revenue per city.

Run by the Job ``transform`` once every extract pod has finished: it reads the
``SOURCES`` raw files (failing if one is missing, so the Job's retries cover a late
file), rejects rows without a city or with a non-positive quantity or price, and
writes ``data/staged/city_totals.json``: per city the number of orders and the revenue
in cents, and the rejected orders with the reason.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any


def problem(row: dict[str, str]) -> str:
    """Why a row is rejected ("" when it is valid)."""
    if not row["city"]:
        return "no city"
    if int(row["quantity"]) <= 0:
        return f"quantity {row['quantity']}"
    if int(row["unit_price_cents"]) <= 0:
        return f"price {row['unit_price_cents']} cents"
    return ""


def main() -> None:
    sources = int(os.environ["SOURCES"])
    rows: list[dict[str, str]] = []
    for index in range(sources):
        with Path(f"data/raw/shop-{index}.csv").open(newline="") as part:
            rows += csv.DictReader(part)
    totals: dict[str, dict[str, Any]] = {}
    rejected = []
    for row in rows:
        reason = problem(row)
        if reason:
            rejected.append({"order_id": row["order_id"], "reason": reason})
            continue
        city = totals.setdefault(
            row["city"], {"city": row["city"], "orders": 0, "revenue_cents": 0}
        )
        city["orders"] += 1
        city["revenue_cents"] += int(row["quantity"]) * int(row["unit_price_cents"])
    staged = Path("data/staged")
    staged.mkdir(parents=True, exist_ok=True)
    result = {"cities": sorted(totals.values(), key=lambda c: c["city"]), "rejected": rejected}
    (staged / "city_totals.json").write_text(json.dumps(result, indent=2))
    print(f"{len(rows)} rows from {sources} sources: {len(rows) - len(rejected)} valid")
    for reject in rejected:
        print(f"rejected order {reject['order_id']}: {reject['reason']}")


if __name__ == "__main__":
    main()
