"""System checks: a misconfiguration is reported by `manage.py check` (and at start-up), never as a traceback."""

from django.core.checks import Error, register

from monitor import config


@register()
def check_environment(app_configs, **kwargs):
    return [
        Error(problem, hint="See the configuration table in README.md.", id=f"monitor.E{n:03d}")
        for n, problem in enumerate(config.PROBLEMS, start=1)
    ]
