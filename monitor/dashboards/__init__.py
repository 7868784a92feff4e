"""Dashboards: filters from the URL, plotly charts, roll-up queries, CSV export, page builders."""
