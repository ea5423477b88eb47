"""Small programs the bench runs beside the product: the floors and the inline baseline."""
