"""Alerts: claims, history, the topic and the bus, counter images from the table stream."""
