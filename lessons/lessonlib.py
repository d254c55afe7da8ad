#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""lessons/lessonlib.py - the lessons' results and Markdown, on the helpers
of bench/benchlib.py; the lessons' bash scripts only run programs and
record facts (fact ID KEY VALUE in DIR/facts, see bench/run.sh).

    lessonlib.py results compare|lossy|chat DIR OUT.json
                      the lesson's results from DIR (its facts, flood's JSON
                      reports); exit 1 when a run failed
    lessonlib.py render compare|compare-dat|lossy|chat FILE.json
    lessonlib.py gaps CAPTURE.txt  the seconds between a tcpdump capture's
                                   packets (lessons/lesson-handshake.sh)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from benchlib import (Num, enc, facts_by_id, fmt_num, get, is_num, load, main, md_cell, members,  # noqa: E402
                      raw_json, ratio, read_facts, rnd, row, typed)


def host_of(top):
    return {"kernel": top.get("kernel", ""), "nproc": typed(top.get("nproc", ""))}


def add_note(note, more):
    """more, then what was noted before, as the scripts always wrote it."""
    return more + ("; " + note if note else "")


# ---------------------------------------------------------------------------
# make compare (lessons/compare.sh): stserver vs mtserver


def within_cap(us, cap):
    """us in seconds, or "" when absent or beyond the budget."""
    if not is_num(us) or float(us) / 1e6 > float(cap):
        return ""
    return "%.6f" % (float(us) / 1e6)


def compare_run(tdir, rid, f, cap):
    """One run: flood's report (ID.json), its --verify-log (ID.verify.json),
    the exit statuses; its note says what failed."""
    srv, n = f["server"], int(f["clients"])
    if f.get("started") != "1":
        return {"server": srv, "clients": n, "note": "server did not start"}
    flood = load(os.path.join(tdir, rid + ".json")) or {}
    check = load(os.path.join(tdir, rid + ".verify.json")) or {}
    note = "" if f["src"] == "0" else "server exit status " + f["src"]
    capped = f["capped"] == "true" and get(flood, "elapsed_s") != ""  # out of budget, as stserver may be
    if not get(flood, "elapsed_s"):
        note = add_note(note, "flood failed (status %s, no report)" % f["frc"])
    elif not capped and f["frc"] != "0":
        note = add_note(note, "flood status " + f["frc"])
    # A client never served has no sample: the median of all N is flood's
    # only while at least half were served, the max only when all were.
    count = int(get(check, "first_logged_us.count") or 0)
    p50 = within_cap(get(check, "first_logged_us.p50"), cap) if count * 2 >= n else ""
    wmax = within_cap(get(check, "first_logged_us.max"), cap) if count == n else ""
    if f["vrc"] != "0":
        note = add_note(note, "verify-log failed")
    if not capped and not wmax:
        note = add_note(note, "a client's first message is missing from the log")
    elapsed, answered = get(flood, "elapsed_s"), get(flood, "messages_answered")
    connect = get(flood, "connect_us.max")
    return {"server": srv, "clients": n, "capped": capped, "note": note, "elapsed_s": typed(elapsed),
            "answered": typed(answered), "messages_per_s": typed(ratio(answered, elapsed, 1)),
            "first_reply_p50_s": typed(p50), "first_reply_max_s": typed(wmax), "first_replies_logged": count,
            "connect_max_s": typed("%.6f" % (float(connect) / 1e6) if is_num(connect) else "")}


def results_compare(tdir, out):
    by_id = facts_by_id(read_facts(os.path.join(tdir, "facts")))
    top = by_id["compare"]
    runs = {fid[4:]: compare_run(tdir, fid[4:], f, top["cap_s"]) for fid, f in by_id.items()
            if fid.startswith("run:")}
    text = ('{\n"schema": "mtserver-compare/1",\n"quick": %s,\n"started": %s,\n"duration_s": %s,\n"host": %s,\n'
            '"clients": %s,\n"messages": %s,\n"think_ms": %s,\n"cap_s": %s,\n"runs": %s\n}\n') % (
        enc(top["quick"] == "1"), enc(top["started"]), top["duration_s"], enc(host_of(top)),
        enc([typed(c) for c in top["clients"]]), top["messages"], top["think_ms"], top["cap_s"], members(runs))
    write(out, text)
    return 1 if any(r["note"] for r in runs.values()) else 0


