"""The recognition worker and what it keeps: utterances, latency, overload, warm-up, recycling."""
