from sconsrules.providers import CcInfo


def lib(name, deps=(), **kw):
    return CcInfo.merge(CcInfo(archives=(name,), includes=(f"/{name}",), defines=(f"{name.upper()}=1",), **kw), deps)


def test_chain_links_dependents_first():
    base = lib("base")
    mid = lib("mid", [base])
    assert mid.archives == ("mid", "base")
    assert mid.includes == ("/mid", "/base")
    assert mid.defines == ("MID=1", "BASE=1")


def test_diamond_keeps_a_valid_link_order():
    d = lib("d")
    b = lib("b", [d])
    c = lib("c", [d])
    a = lib("a", [b, c])
    assert a.archives == ("a", "b", "c", "d")
    top = CcInfo.merge(CcInfo(), [a, c])
    order = top.archives
    for before, after in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]:
        assert order.index(before) < order.index(after)


def test_linkopts_travel_per_library_in_link_order():
    base = lib("base", linkopts=(("-lm",),))
    mid = lib("mid", [base], linkopts=(("-Wl,--as-needed", "-lpthread"),))
    assert mid.flat_linkopts == ("-Wl,--as-needed", "-lpthread", "-lm")


def test_generated_includes_are_not_scanned_but_still_used():
    foreign = CcInfo(includes=("/b/ssl/include",), archives=("ssl",), generated_includes=("/b/ssl/include",))
    mine = CcInfo.merge(CcInfo(includes=("/src/mine",), archives=("mine",)), [foreign])
    assert mine.includes == ("/src/mine", "/b/ssl/include")
    assert mine.scan_paths("/src") == ("/src/mine", "/src")
