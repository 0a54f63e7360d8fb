"""Static files of the window and auditor pages (a package so that package data ships)."""

__all__: list[str] = []
