#!/usr/bin/env python3
"""Markdown report for tests/bench/run.sh: medians over rounds, cutover's ratios against
each peer, the idle-connection test and the targets from docs/benchmarks.md."""
import argparse
import statistics
import sys

PEERS = ("haproxy", "nginx")
LABEL = {"cutover": "cutover", "haproxy": "HAProxy", "nginx": "NGINX"}
LOAD_COLS = ("proxy", "conns", "round", "status", "rps", "p50_us", "p99_us", "cpu_s",
             "req_per_cpu_s", "hwm_kib", "errors", "proxy_cpu_busy_pct", "load_cpu_busy_pct",
             "other_pct")
IDLE_COLS = ("proxy", "round", "status", "open", "rss_before_kib", "rss_after_kib",
             "bytes_per_conn")
MEASURED = ("ok", "errors")  # statuses whose figures count (errors are shown beside them)

# Targets (docs/benchmarks.md).
P99_SLACK = 1.20
IDLE_BYTES_MAX = 1024
BACKGROUND_BUSY_MAX = 10  # percent of a CPU busy before the bench: warn above
OTHER_WORK_MAX = 10  # percent of the proxy's CPU spent on other work during a run: warn above


def read_tsv(path, cols):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                rows.append(dict(zip(cols, line.split("\t"))))
    return rows


def read_meta(path):
    meta = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            meta[key] = value
    return meta


def num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def median_of(rows, key):
    values = [num(r[key]) for r in rows if num(r[key]) is not None]
    return statistics.median(values) if values else None


def fmt_int(v):
    return "–" if v is None else f"{v:,.0f}"


def fmt_ms(us):
    if us is None:
        return "–"
    ms = us / 1000.0
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms"


def fmt_mib(kib):
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


def pct(value):
    return "–" if num(value) is None else f"{value} %"


def fmt_ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}x"


def summarize_load(rows, proxies, conns_levels):
    """{(proxy, conns): {metric: median, 'runs': 'n/m', 'errors': total}}"""
    out = {}
    for proxy in proxies:
        for conns in conns_levels:
            mine = [r for r in rows if r["proxy"] == proxy and r["conns"] == conns]
            good = [r for r in mine if r["status"] in MEASURED]
            s = {k: median_of(good, k) for k in ("rps", "p50_us", "p99_us", "cpu_s",
                                                 "req_per_cpu_s", "hwm_kib")}
            s["runs"] = f"{len(good)}/{len(mine)}"
            s["errors"] = sum(int(num(r["errors"]) or 0) for r in good)
            out[(proxy, conns)] = s
    return out


