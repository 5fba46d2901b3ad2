"""Database tests, each run on SQLite and PostgreSQL through the `db_url` fixture."""
