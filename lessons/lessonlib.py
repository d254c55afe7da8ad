#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""lessons/lessonlib.py - the lessons' results and Markdown, on the helpers
of bench/benchlib.py; the lessons' bash scripts only run programs and
record facts (fact ID KEY VALUE in DIR/facts, see bench/run.sh).

    lessonlib.py results compare|lossy|chat|models DIR OUT.json
                      the lesson's results from DIR (its facts, flood's JSON
                      reports); exit 1 when a run failed
    lessonlib.py render compare|compare-dat|lossy|chat|models|models-dat FILE.json
    lessonlib.py gaps CAPTURE.txt  the seconds between a tcpdump capture's
                                   packets (lessons/lesson-handshake.sh)
    lessonlib.py ticks PID         the CPU ticks (user + system, the
                                   process's and its reaped children's) of
                                   a process, from /proc/PID/stat
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
# make lesson-models (lessons/lesson-models.sh): every concurrency model

# The models in the order of the table (Stevens' chapter 30, then the event
# loops), and what each one is, for the table's header.
MODELS = ("stserver", "mtserver", "ptserver", "fkserver", "epserver", "rpserver", "urserver", "redis-server")
MODEL_NAMES = {"stserver": "iterative", "mtserver": "thread per connection", "ptserver": "prethreaded pool",
               "fkserver": "fork per connection", "epserver": "epoll loop", "rpserver": "SO_REUSEPORT loops",
               "urserver": "io_uring", "redis-server": "reference"}
# Where the experiment of Stevens' Figure 30.1 is described (section 30.4
# names the client's command line, 5,000 connections of 4,000 bytes).
STEVENS_SOURCE = "https://litux.nl/mirror/unixnetworkprogramming/0131411551_ch30lev1sec4.html"


def stat_ticks(text):
    """User + system CPU ticks of a process and of its waited-for children,
    from the text of /proc/PID/stat (the command name, in parentheses, may
    hold spaces); None when the text is not such a line."""
    _, paren, rest = text.rpartition(")")
    fields = rest.split()
    if not paren or len(fields) < 15 or not all(f.isdigit() for f in fields[11:15]):
        return None
    return sum(int(f) for f in fields[11:15])  # utime stime cutime cstime


def per_client_kb(rss0, rss, held):
    """The server's resident memory per held client, KiB (1 decimal): its
    growth from before the clients came, over how many it held."""
    if not (is_num(rss0) and is_num(rss) and is_num(held)) or int(held) <= 0:
        return ""
    return "%.1f" % ((float(rss) - float(rss0)) / int(held))


def run_note(f, flood, check):
    """What failed in one run (a server that did not start or stop cleanly,
    flood failing other than by the time budget, the log check), or ""."""
    if f.get("started") != "1":
        return "server did not start"
    notes = []
    if f.get("src", "0") != "0":
        notes.append("server exit status " + f["src"])
    if f.get("frc", "0") not in ("0", "-") and f.get("capped") != "true":
        notes.append("flood status %s%s" % (f["frc"], "" if get(flood, "elapsed_s") else " (no report)"))
    if f.get("vrc", "-") not in ("0", "-"):
        notes.append("log check failed: %s of %s lines found" % (get(check, "found") or "?",
                                                                 get(check, "expected") or "?"))
    return "; ".join(notes)


