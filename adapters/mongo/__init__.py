"""MongoDB repositories: one per aggregate, private document mapping, CAS saves."""
