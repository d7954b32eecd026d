"""The systemd user unit template (package data), installed by `sleepd service install`."""
