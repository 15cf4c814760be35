"""Device inventory: devices, groups, sites and the credential vault."""
