#!/usr/bin/env python3
"""Markdown report for tests/bench/tls.sh: per-round figures, means over rounds and cutover's
ratios against each peer, for keep-alive requests/s and full / resumed handshakes/s."""
import argparse
import os
import sys
import statistics

LABEL = {"cutover": "cutover", "haproxy": "HAProxy", "nginx": "NGINX"}
KEY_LABEL = {"ecdsa": "ECDSA P-256", "rsa": "RSA-2048"}
TEST_LABEL = {
    "keepalive": "requests/s on keep-alive TLS connections",
    "full": "full handshakes/s (new connection, no resumption, one request each)",
    "resumed": "resumed handshakes/s (new connection, session resumed, one request each)",
}
SHORT = {"keepalive": "keep-alive requests", "full": "full handshakes",
         "resumed": "resumed handshakes"}
UNIT = {"keepalive": "req/s", "full": "handshakes/s", "resumed": "handshakes/s"}
COLS = ("proxy", "key", "test", "round", "status", "rate", "p50_us", "p99_us", "cpu_s",
        "per_cpu_s", "hwm_kib", "errors", "proxy_busy", "load_busy", "other", "new", "reused")
MEASURED = ("ok", "errors")
# The helpers tls.sh's figures share with run.sh's report (the same TSV and meta formats).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import (  # noqa: E402
    BACKGROUND_BUSY_MAX, OTHER_WORK_MAX, fmt_int, fmt_ms, num, read_meta, read_tsv as read_rows)


def mean_of(rows, key):
    values = [num(r[key]) for r in rows if num(r[key]) is not None]
    return statistics.mean(values) if values else None


def fmt_ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}x"


