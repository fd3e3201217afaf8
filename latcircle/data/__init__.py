"""Bundled reference tables (see README.md in this folder)."""
