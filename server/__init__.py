"""Shortstack server: Litestar app on SQLite."""
