"""The operators' console: server-rendered Jinja2 pages with HTMX and vendored ECharts."""
