"""Embedded services for `make run` and `make test`: never used in production."""
