"""Operating the service: monitoring, incidents, maintenance, escalation."""
