"""Measurements: ``make bench`` (bench/run.py), explained in bench/README.md."""
