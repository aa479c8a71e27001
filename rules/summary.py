"""The end-of-build table: what was built, for which platform, how it links, and its digest.

It reads the verification reports written beside each artifact, so it costs no ELF parsing in a null build;
each report is shown only if its sha256 is the file's as it is now (from the output records: no hashing
when the file's stat is unchanged).
"""
import json

import SCons.Node
import SCons.Script


def _rows(context):
    rows = []
    for node, target, config in context.registry.binaries:
        if node.get_state() not in (SCons.Node.executed, SCons.Node.up_to_date):
            continue
        try:
            with open(node.abspath + ".verify.json") as fh:
                report = json.load(fh)
        except (OSError, ValueError):
            continue
        s = report.get("summary", {})
        if context.records_for(target.env).digest(node.abspath) != s.get("sha256"):
            # The report describes other bytes than the file's: never shown as verified.
            rows.append((node.path, str(config.platform), config.toolchain_name, "?", "?", "?",
                         "MODIFIED since verified: not verified"))
            continue
        rows.append((node.path, str(config.platform), config.toolchain_name, f"{s.get('size', 0) / 1e6:.1f} MB",
                     s.get("link_type", "?"), s.get("libc", "?"), s.get("sha256", "")[:12]))
    return rows


def print_summary(context):
    if any(SCons.Script.GetOption(o) for o in ("question", "no_exec", "clean", "help")):
        return
    shared = context.tally.line(context.remote_client)
    if shared:
        print(shared)
    rows = _rows(context)
    if not rows:
        return
    header = ("artifact", "platform", "toolchain", "size", "link", "libc", "sha256")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = "  ".join("{:<%d}" % w for w in widths)
    try:
        print("\nsconsrules: artifacts (verified)")
        print(line.format(*header))
        for row in sorted(rows):
            print(line.format(*row))
    except OSError:
        pass  # stdout closed early (e.g. piped into head)