def fmt_s(s):
    """A duration for the table (ms below 1 s); "-" if none."""
    if not is_num(s) or float(s) < 0:
        return "-"
    v = float(s)
    if v < 0.001:
        return "%.2f ms" % (v * 1000)
    return "%.1f ms" % (v * 1000) if v < 1 else "%.2f s" % v


def render_compare(doc):
    j = lambda path: get(doc, path)  # noqa: E731
    m, think, cap = j("messages"), j("think_ms"), j("cap_s")
    out = ["# stserver vs mtserver: interactive clients\n\n"]
    out.append("""Each client connects, sends %s messages %s ms apart (`flood -n N -m %s --think %s --echo`)
and waits for each echo; every client starts at once.  stserver serves one client at a time (listen backlog 5),
mtserver one thread per client.  Budget %s s per run: stserver's larger cases would need
N x %s s.\n\n""" % (m, think, m, think, cap, "%g" % ((float(m) - 1) * float(think) / 1000)))
    out.append("""*First reply* is each client's wait from the moment flood starts connecting to the moment the server
reads its first message (and echoes it back): the server log's timestamp of the client's first message minus
flood's start, as `flood --verify-log --run-start` reports it (first_logged_us). *Slowest connect* is flood's longest connect() among those that completed (the client's
view): 1 s, 3 s ... mean SYNs were dropped while the backlog was full and retried.  A completed connect() is not
an accept(): the connection may still wait in the queue for its turn.\n\n""")
    out.append("| N | server | total time | msgs/s | first reply p50 | first reply max | slowest connect | capped |\n")
    out.append("|--:|:--|--:|--:|--:|--:|--:|:--|\n")
    wait = lambda s: fmt_s(s) if s else ">%s s" % cap  # noqa: E731
    for n in doc.get("clients", []):
        for srv in ("stserver", "mtserver"):
            r = "runs.%s_%s." % (srv, n)
            if not j(r + "server"):
                continue
            if j(r + "capped") == "true":
                total = "capped (>%s s)" % cap
                mark = "capped: %s of %d messages answered in %s s" % (j(r + "answered"),
                                                                      int(j(r + "clients")) * int(m), cap)
            else:
                total, mark = fmt_s(j(r + "elapsed_s")), ""
            if j(r + "note"):
                mark = (mark + "; " if mark else "") + j(r + "note")
            out.append(row(j(r + "clients"), j(r + "server"), total, j(r + "messages_per_s"),
                           wait(j(r + "first_reply_p50_s")), wait(j(r + "first_reply_max_s")),
                           fmt_s(j(r + "connect_max_s")), md_cell(mark)))
    out.append("\nHost: %s, %s CPUs; %s; whole run %s s (`lessons/compare.sh`%s).\n" % (
        j("host.kernel"), j("host.nproc"), j("started"), j("duration_s"), ", QUICK=1" if j("quick") == "true" else ""))
    return "".join(out)


