"""The alert engine: findings in, alerts (deduplicated, cleared, flap-aware, suppressed) out.

``decision`` is the pure decision of one finding against one alert's state; ``suppression``
(with ``schedule``) says whether a silence or a maintenance window holds an alert;
``repository`` holds the SQL of the writes; ``service.AlertEngine`` applies a batch of findings
in the caller's transaction and returns the ``AlertChange`` messages to publish after commit.
"""
