"""Alerts: evaluators that notice changes (``evaluate``), opening/resolving them once (``core``), and
delivering the notifications by e-mail and webhook (``deliver``, ``emails``); the weekly ``digest``."""