def models_run(tdir, rid, f, hz):
    """One run of lesson-models: its figures and what failed (note)."""
    flood = load(os.path.join(tdir, rid + ".json")) or {}
    check = load(os.path.join(tdir, rid + ".verify.json")) or {}
    j = lambda path: typed(get(flood, path))  # noqa: E731
    rec = {"section": f["section"], "model": f["model"], "clients": typed(f.get("clients", "")),
           "kind": f.get("kind", ""), "capped": f.get("capped") == "true", "note": run_note(f, flood, check),
           "verified": None if f.get("vrc", "-") == "-" else f.get("vrc") == "0",
           "lines_expected": typed(get(check, "expected")), "lines_found": typed(get(check, "found"))}
    if f["section"] == "stevens":
        ticks = f.get("cpu_ticks", "")
        rec["cpu_s"] = typed("%.2f" % (int(ticks) / int(hz)) if ticks.isdigit() and hz.isdigit() else "")
        rec["elapsed_s"] = j("elapsed_s")
    elif f["section"] == "pingpong":
        rec.update(msgs_per_s=j("messages_per_s"), rtt_p99_us=j("rtt_us.p99"), answered=j("messages_answered"))
    elif f["section"] == "hold":
        held = f.get("held", "")
        rec.update(held=typed(held), rss0_kb=typed(f.get("rss0_kb", "")), rss_kb=typed(f.get("rss_kb", "")),
                   kb_per_client=typed(per_client_kb(f.get("rss0_kb"), f.get("rss_kb"), held)))
    elif f["section"] == "hostile":
        rec.update(first_reply_p99_us=j("first_reply_us.p99"), first_reply_max_us=j("first_reply_us.max"),
                   rtt_p99_us=j("rtt_us.p99"), answered=j("messages_answered"))
    return rec


def minus_baseline(runs):
    """Stevens' figure: each model's CPU time minus the iterative server's,
    into each stevens run as minus_iterative_s."""
    base = next((r.get("cpu_s") for r in runs.values() if r["section"] == "stevens"
                 and r["model"] == "stserver"), None)
    for r in runs.values():
        if r["section"] == "stevens":
            cpu = r.get("cpu_s")
            r["minus_iterative_s"] = Num("%.2f" % (float(cpu) - float(base))) if cpu and base else None


def results_models(tdir, out):
    by_id = facts_by_id(read_facts(os.path.join(tdir, "facts")))
    top = by_id["models"]
    runs = {fid[4:]: models_run(tdir, fid[4:], f, top["hz"]) for fid, f in by_id.items() if fid.startswith("run:")}
    minus_baseline(runs)
    keys = ("cap_s", "stevens_clients", "stevens_per_client", "stevens_size", "hold_secs", "hostile_clients",
            "hostile_messages", "idle_timeout_s", "nofile")
    text = ('{\n"schema": "mtserver-models/1",\n"quick": %s,\n"started": %s,\n"duration_s": %s,\n"host": %s,\n'
            '"models": %s,\n"absent": %s,\n"pp_clients": %s,\n"pp_messages": %s,\n"hold_steps": %s,\n'
            '"hostile_kinds": %s,\n%s,\n"runs": %s\n}\n') % (
        enc(top["quick"] == "1"), enc(top["started"]), top["duration_s"], enc(host_of(top)), enc(top["models"]),
        enc(top["absent"]), enc([typed(c) for c in top["pp_clients"]]),
        enc([typed(c) for c in top["pp_messages"]]), enc([typed(c) for c in top["hold_steps"]]),
        enc(top["hostile_kinds"]), ",\n".join("%s: %s" % (enc(k), enc(typed(top[k]))) for k in keys),
        members(runs))
    write(out, text)
    return 1 if any(r["note"] for r in runs.values()) else 0


def models_of(doc):
    """The models measured, in the table's order, and redis-server last
    when it ran (ping-pong only)."""
    seen = {get(doc, "runs.%s.model" % k) for k in doc.get("runs", {})}
    return [m for m in MODELS if m in seen]


def find_run(doc, section, model, clients="", kind=""):
    for rid, r in doc.get("runs", {}).items():
        if (r.get("section") == section and r.get("model") == model and (clients == "" or
                                                                         str(r.get("clients")) == str(clients))
                and (kind == "" or r.get("kind") == kind)):
            return "runs.%s." % rid
    return None


def us_txt(us):
    """Microseconds as the table shows them: 87 us, 1.2 ms, 3.40 s."""
    if not is_num(us):
        return "-"
    return fmt_s("%.6f" % (float(us) / 1e6)) if float(us) >= 1000 else "%d us" % round(float(us))


