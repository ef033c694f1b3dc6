"""The application: one audit cycle, the daemon and its scheduled jobs, the spool, the composition root."""
