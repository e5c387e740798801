"""Pricing of usage events: tenant overrides, then the catalogues (genai-prices for tokens, the
project's image table for per-image models). An unknown price is "unpriced", never $0."""
