"""Market data: interest-rate models (accrual, oracle guards and yield come with issue #4)."""
