"""Load: upsert the staged city totals into the warehouse (a SQLite file).

Run by the CronJob ``load`` (every minute, and on demand from its template). It is
idempotent: each city's row is replaced by the latest totals, so running it twice, or
concurrently with a scheduled run, leaves the same table. Every run is recorded in the
``loads`` table with the name of the Job that ran it (``JOB_NAME``, from the pod's
``batch.kubernetes.io/job-name`` label through the downward API).
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS city_totals (
    city TEXT PRIMARY KEY, orders INTEGER NOT NULL, revenue_cents INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS loads (
    job TEXT NOT NULL, loaded_at TEXT NOT NULL, cities INTEGER NOT NULL
);
"""


def main() -> None:
    staged = json.loads(Path("data/staged/city_totals.json").read_text())
    cities = staged["cities"]
    database = sqlite3.connect("data/warehouse.db", timeout=30)
    try:
        database.executescript(SCHEMA)
        with database:  # one transaction: the totals and the record of this run
            database.executemany(
                "INSERT INTO city_totals VALUES (:city, :orders, :revenue_cents)"
                " ON CONFLICT (city) DO UPDATE SET"
                " orders = excluded.orders, revenue_cents = excluded.revenue_cents",
                cities,
            )
            database.execute(
                "INSERT INTO loads VALUES (?, ?, ?)",
                (os.environ["JOB_NAME"], datetime.now(UTC).isoformat(), len(cities)),
            )
    finally:
        database.close()
    orders = sum(city["orders"] for city in cities)
    revenue = sum(city["revenue_cents"] for city in cities)
    print(f"loaded {len(cities)} cities ({orders} orders, {revenue / 100:.2f}) into warehouse.db")


if __name__ == "__main__":
    main()
