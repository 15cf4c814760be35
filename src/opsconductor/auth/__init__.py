"""Users, passwords, tokens, API keys and the roles that grant permissions."""
