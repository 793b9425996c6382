"""Market data: the pure formulas of prices, rates and time (oracle guards, the kinked
rate model, interest accrual, yield-bearing exchange rates). See docs/MARKET_DATA.md."""
