"""The compliance database: SQLAlchemy 2 Core (async), schema by Alembic migrations."""
