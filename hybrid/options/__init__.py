"""Options vocabulary: instruments and symbology, the strategy catalogue, chains and analytics."""
