"""Portfolio valuation: one rule for a mark, Greeks and P&L of legs and groups, used by every layer above."""
