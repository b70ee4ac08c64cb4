"""Verifying a client's ERP credentials against the guide: the findings (``findings``), their words
(``messages``), and who runs the checks (``paths``: FabricAI through the portal, or the provider itself
in partner mode)."""
