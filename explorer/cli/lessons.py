"""`python -m explorer lessons`: the guided lessons, each step with the page and link it opens.

Without options, a readable listing (lesson, step, page, link path); `--json` prints the document
`{"lessons": [{"number", "slug", "title", "summary", "link", "steps": [{"title", "cite", "page",
"query", "path"}]}], "presets": {page: {name: path}}}`; `--check` validates every lesson link and preset
against its page's schema and the graphs it names (exit code 1 with one line per problem).
"""

from __future__ import annotations

import argparse
import json

HELP = "list the guided lessons and their links (--json for the document, --check to validate every link)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the lessons and presets as one JSON document")
    p.add_argument("--check", action="store_true",
                   help="validate every lesson link and preset (page settings, models, levels, selections)")
    p.add_argument("--base", default="", help="the app's address, e.g. http://localhost:8501, to print whole links")


def document(base: str = "") -> dict:
    from explorer.lessons import LESSONS, PRESETS

    pre = f"{base.rstrip('/')}/" if base else ""

    def step_doc(s) -> dict:  # noqa: ANN001 - a Step
        out = {"title": s.title, "cite": s.cite, "page": None, "query": {}, "path": None}
        if s.link is not None:
            out.update(page=s.link.page, query=s.link.query, path=pre + s.link.path)
        return out

    return {"lessons": [{"number": les.number, "slug": les.slug, "title": les.title, "summary": les.summary,
                         "link": pre + les.link().path, "steps": [step_doc(s) for s in les.steps]}
                        for les in LESSONS],
            "presets": {page: {name: pre + link.path for name, link in named.items()}
                        for page, named in PRESETS.items()}}


def listing(doc: dict) -> str:
    lines = []
    for les in doc["lessons"]:
        lines.append(f"{les['number']}. {les['title']} — {les['summary']}  [{les['link']}]")
        for n, s in enumerate(les["steps"], 1):
            lines.append(f"   {n}. {s['title']} ({s['cite']})" + (f"  → {s['path']}" if s["path"] else ""))
    lines.append("presets:")
    for page, named in doc["presets"].items():
        lines += [f"   {page}: {name}  → {path}" for name, path in named.items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.check:
        from explorer.lessons.check import check, links, presets

        problems = check()
        for p in problems:
            print(f"problem: {p}")
        n = len(list(links())) + len(list(presets()))
        print(f"{n} links checked: " + ("all open as their lessons say" if not problems else f"{len(problems)} problem(s)"))
        return 1 if problems else 0
    doc = document(args.base)
    print(json.dumps(doc, indent=1) if args.json else listing(doc))
    return 0