def spread(rows, key):
    values = [num(r[key]) for r in rows if num(r[key]) is not None]
    if len(values) < 2:
        return None
    return 100 * (max(values) - min(values)) / statistics.mean(values)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--negotiated", required=True)
    ap.add_argument("--notes", required=True)
    ap.add_argument("--instructions", help="instructions.tsv of the callgrind runs")
    args = ap.parse_args()

    meta = read_meta(args.meta)
    rows = read_rows(args.results, COLS)
    negotiated = read_rows(args.negotiated, ("proxy", "key", "protocol", "cipher", "group", "sig"))
    proxies = meta["proxies"].split()
    keys = meta["keys"].split()
    tests = meta["tests"].split()
    rounds = int(meta["rounds"])
    peers = [p for p in proxies if p != "cutover"]

    print("## TLS termination benchmark")
    print()
    print(f"{meta['date']}, {meta['cpu']}, {meta['ncpu']} CPUs, Linux {meta['kernel']}. "
          f"{meta['cutover']} (HEAD `{meta['head']}`, tree `{meta['tree']}`), "
          f"HAProxy {meta['haproxy']} (running on OpenSSL {meta['haproxy_openssl']}), "
          f"NGINX {meta['nginx']}, wrk {meta['wrk']}, clients' {meta['openssl']}.")
    if meta.get("timed") == "0":
        rounds = 0
    else:
        print_timed_setup(meta, rounds)
    bg = meta.get("background_busy", "").split()
    if len(bg) == 2:
        print(f"Busy before the start: CPU {meta['proxy_cpu']} {bg[0]} %, "
              f"CPU {meta['load_cpu']} {bg[1]} %.")
        if any(num(b) is not None and num(b) > BACKGROUND_BUSY_MAX for b in bg):
            print()
            print(f"**Warning: a CPU was more than {BACKGROUND_BUSY_MAX} % busy with other work "
                  "before the start; these figures are not worth keeping.**")
    print()

    if negotiated:
        print("Negotiated with each proxy's defaults (`openssl s_client`, the clients' OpenSSL "
              "defaults):")
        print()
        print("| proxy | certificate | protocol | cipher | key exchange | server signature |")
        print("|---|---|---|---|---|---|")
        for n in negotiated:
            print(f"| {LABEL[n['proxy']]} | {KEY_LABEL.get(n['key'], n['key'])} | {n['protocol']} "
                  f"| {n['cipher']} | {n['group']} | {n['sig']} |")
        print()

    ratio_lines = []
    for key in keys:
        for test in tests:
            sel = [r for r in rows if r["key"] == key and r["test"] == test]
            if not sel:
                continue
            print(f"### {KEY_LABEL[key]}: {TEST_LABEL[test]}")
            print()
            head = "| proxy | " + " | ".join(f"round {i}" for i in range(1, rounds + 1))
            head += f" | mean {UNIT[test]} | proxy CPU s | per proxy CPU-s |"
            align = "|---|" + "--:|" * rounds + "--:|--:|--:|"
            if test == "keepalive":
                head += " p50 | p99 |"
                align += "--:|--:|"
            else:
                head += " new / resumed sessions |"
                align += "--:|"
            head += " proxy CPU busy | load CPU busy | errors | runs |"
            align += "--:|--:|--:|--:|"
            print(head)
            print(align)
            means = {}
            for p in proxies:
                mine = [r for r in sel if r["proxy"] == p]
                ok = [r for r in mine if r["status"] in MEASURED]
                by_round = {int(r["round"]): r for r in mine}
                cells = []
                for i in range(1, rounds + 1):
                    r = by_round.get(i)
                    if r is None:
                        cells.append("–")
                    elif r["status"] in MEASURED:
                        cells.append(fmt_int(num(r["rate"])))
                    else:
                        cells.append(r["status"])
                rate = mean_of(ok, "rate")
                per_cpu = mean_of(ok, "per_cpu_s")
                means[p] = (rate, per_cpu, mean_of(ok, "p50_us"), mean_of(ok, "p99_us"))
                line = (f"| {LABEL[p]} | " + " | ".join(cells) + f" | {fmt_int(rate)} | "
                        f"{fmt_float(mean_of(ok, 'cpu_s'))} | {fmt_int(per_cpu)} |")
                if test == "keepalive":
                    line += f" {fmt_ms(means[p][2])} | {fmt_ms(means[p][3])} |"
                else:
                    new = sum(int(num(r["new"]) or 0) for r in ok)
                    reused = sum(int(num(r["reused"]) or 0) for r in ok)
                    line += f" {new:,} / {reused:,} |"
                errors = sum(int(num(r["errors"]) or 0) for r in ok)
                line += (f" {fmt_pct(mean_of(ok, 'proxy_busy'))} | {fmt_pct(mean_of(ok, 'load_busy'))}"
                         f" | {errors} | {len(ok)}/{len(mine)} |")
                print(line)
            print()
            if "cutover" in means:
                for peer in peers:
                    if peer not in means:
                        continue
                    c, h = means["cutover"], means[peer]
                    ratio_lines.append(
                        (KEY_LABEL[key], SHORT[test], LABEL[peer],
                         fmt_ratio(c[0], h[0]), fmt_ratio(c[1], h[1]),
                         fmt_ratio(c[3], h[3]) if test == "keepalive" else "–",
                         per_round_ratios(sel, peer, rounds), clean_pairs(sel, peer, rounds)))

    if ratio_lines:
        print("### Ratios")
        print()
        print("Ratios of the means; above 1 is better for cutover except p99 latency. "
              "Per round: cutover's rate over the peer's in the same round. Quiet rounds: "
              "the mean of those per-round ratios (rate; per proxy CPU-s) over the rounds in "
              f"which neither run had more than {OTHER_WORK_MAX} % of the proxy's CPU taken by "
              "other work, and how many rounds that was.")
        print()
        print("| certificate | load | peer | cutover / peer (rate) | per proxy CPU-s | p99 "
              "| per round (rate) | quiet rounds: rate; per CPU-s (n) |")
        print("|---|---|---|--:|--:|--:|---|---|")
        for line in ratio_lines:
            print("| " + " | ".join(line) + " |")
        print()

    noisy = [r for r in rows if r["status"] in MEASURED and num(r["other"]) is not None
             and num(r["other"]) > OTHER_WORK_MAX]
    if noisy:
        print(f"**Warning:** in {len(noisy)} run(s) more than {OTHER_WORK_MAX} % of the proxy's "
              "CPU went to other work (see the raw table): "
              + ", ".join(f"round {r['round']} {LABEL[r['proxy']]} {r['key']} {r['test']} "
                          f"{r['other']} %" for r in noisy) + ".")
        print()
    with open(args.notes, encoding="utf-8") as f:
        notes = f.read().strip()
    if notes:
        print("Failures:")
        print()
        print(notes)
        print()

    if args.instructions:
        instructions_report(args.instructions, meta, keys, tests, proxies)

    if not rows:
        return
    print("<details><summary>All runs</summary>")
    print()
    print("| round | proxy | certificate | load | status | rate | p50 | p99 | CPU s | per CPU-s "
          "| peak RSS | errors | new | resumed | proxy CPU busy | load CPU busy | other work on proxy CPU |")
    print("|--:|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in sorted(rows, key=lambda r: (int(r["round"]), keys.index(r["key"]),
                                         tests.index(r["test"]))):
        hwm = num(r["hwm_kib"])
        print(f"| {r['round']} | {LABEL[r['proxy']]} | {r['key']} | {r['test']} | {r['status']} | "
              f"{fmt_int(num(r['rate']))} | {fmt_ms(num(r['p50_us']))} | {fmt_ms(num(r['p99_us']))} | "
              f"{r['cpu_s']} | {fmt_int(num(r['per_cpu_s']))} | "
              f"{'–' if hwm is None else f'{hwm / 1024:.1f} MiB'} | {r['errors']} | {r['new']} | "
              f"{r['reused']} | {fmt_pct(num(r['proxy_busy']))} | {fmt_pct(num(r['load_busy']))} | "
              f"{fmt_pct(num(r['other']))} |")
    print()
    print("</details>")


