"""What every capability shares: money, time, periods, ids, the caller and the domain errors."""
