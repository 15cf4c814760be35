"""Receivers: syslog (UDP, TCP, TLS), the HTTP log API and file replay."""
