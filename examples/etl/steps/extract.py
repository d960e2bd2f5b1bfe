"""Extract: copy one shop's order export into the pipeline's raw area, normalised.

Run by the Indexed Job ``extract``: pod ``i`` reads ``app/sources/shop-<i>.csv`` (its
shard, from ``JOB_COMPLETION_INDEX``) and writes ``data/raw/shop-<i>.csv`` with city
names trimmed and title-cased and prices in integer cents. It keeps every row, valid or
not: deciding what is valid is the transform step's job.
"""

from __future__ import annotations

import csv
import os
from decimal import Decimal
from pathlib import Path

FIELDS = ("order_id", "source", "city", "quantity", "unit_price_cents")


def normalise(row: dict[str, str], source: str) -> dict[str, str]:
    """One export row in the raw area's shape."""
    cents = Decimal(row["unit_price"].strip()) * 100
    return {
        "order_id": row["order_id"].strip(),
        "source": source,
        "city": row["city"].strip().title(),
        "quantity": row["quantity"].strip(),
        "unit_price_cents": str(int(cents)),
    }


def main() -> None:
    index = int(os.environ["JOB_COMPLETION_INDEX"])
    source = f"shop-{index}"
    with Path(f"app/sources/{source}.csv").open(newline="") as export:
        rows = [normalise(row, source) for row in csv.DictReader(export)]
    raw = Path("data/raw")
    raw.mkdir(parents=True, exist_ok=True)
    partial = raw / f".{source}.csv.tmp"
    with partial.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(raw / f"{source}.csv")  # readers never see half a file
    print(f"{source}: extracted {len(rows)} rows")


if __name__ == "__main__":
    main()
