"""Use cases: ids and primitives in, ports passed in, load → act → save → return."""
