"""Pure business rules of the escrow backend: no I/O, standard library only."""