def render_compare_dat(doc):
    """One block per server (gnuplot "index 0" = stserver, "index 1" =
    mtserver), times in seconds, -1 = beyond the budget."""
    j = lambda path: get(doc, path)  # noqa: E731
    or_neg = lambda path: j(path) or "-1"  # noqa: E731
    out = ["# compare.sh data; times in seconds, -1 = not reached within the budget (%s s)\n" % j("cap_s"),
           "# N server total msgs_per_s wait_p50 wait_max connect_max capped\n"]
    for i, srv in enumerate(("stserver", "mtserver")):
        out.append("%s# %s\n" % ("\n\n" if i else "", srv))
        for n in doc.get("clients", []):
            r = "runs.%s_%s." % (srv, n)
            if not j(r + "server"):
                continue
            capped = j(r + "capped") == "true"
            out.append("%s %s %s %s %s %s %s %s\n" % (
                n, srv, "-1" if capped else or_neg(r + "elapsed_s"), or_neg(r + "messages_per_s"),
                or_neg(r + "first_reply_p50_s"), or_neg(r + "first_reply_max_s"), or_neg(r + "connect_max_s"),
                1 if capped else 0))
    return "".join(out)


# ---------------------------------------------------------------------------
# make lesson-udp (lessons/lesson-udp.sh): TCP vs UDP on a lossy link


def lossy_run(tdir, rid, f):
    flood = load(os.path.join(tdir, rid + ".json")) or {}
    check = load(os.path.join(tdir, rid + ".verify.json")) or {}
    sent, found = get(flood, "messages_sent") or "0", get(check, "found") or "0"
    dup, lost, notes, failed = get(check, "duplicated") or "0", int(sent) - int(found), [], False
    # Over UDP flood has nothing to complain about (no --echo): any failure
    # is real, as over TCP.
    for bad, what in ((f["src"] != "0", "mtserver exit status " + f["src"]),
                      (f["frc"] != "0", "flood status " + f["frc"]),
                      (f["transport"] == "tcp" and lost != 0, "TCP lost messages!")):
        if bad:
            notes.append(what)
            failed = True
    if dup != "0":
        notes.append(dup + " duplicated")
    rec = {"label": f["label"], "transport": f["transport"], "loss_pct": typed(f["loss_pct"]), "sent": typed(sent),
           "logged": typed(found), "lost": lost,
           "lost_pct": Num("%.2f" % (100 * lost / int(sent) if int(sent) > 0 else 0)),
           "elapsed_s": typed(get(flood, "elapsed_s")), "packets_dropped": typed(f["packets_dropped"]),
           "tcp_retransmits": typed(f["tcp_retransmits"]), "note": "; ".join(notes)}
    return rec, failed


def results_lossy(tdir, out):
    by_id = facts_by_id(read_facts(os.path.join(tdir, "facts")))
    top = by_id["lossy"]
    runs = [lossy_run(tdir, fid[4:], f) for fid, f in by_id.items() if fid.startswith("run:")]
    text = ('{\n"schema": "mtserver-lossy/1",\n"quick": %s,\n"started": %s,\n"host": %s,\n"clients": %s,\n'
            '"messages": %s,\n"rate": %s,\n"loss_pct": %s,\n"runs": [\n%s\n]\n}\n') % (
        enc(top["quick"] == "1"), enc(top["started"]), enc(host_of(top)), top["clients"], top["messages"],
        top["rate"], top["loss_pct"], ",\n".join(enc(r) for r, _ in runs))
    write(out, text)
    return 1 if any(failed for _, failed in runs) else 0


def render_lossy(doc):
    j = lambda path: get(doc, path)  # noqa: E731
    out = ["# TCP vs UDP on a lossy link\n\n"]
    out.append("""mtserver and flood in a network namespace of their own; nftables drops a random LOSS % of the packets
arriving on lo (`numgen random mod 100 < LOSS drop` on the input hook: each packet gets one chance to be
dropped, and the sender is not told).  {c} clients x {m} messages of 32 bytes, the same over both
transports (`flood -n {c} -m {m}` with `--udp --rate {r}`, `--rate {r}` or nothing);
*logged* counts the messages `flood --verify-log` finds in the server's log.\n\n""".format(
        c=j("clients"), m=j("messages"), r=j("rate")))
    out.append("*packets dropped*: the nftables rule's counter (every packet: data, ACKs, handshakes);\n")
    out.append("*TCP retransmits*: the namespace's TcpRetransSegs during the run.\n\n")
    out.append("| transport | loss | sent | logged | lost | lost % | time | packets dropped | TCP retransmits | note |\n")
    out.append("|:--|--:|--:|--:|--:|--:|--:|--:|--:|:--|\n")
    for i in range(len(doc.get("runs", []))):
        r = "runs.%d." % i
        out.append(row(j(r + "label"), j(r + "loss_pct") + " %", j(r + "sent"), j(r + "logged"), j(r + "lost"),
                       j(r + "lost_pct") + " %", "%.3f s" % float(j(r + "elapsed_s") or 0),
                       j(r + "packets_dropped"), j(r + "tcp_retransmits"), md_cell(j(r + "note"))))
    out.append("\nHost: %s, %s CPUs; %s (`lessons/lesson-udp.sh`%s).\n" % (
        j("host.kernel"), j("host.nproc"), j("started"), ", QUICK=1" if j("quick") == "true" else ""))
    return "".join(out)