def held_most(doc, model):
    """The most idle clients the model held at once over the hold steps:
    "19,800 (all tried)" when it held every client of every step, else
    "18,231 (of 19,800)", the step where it fell short; "-" when none."""
    most, short = 0, ""
    for n in doc.get("hold_steps", []):
        r = find_run(doc, "hold", model, n)
        if r is None:
            continue
        held = get(doc, r + "held")
        most = max(most, int(held) if held.isdigit() else 0)
        if held != str(n) or get(doc, r + "note"):
            short = short or n
    if most == 0:
        return "-"
    return fmt_num(str(most)) + (" (of %s)" % fmt_num(short) if short else " (all tried)")


def models_cell(doc, model, section, field, clients="", kind="", fmt=str):
    r = find_run(doc, section, model, clients, kind)
    if r is None:
        return "-"
    v = get(doc, r + field)
    cell = fmt(v) if v != "" else "-"
    if get(doc, r + "capped") == "true":
        cell += " (capped at %s s)" % get(doc, "cap_s")
    if get(doc, r + "note"):
        cell += " **failed**"
    return cell


def log_check_cell(doc, model):
    """How many of the model's runs had every line sent in its log."""
    ok = total = 0
    for r in doc.get("runs", {}).values():
        if r.get("model") == model and r.get("verified") is not None:
            total += 1
            ok += 1 if r.get("verified") else 0
    return "-" if total == 0 else ("all %d runs" % total if ok == total else "**%d of %d runs**" % (ok, total))


def render_models(doc):
    j = lambda path: get(doc, path)  # noqa: E731
    models = models_of(doc)
    ours = [m for m in models if m != "redis-server"]
    conns = int(j("stevens_clients") or 0) * int(j("stevens_per_client") or 0)
    out = ["# Every concurrency model, side by side\n\n"]
    out.append("One codebase, one session (framing, echo, logging) and one load tool (`bench/flood`); each "
               "column is a program whose `main` differs only in how it hands clients to sessions.  "
               "`lessons/README.md` explains each row.\n\n")
    out.append(row("", *("**%s**<br>%s" % (m, MODEL_NAMES.get(m, "")) for m in models)))
    out.append("|:--|" + "--:|" * len(models) + "\n")

    def line(label, cells):
        out.append(row(label, *cells))

    cpu = lambda v: "%s s" % v  # noqa: E731
    line("Stevens: server CPU, %s connections x %s bytes" % (fmt_num(str(conns)), fmt_num(j("stevens_size"))),
         [models_cell(doc, m, "stevens", "cpu_s", fmt=cpu) if m in ours else "" for m in models])
    line("... minus the iterative server's", [models_cell(doc, m, "stevens", "minus_iterative_s", fmt=cpu)
                                              if m in ours else "" for m in models])
    for n in doc.get("pp_clients", []):
        line("ping-pong msgs/s, %s client%s" % (fmt_num(n), "" if str(n) == "1" else "s"),
             [models_cell(doc, m, "pingpong", "msgs_per_s", n, fmt=fmt_num) for m in models])
        line("... p99 round trip", [models_cell(doc, m, "pingpong", "rtt_p99_us", n, fmt=us_txt) for m in models])
    steps = doc.get("hold_steps", [])
    if steps:
        line("RSS per idle client at %s clients" % fmt_num(steps[0]),
             [models_cell(doc, m, "hold", "kb_per_client", steps[0], fmt=lambda v: v + " KiB") if m in ours
              else "" for m in models])
        line("most idle clients held (tried %s)" % ", ".join(fmt_num(n) for n in steps),
             [held_most(doc, m) if m in ours else "" for m in models])
    for kind in doc.get("hostile_kinds", []):
        label = {"none": "others' first reply p99, no hostile client",
                 "trickle": "... with one client trickling a line",
                 "deaf": "... with one client never reading"}.get(kind, kind)
        line(label, [models_cell(doc, m, "hostile", "first_reply_p99_us", j("hostile_clients"), kind, fmt=us_txt)
                     if m in ours else "" for m in models])
    line("lines logged = lines sent (`flood --verify-log`)", [log_check_cell(doc, m) if m in ours else ""
                                                               for m in models])
    out.append("\n")
    if doc.get("absent"):
        out.append("Not measured: %s (not built here; they come with the event-loop models of issue 23).\n\n"
                   % ", ".join("`%s`" % m for m in doc["absent"]))
    out.append("Stevens' own figures (UNP vol. 1, Figure 30.1) are not beside ours: we found no citable copy of "
               "the figure's numbers, and quote none from memory.  The experiment is described in section 30.4 "
               "(%s).\n\n" % STEVENS_SOURCE)
    failed = [(rid, r["note"]) for rid, r in sorted(doc.get("runs", {}).items()) if r.get("note")]
    for rid, note in failed:
        out.append("- run `%s` failed: %s\n" % (rid, md_cell(note)))
    out.append("%sHost: %s, %s CPUs; %s; whole run %s s (`make lesson-models`%s).\n" % (
        "\n" if failed else "", j("host.kernel"), j("host.nproc"), j("started"), j("duration_s"),
        " QUICK=1: figures meaningless" if j("quick") == "true" else ""))
    return "".join(out)


