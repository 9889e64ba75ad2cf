"""Running under systemd: sd_notify and the watchdog, and installing the user unit."""