def print_load_table(summary, proxies, conns_levels):
    print("| proxy | conns | req/s | p50 | p99 | proxy CPU s | req per CPU-s | peak RSS | errors | runs |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for conns in conns_levels:
        for proxy in proxies:
            s = summary[(proxy, conns)]
            cpu = "–" if s["cpu_s"] is None else f"{s['cpu_s']:.1f}"
            print(f"| {LABEL[proxy]} | {conns} | {fmt_int(s['rps'])} | {fmt_ms(s['p50_us'])} "
                  f"| {fmt_ms(s['p99_us'])} | {cpu} | {fmt_int(s['req_per_cpu_s'])} "
                  f"| {fmt_mib(s['hwm_kib'])} | {s['errors']} | {s['runs']} |")


def print_ratio_table(summary, peers, conns_levels):
    print("| conns | metric | " + " | ".join(f"cutover / {LABEL[p]}" for p in peers) + " |")
    print("|--:|---|" + "--:|" * len(peers))
    metrics = (("req/s (higher is better)", "rps"),
               ("req per CPU-s (higher is better)", "req_per_cpu_s"),
               ("p50 latency (lower is better)", "p50_us"),
               ("p99 latency (lower is better)", "p99_us"),
               ("peak RSS (lower is better)", "hwm_kib"))
    for conns in conns_levels:
        mine = summary[("cutover", conns)]
        for label, key in metrics:
            cells = [fmt_ratio(mine[key], summary[(p, conns)][key]) for p in peers]
            print(f"| {conns} | {label} | " + " | ".join(cells) + " |")


def summarize_idle(rows, proxies):
    out = {}
    for proxy in proxies:
        mine = [r for r in rows if r["proxy"] == proxy]
        good = [r for r in mine if r["status"] == "ok"]
        out[proxy] = {k: median_of(good, k) for k in ("open", "rss_before_kib",
                                                      "rss_after_kib", "bytes_per_conn")}
        out[proxy]["runs"] = f"{len(good)}/{len(mine)}"
        bad = sorted({r["status"] for r in mine if r["status"] != "ok"})
        out[proxy]["problems"] = ", ".join(bad)
    return out


def print_idle_table(idle, proxies, count):
    print(f"| proxy | RSS before | RSS with {count:,} idle | growth per connection | runs |")
    print("|---|--:|--:|--:|--:|")
    for proxy in proxies:
        s = idle[proxy]
        per = "–" if s["bytes_per_conn"] is None else f"{s['bytes_per_conn']:,.0f} B"
        runs = s["runs"] + (f" ({s['problems']})" if s["problems"] else "")
        print(f"| {LABEL[proxy]} | {fmt_mib(s['rss_before_kib'])} | {fmt_mib(s['rss_after_kib'])} "
              f"| {per} | {runs} |")


def verdict(ok, detail):
    return ("met" if ok else "**missed**") + f" ({detail})"


def print_targets(summary, idle, peers, conns_levels, has_idle):
    print("| target | conns | result |")
    print("|---|--:|---|")
    for conns in conns_levels:
        c = summary[("cutover", conns)]
        peer = {p: summary[(p, conns)] for p in peers}
        if "haproxy" in peer:
            h = peer["haproxy"]["req_per_cpu_s"]
            if c["req_per_cpu_s"] is None or h is None:
                res = "not measured"
            else:
                res = verdict(c["req_per_cpu_s"] >= h, f"{fmt_ratio(c['req_per_cpu_s'], h)} HAProxy's")
            print(f"| req per proxy CPU-second >= HAProxy's | {conns} | {res} |")
        rates = [peer[p]["rps"] for p in peers if peer[p]["rps"] is not None]
        if c["rps"] is None or not rates:
            res = "not measured"
        else:
            best = max(rates)
            res = verdict(c["rps"] >= best, f"{fmt_ratio(c['rps'], best)} the faster peer")
        print(f"| req/s >= both peers' | {conns} | {res} |")
        p99s = [peer[p]["p99_us"] for p in peers if peer[p]["p99_us"] is not None]
        if c["p99_us"] is None or not p99s:
            res = "not measured"
        else:
            best = min(p99s)
            res = verdict(c["p99_us"] <= best * P99_SLACK,
                          f"{fmt_ms(c['p99_us'])} vs {fmt_ms(best)}, {fmt_ratio(c['p99_us'], best)}")
        print(f"| p99 <= 1.2 x the better peer's | {conns} | {res} |")
    if has_idle:
        per = idle.get("cutover", {}).get("bytes_per_conn")
        res = "not measured" if per is None else verdict(per <= IDLE_BYTES_MAX, f"{per:,.0f} B")
        print(f"| RSS growth per idle keep-alive connection <= 1 KiB | – | {res} |")


def print_raw(load_rows, idle_rows):
    print("<details><summary>All runs</summary>")
    print()
    print("| round | proxy | conns | status | req/s | p50 | p99 | CPU s | req per CPU-s | peak RSS "
          "| errors | proxy CPU busy | load CPU busy | other work on proxy CPU |")
    print("|--:|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in sorted(load_rows, key=lambda r: (int(r["round"]), int(r["conns"]))):
        print(f"| {r['round']} | {LABEL[r['proxy']]} | {r['conns']} | {r['status']} "
              f"| {fmt_int(num(r['rps']))} | {fmt_ms(num(r['p50_us']))} | {fmt_ms(num(r['p99_us']))} "
              f"| {r['cpu_s']} | {fmt_int(num(r['req_per_cpu_s']))} | {fmt_mib(num(r['hwm_kib']))} "
              f"| {r['errors']} | {pct(r['proxy_cpu_busy_pct'])} | {pct(r['load_cpu_busy_pct'])} "
              f"| {pct(r['other_pct'])} |")
    if idle_rows:
        print()
        print("| round | proxy | status | open | RSS before | RSS after | growth per connection |")
        print("|--:|---|---|--:|--:|--:|--:|")
        for r in idle_rows:
            per = num(r["bytes_per_conn"])
            print(f"| {r['round']} | {LABEL[r['proxy']]} | {r['status']} | {r['open']} "
                  f"| {fmt_mib(num(r['rss_before_kib']))} | {fmt_mib(num(r['rss_after_kib']))} "
                  f"| {'–' if per is None else f'{per:,.0f} B'} |")
    print()
    print("</details>")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--idle", required=True)
    ap.add_argument("--notes", required=True)
    args = ap.parse_args()

    meta = read_meta(args.meta)
    load_rows = read_tsv(args.load, LOAD_COLS)
    idle_rows = read_tsv(args.idle, IDLE_COLS)
    with open(args.notes, encoding="utf-8") as f:
        notes = f.read().strip()
    proxies = meta["proxies"].split()
    conns_levels = meta["conns"].split()
    peers = [p for p in PEERS if p in proxies]
    idle_count = int(meta["idle_conns"])

    print(f"### Results {meta['date']}")
    print()
    print(f"{meta['cpu']}, {meta['ncpu']} CPUs, Linux {meta['kernel']}. "
          f"cutover {meta['cutover'].removeprefix('cutover ')} (tree {meta.get('tree', '?')}), HAProxy {meta['haproxy']}, NGINX {meta['nginx']}, "
          f"wrk {meta['wrk']}.")
    print(f"{meta['rounds']} interleaved rounds; each run: fresh proxy, {meta['warmup']} warm-up, "
          f"then `wrk -t{meta['threads']} -cN -d{meta['duration']} --latency`; medians over rounds. "
          f"Proxy (one worker) on CPU {meta['proxy_cpu']}; wrk and the nginx backend on "
          f"CPU {meta['load_cpu']}.")
    busy = [num(v) for v in meta.get("background_busy", "").split()]
    if len(busy) == 2 and None not in busy:
        line = (f"Before the start, CPU {meta['proxy_cpu']} was {busy[0]:.0f} % and "
                f"CPU {meta['load_cpu']} {busy[1]:.0f} % busy with other work.")
        if max(busy) > BACKGROUND_BUSY_MAX:
            line = f"**Warning: the machine was not idle; these figures include its other work.** {line}"
        print(line)
    disturbed = [r for r in load_rows if (num(r.get("other_pct")) or 0) > OTHER_WORK_MAX]
    if disturbed:
        print(f"**Warning: in {len(disturbed)} of {len(load_rows)} runs more than "
              f"{OTHER_WORK_MAX} % of the proxy's CPU went to other work (see the last column "
              "of the raw table); those figures are not reliable.**")
    print()
    if notes:
        print("Failures:")
        print()
        print(notes)
        print()
    summary = summarize_load(load_rows, proxies, conns_levels)
    print_load_table(summary, proxies, conns_levels)
    print()
    if "cutover" in proxies and peers:
        print_ratio_table(summary, peers, conns_levels)
        print()
    idle = {}
    if idle_count > 0 and idle_rows:
        idle = summarize_idle(idle_rows, proxies)
        print_idle_table(idle, proxies, idle_count)
        print()
    if "cutover" in proxies and peers:
        print("Targets:")
        print()
        print_targets(summary, idle, peers, conns_levels, idle_count > 0 and bool(idle_rows))
        print()
    print_raw(load_rows, idle_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
