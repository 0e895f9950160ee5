"""Command groups whose callback also takes bare ``key=value`` config overrides."""

from __future__ import annotations

from typer.core import TyperGroup


class OverridesGroup(TyperGroup):
    """Collects ``section.key=value`` arguments into ``ctx.meta["overrides"]`` (click would
    otherwise read them as sub-command names). A value that follows an option (``--bench a=b``)
    stays with its option; flags such as ``--resume`` take no value."""

    def parse_args(self, ctx, args):
        flags = {name for param in self.params if getattr(param, "is_flag", False) for name in param.opts}
        overrides, rest = [], []
        takes_value = False
        for a in args:
            if not takes_value and "=" in a and not a.startswith("-"):
                overrides.append(a)
            else:
                rest.append(a)
            takes_value = a.startswith("-") and "=" not in a and a not in ("--help", "-h") and a not in flags
        ctx.meta["overrides"] = overrides
        return super().parse_args(ctx, rest)
