"""Where counts, heat, zones, users and audit live: SQLite on one machine, PostgreSQL past it."""
