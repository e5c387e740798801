"""What every adapter shares: the one reading of AWS errors, the item codec, the table's keys."""
