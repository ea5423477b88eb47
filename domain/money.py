"""Money is whole Kenyan shillings held in ``int``; M-Pesa takes nothing else."""

from __future__ import annotations

from domain.errors import InvalidInput

CURRENCY = "KES"
MIN_AMOUNT = 1
MAX_AMOUNT = 250_000  # Daraja's per-transaction cap for STK push and B2C


def require_amount(value: object, field: str = "amount") -> int:
    """Return ``value`` if it is an integral shilling amount within M-Pesa's limits."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "must be a whole number of shillings")
    if not MIN_AMOUNT <= value <= MAX_AMOUNT:
        raise InvalidInput(field, f"must be between {MIN_AMOUNT} and {MAX_AMOUNT}")
    return value


def fee_for(amount: int, rate_bps: int) -> int:
    """Platform fee in whole shillings for ``rate_bps`` basis points, rounded down."""
    if isinstance(rate_bps, bool) or not isinstance(rate_bps, int) or not 0 <= rate_bps <= 10_000:
        raise ValueError("the fee rate must be a whole number of basis points, 0 to 10000")
    return amount * rate_bps // 10_000