# ---------------------------------------------------------------------------
# make lesson-chat (lessons/lesson-chat.sh): the obvious chat server

CHAT_RUNS = ("naive-0", "naive-1", "mtserver-0", "mtserver-1")


def results_chat(tdir, out):
    top = facts_by_id(read_facts(os.path.join(tdir, "facts")))["chat"]
    runs = ",".join("\n%s: %s" % (enc(k), raw_json(os.path.join(tdir, k + ".json")) or "null") for k in CHAT_RUNS)
    write(out, '{"members": %s, "messages": %s, "size": %s, "timeout_ms": %s, "runs": {%s\n}}\n' % (
        top["members"], top["messages"], top["size"], top["timeout_ms"], runs))
    doc = load(out) or {}
    return 0 if all(get(doc, "runs.%s.ok" % k) == "true" for k in ("mtserver-0", "mtserver-1")) else 1


def render_chat(doc):
    j = lambda path: get(doc, path)  # noqa: E731
    out = ["| server | deaf members | deliveries | of | time (s) | deliveries/s | p99 delivery (ms) | result |\n",
           "|:--|--:|--:|--:|--:|--:|--:|:--|\n"]
    for k in CHAT_RUNS:
        r = "runs.%s." % k
        p99 = j(r + "delivery_us.p99")
        out.append(row("obvious (naive_chat.c)" if k.startswith("naive") else "mtserver --chat", k[-1],
                       fmt_num(j(r + "deliveries")), fmt_num(j(r + "expected")), rnd(j(r + "elapsed_s"), 2),
                       fmt_num(rnd(j(r + "deliveries_per_s"))), "%.1f" % (float(p99 or 0) / 1000),
                       "all delivered" if j(r + "ok") == "true"
                       else "stalled: no delivery for %d s" % (int(j("timeout_ms")) // 1000)))
    return "".join(out)


# ---------------------------------------------------------------------------
# make lesson-handshake (lessons/lesson-handshake.sh)


def gaps(lines):
    """The seconds between consecutive packets of `tcpdump -tt` text."""
    times = [float(w[0]) for w in (line.split() for line in lines) if w and is_num(w[0])]
    return ", ".join("%.1f s" % (b - a) for a, b in zip(times, times[1:]))


def cmd_gaps(args):
    with open(args[0], encoding="utf-8", errors="replace") as f:
        print(gaps(f))
    return 0


# ---------------------------------------------------------------------------


def write(path, text):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


RESULTS = {"compare": results_compare, "lossy": results_lossy, "chat": results_chat}
RENDER = {"compare": render_compare, "compare-dat": render_compare_dat, "lossy": render_lossy, "chat": render_chat}


def cmd_results(args):
    return RESULTS[args[0]](args[1], args[2])


def cmd_render(args):
    doc = load(args[1])
    if doc is None:
        raise SystemExit("lessonlib: cannot read %s" % args[1])
    sys.stdout.write(RENDER[args[0]](doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv, {"results": cmd_results, "render": cmd_render, "gaps": cmd_gaps}))
