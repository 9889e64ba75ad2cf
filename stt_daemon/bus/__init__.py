"""The D-Bus face of the daemon (service) and its clients (subscribe, thin method callers)."""
