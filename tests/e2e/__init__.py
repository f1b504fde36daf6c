"""End-to-end tests: jobdesk on a live HTTP server, seen by a browser and by generated clients."""