def print_timed_setup(meta, rounds):
    print(f"{rounds} interleaved rounds (proxy order rotated each round), every run a fresh "
          f"proxy with one worker on CPU {meta['proxy_cpu']}, clients and the nginx backend on "
          f"CPU {meta['load_cpu']}; each run: {meta['warmup']} s warm-up with the same load, "
          f"then {meta['duration']} s measured.")
    print(f"Keep-alive: `wrk -t1 -c{meta['conns']} --latency https://127.0.0.1:PORT/`. "
          f"Handshakes: {meta['hs_clients']} concurrent `openssl s_time -new` (full) or "
          f"`-reuse` (resumed) clients, one `GET / HTTP/1.0` with a `Host` header per connection, "
          f"closed by the proxy after the response.")


def instructions_report(path, meta, keys, tests, proxies):
    rows = read_rows(path, ("proxy", "key", "test", "seconds", "status", "ops", "ir"))
    if not rows:
        return
    s1, s2 = (int(x) for x in meta["instr_seconds"].split())
    print("### Instructions per operation (callgrind)")
    print()
    print(f"Each proxy under `valgrind --tool=callgrind` ({meta.get('valgrind', '')}), once with "
          f"{s1} s and once with {s2} s of the same load; instructions per operation = "
          "(Ir2 - Ir1) / (operations2 - operations1), so start-up, the clients' first "
          "connections and shutdown cancel out. Operations: requests (keep-alive, "
          f"`wrk -c{meta['instr_conns']}`) or connections, each a handshake and one request "
          f"(full, resumed; {meta['hs_clients']} `s_time` clients). These counts do not "
          "depend on CPU speed or on other work on the machine; they leave out the kernel "
          "(TCP, accept, close), which the timed runs include.")
    print()
    names = [p for p in proxies if p != "nginx"]
    head = "| certificate | load | " + " | ".join(
        f"{LABEL[p]} instructions/op (ops {s1} s / {s2} s)" for p in names)
    peers = [p for p in names if p != "cutover"]
    head += "".join(f" | cutover / {LABEL[p]}" for p in peers) + " |"
    print(head)
    print("|---|---|" + "--:|" * (len(names) + len(peers)))
    for key in keys:
        for test in tests:
            per_op = {}
            cells = []
            for p in names:
                runs = {int(r["seconds"]): r for r in rows
                        if r["proxy"] == p and r["key"] == key and r["test"] == test}
                a, b = runs.get(s1), runs.get(s2)
                if (a and b and a["status"] == "ok" and b["status"] == "ok"
                        and int(b["ops"]) > int(a["ops"])):
                    v = (int(b["ir"]) - int(a["ir"])) / (int(b["ops"]) - int(a["ops"]))
                    per_op[p] = v
                    cells.append(f"{v:,.0f} ({int(a['ops']):,} / {int(b['ops']):,})")
                else:
                    cells.append("–")
            line = f"| {KEY_LABEL[key]} | {SHORT[test]} | " + " | ".join(cells)
            for p in peers:
                line += " | " + fmt_ratio(per_op.get("cutover"), per_op.get(p))
            print(line + " |")
    print()


def fmt_float(v):
    return "–" if v is None else f"{v:.1f}"


def fmt_pct(v):
    return "–" if v is None else f"{v:.0f} %"


def clean_pairs(sel, peer, rounds):
    rates, per_cpu = [], []
    for i in range(1, rounds + 1):
        c = [r for r in sel if r["proxy"] == "cutover" and int(r["round"]) == i
             and r["status"] in MEASURED]
        p = [r for r in sel if r["proxy"] == peer and int(r["round"]) == i
             and r["status"] in MEASURED]
        if not (c and p):
            continue
        c, p = c[0], p[0]
        if any(num(r["other"]) is None or num(r["other"]) > OTHER_WORK_MAX for r in (c, p)):
            continue
        if num(p["rate"]) and num(p["per_cpu_s"]):
            rates.append(num(c["rate"]) / num(p["rate"]))
            per_cpu.append(num(c["per_cpu_s"]) / num(p["per_cpu_s"]))
    if not rates:
        return "– (0)"
    return (f"{statistics.mean(rates):.2f}x; {statistics.mean(per_cpu):.2f}x ({len(rates)})")


def per_round_ratios(sel, peer, rounds):
    out = []
    for i in range(1, rounds + 1):
        c = [r for r in sel if r["proxy"] == "cutover" and int(r["round"]) == i
             and r["status"] in MEASURED]
        p = [r for r in sel if r["proxy"] == peer and int(r["round"]) == i
             and r["status"] in MEASURED]
        if c and p and num(p[0]["rate"]):
            out.append(f"{num(c[0]['rate']) / num(p[0]['rate']):.2f}")
        else:
            out.append("–")
    return ", ".join(out)


if __name__ == "__main__":
    main()
