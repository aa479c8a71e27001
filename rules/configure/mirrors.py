"""Where this machine fetches packages from, read from its own configuration: a project names no host."""
import os
import re

APT_SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d")


def apt_mirrors(sources=APT_SOURCES):
    """The archives this machine's apt is configured with (deb822 `.sources` and one-line `.list` files), in order,
    for URLs of a distribution's copies of releases: a project names no host, each machine uses its own mirror."""
    files = []
    for place in sources:
        if os.path.isdir(place):
            files += sorted(os.path.join(place, f) for f in os.listdir(place) if f.endswith((".list", ".sources")))
        elif os.path.isfile(place):
            files.append(place)
    found = []
    for path in files:
        try:
            with open(path, errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            for stanza in text.split("\n\n"):
                fields = dict(line.split(":", 1) for line in stanza.splitlines()
                              if ":" in line and not line.startswith(("#", " ", "\t")))
                if fields.get("Enabled", "yes").strip().lower() != "no":
                    found += fields.get("URIs", "").split()
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()  # options: [arch=... signed-by=...]
                if len(words) > 2 and words[0] in ("deb", "deb-src"):
                    found.append(words[1])
    return list(dict.fromkeys(u.rstrip("/") for u in found if u.startswith(("http://", "https://"))))
