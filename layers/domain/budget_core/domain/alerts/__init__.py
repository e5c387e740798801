"""Alerts: threshold and forecast rules, claiming and delivering alerts once, their history."""
