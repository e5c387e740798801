"""The local stack: the whole service on one machine, with moto in server mode as the embedded AWS."""