def render_models_dat(doc):
    """One line per model for lessons/models.gp; '-' where not measured.
    Columns: model, ping-pong msgs/s at each client count, their p99 (ms),
    KiB per idle client, the hostile runs' first reply p99 (s)."""
    pp, kinds = doc.get("pp_clients", []), doc.get("hostile_kinds", [])
    steps = doc.get("hold_steps", [])
    head = (["model"] + ["%s_clients" % n for n in pp] + ["p99_ms_%s" % n for n in pp] + ["kib_per_idle_client"]
            + ["first_reply_s_%s" % k for k in kinds])
    out = ["# lesson-models data: " + " ".join(head) + "\n", " ".join(head) + "\n"]

    def val(section, field, clients="", kind="", scale=1.0):
        r = find_run(doc, section, m, clients, kind)
        v = get(doc, r + field) if r else ""
        return "%g" % (float(v) * scale) if is_num(v) and not get(doc, r + "note") else "-"

    for m in models_of(doc):
        cells = [m] + [val("pingpong", "msgs_per_s", n) for n in pp]
        cells += [val("pingpong", "rtt_p99_us", n, scale=1e-3) for n in pp]
        cells.append(val("hold", "kb_per_client", steps[0]) if steps else "-")
        cells += [val("hostile", "first_reply_p99_us", get(doc, "hostile_clients"), k, scale=1e-6) for k in kinds]
        out.append(" ".join(cells) + "\n")
    return "".join(out)


# ---------------------------------------------------------------------------


def write(path, text):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


RESULTS = {"compare": results_compare, "lossy": results_lossy, "chat": results_chat, "models": results_models}
RENDER = {"compare": render_compare, "compare-dat": render_compare_dat, "lossy": render_lossy, "chat": render_chat,
          "models": render_models, "models-dat": render_models_dat}


def cmd_results(args):
    return RESULTS[args[0]](args[1], args[2])


def cmd_render(args):
    doc = load(args[1])
    if doc is None:
        raise SystemExit("lessonlib: cannot read %s" % args[1])
    sys.stdout.write(RENDER[args[0]](doc))
    return 0


def cmd_ticks(args):
    try:
        with open("/proc/%s/stat" % args[0], encoding="utf-8", errors="replace") as f:
            ticks = stat_ticks(f.read())
    except OSError:
        ticks = None
    if ticks is None:
        raise SystemExit("lessonlib: no CPU times for process %s" % args[0])
    print(ticks)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv, {"results": cmd_results, "render": cmd_render, "gaps": cmd_gaps, "ticks": cmd_ticks}))
