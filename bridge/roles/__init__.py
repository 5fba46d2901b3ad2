"""Roles on shift (rota, hand-overs, role rooms), urgent messages and away status."""
