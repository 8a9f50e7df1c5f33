"""Reply -> terminal text (rich markup when colour is on, plain otherwise); the console's twin of slack/blocks/reply.py."""

from __future__ import annotations

from rich.markup import escape

from commands.reply import Reply, Tone

__all__ = ["render_text"]

_STYLE = {
    Tone.INFO: "bold",
    Tone.SUCCESS: "bold green",
    Tone.WARNING: "bold yellow",
    Tone.ERROR: "bold red",
}


def render_text(reply: Reply, *, markup: bool = True) -> str:
    """Readable text of a reply; with ``markup`` it carries rich styles (untrusted text escaped)."""

    def e(text: str) -> str:
        return escape(text) if markup else text

    title = e(reply.title)
    lines = [f"[{_STYLE[reply.tone]}]{title}[/]" if markup else title]
    if reply.text:
        lines.append(e(reply.text))
    for check in reply.checks:
        line = e(check.line())
        if markup:
            line = f"[{'green' if check.ok else 'red'}]{line}[/]"
        lines.append("  " + line)
    for f in reply.fields:
        label = f"[cyan]{e(f.label)}[/]" if markup else f.label
        lines.append(f"  {label}: {e(f.value)}")
    if reply.request_id:
        lines.append(f"  request {e(reply.request_id)} ({e(reply.state or '')})")
    for link in reply.links:
        lines.append(f"  {e(link)}")
    for hint in reply.follow_ups:
        lines.append(f"  > {e(hint)}")
    return "\n".join(lines)
