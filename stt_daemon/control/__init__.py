"""Control: the controller (the one way into the worker), the daemon's start-up order, reloads."""
