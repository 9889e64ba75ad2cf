"""Events out: formatting, the fan-out to sinks, stdout rendering and the recent finals."""
