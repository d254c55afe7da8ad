#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench/benchlib.py - the benchmark's JSON and Markdown, so that the bash
scripts only run programs.  Python 3 standard library only.

    benchlib.py get [--num] FILE KEY...  a value of a JSON file per line
                                         (KEY dotted: rtt_us.p50; "" if
                                         absent; --num: 12,345)
    benchlib.py results DIR OUT.json [--aborted RC]
                                         make bench's results from what
                                         bench/run.sh measured into DIR (its
                                         facts file and flood's JSON); exit
                                         1 unless the status is "ok"
    benchlib.py render bench|targets FILE.json     its Markdown

Numbers read from JSON stay the text they were written as (Num), so that a
figure is printed as flood printed it; they become floats only for maths.
The lessons' reports (lessons/lessonlib.py) use the same helpers.
"""
import json
import os
import re
import selectors
import signal
import socket
import sys
import time

# ---------------------------------------------------------------------------
# Numbers


class Num(str):
    """A JSON number, kept as its text."""


NUM_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def is_num(s):
    return isinstance(s, str) and NUM_RE.fullmatch(s) is not None


def ratio(a, b, digits=2):
    """a / b with digits decimals; "" unless both are numbers and b != 0."""
    if not (is_num(a) and is_num(b)) or float(b) == 0:
        return ""
    return "%.*f" % (digits, float(a) / float(b))


def rnd(n, digits=0):
    return "%.*f" % (digits, float(n)) if is_num(n) else ""


def fmt_num(n, digits=0):
    """12,345.6 (with digits decimals), or "-" when n is not a number."""
    if not is_num(n):
        return "-"
    s = "%.*f" % (digits, float(n))
    sign = "-" if s.startswith("-") else ""
    whole, dot, frac = s.lstrip("-").partition(".")
    return sign + "{:,}".format(int(whole)) + dot + frac


def x_txt(r):
    """1.23x, or "-"."""
    return rnd(r, 2) + "x" if r != "" else "-"


def met_if(value, op, limit):
    """yes or no as value op limit holds; n/a when value is not a number."""
    if not (is_num(value) and is_num(str(limit))):
        return "n/a"
    a, b = float(value), float(limit)
    return "yes" if {"ge": a >= b, "gt": a > b, "le": a <= b}[op] else "no"


def median(values):
    """The median of the numbers among values, as text ("" if none): the
    middle one as it is, or the mean of the two middle ones (4 decimals)."""
    v = sorted((x for x in values if is_num(x)), key=float)
    if not v:
        return ""
    if len(v) % 2:
        return v[len(v) // 2]
    return "%.4f" % ((float(v[len(v) // 2 - 1]) + float(v[len(v) // 2])) / 2)


# ---------------------------------------------------------------------------
# JSON in and out


def load(path):
    """The JSON object in path (numbers as Num), or None."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f, parse_float=Num, parse_int=Num)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def get(doc, path):
    """The scalar at a dotted path (an array index is a number) as text:
    "" when absent or null, true/false for booleans."""
    v = doc
    for part in path.split("."):
        if isinstance(v, dict):
            v = v.get(part)
        elif isinstance(v, list) and part.isdigit() and int(part) < len(v):
            v = v[int(part)]
        else:
            return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else ""


class Raw(str):
    """Text that is already JSON (flood's own report, embedded)."""


def enc(v):
    """JSON of v, one line, in the layout the reports have always had."""
    if isinstance(v, (Num, Raw)):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(enc(x) for x in v) + "]"
    return "{" + ", ".join(enc(k) + ": " + enc(x) for k, x in v.items()) + "}"


def members(d):
    """An object with one member a line, keys sorted."""
    return "{" + ",".join("\n  %s: %s" % (enc(k), enc(d[k])) for k in sorted(d)) + "\n}"


def typed(s):
    """A fact's text as a JSON value: a number, true, false or null as such,
    "" as null, anything else a string."""
    if s == "":
        return None
    if is_num(s) and not re.match(r"-?0[0-9]", s):
        return Num(s)
    return {"true": True, "false": False, "null": None}.get(s, s)


def raw_json(path):
    """flood's report as it wrote it (newlines dropped), or None."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read().replace("\n", "")
    except OSError:
        return None
    return Raw(text) if text.startswith("{") else None


def read_facts(path):
    """The facts a script recorded: (id, key, value) per line of
    "ID<TAB>KEY<TAB>VALUE", in order."""
    try:
        with open(path, encoding="utf-8") as f:
            return [tuple(line.rstrip("\n").split("\t", 2)) for line in f if line.count("\t") >= 2]
    except OSError:
        return []


def facts_by_id(facts):
    """{id: {key: value}}, ids and keys in the order first seen; a key
    NAME[] is the list NAME of its values but "" (a list may be empty)."""
    out = {}
    for fid, key, value in facts:
        if key.endswith("[]"):
            items = out.setdefault(fid, {}).setdefault(key[:-2], [])
            if value != "":
                items.append(value)
        else:
            out.setdefault(fid, {})[key] = value
    return out


def last_line(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


# ---------------------------------------------------------------------------
# make bench: the runs' figures (bench/run.sh measured them into DIR)

# Facts whose text is a string even when it looks like a number.
STRING_KEYS = {"command", "note", "verify_command", "load", "skipped", "servers", "server"}


def flood_errors(doc, err_path):
    """flood's non-zero error counters, or the last line of its report."""
    out = []

    def walk(prefix, v):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(prefix + k + ".", x)
        elif prefix.startswith(("errors.", "failed_by_errno.")) or prefix == "connections_failed.":
            if is_num(v) and float(v) > 0:
                out.append("%s=%s" % (re.sub(r"^[a-z_]+\.", "", prefix[:-1]), v))

    walk("", doc or {})
    return " ".join(out) or last_line(err_path) or "no output"


def value_of(key, text):
    return text if key in STRING_KEYS else typed(text)


class Bench:
    """latest.json's pieces, from DIR/facts and DIR/ID.json."""

    def __init__(self, tdir):
        self.tdir = tdir
        self.facts = read_facts(os.path.join(tdir, "facts"))
        self.by_id = facts_by_id(self.facts)
        self.runs, self.failures, self.notes, self.targets = {}, [], [], []

    def flood(self, rid, key):
        doc = load(os.path.join(self.tdir, rid + ".json"))
        return get(doc, key) if doc else ""

    def run_get(self, rid, key):
        v = self.runs.get(rid, {}).get(key)
        return get({"v": v}, "v")

    def target(self, tid, description, measured, wanted, met):
        self.targets.append({"id": tid, "description": description, "measured": measured,
                             "wanted": wanted, "met": met})

    # -- one run -----------------------------------------------------------

    def add_run(self, rid, f):
        """A run's record: what bash recorded, and flood's verdict and
        figures from its report."""
        doc = load(os.path.join(self.tdir, rid + ".json")) or {}
        sec = f["section"]
        run = {"section": sec, "tool": f["tool"]}
        if sec == "ingest" and f["tool"] == "dd":
            self.add_dd(rid, f, run)
            return
        ok, note = self.verdict(rid, f, doc)
        rate = get(doc, "messages_per_s") if "rc" in f else f.get("messages_per_s", "")
        run.update(clients=typed(f["clients"]), ok=ok, command=f.get("command", ""), note=note,
                   messages_per_s=typed(rate))
        getattr(self, "figures_" + sec)(rid, f, doc, run)
        run["flood"] = raw_json(os.path.join(self.tdir, rid + ".json"))
        self.runs[rid] = run
        if not run["ok"]:
            self.failures.append("%s %s %s: %s" % (sec, f["tool"], f["clients"], run["note"]))

    def verdict(self, rid, f, doc):
        """ok and note: what bash found (ok, note: a failed check, or a run
        without flood), else flood's (rc, its exit status, and its report)."""
        if "ok" in f:
            return f["ok"] == "true", f.get("note", "")
        if f["rc"] == "0" and get(doc, "ok") == "true":
            return True, ""
        return False, "flood exit %s: %s" % (f["rc"], flood_errors(doc, os.path.join(self.tdir, rid + ".err")))

    def figures_pingpong(self, rid, f, doc, run):
        run.update(p50_us=typed(get(doc, "rtt_us.p50")), p99_us=typed(get(doc, "rtt_us.p99")),
                   round=typed(f["round"]))

    def figures_loadgen(self, rid, f, doc, run):
        if "rc" in f:
            run.update(p50_us=typed(get(doc, "rtt_us.p50")), p99_us=typed(get(doc, "rtt_us.p99")))
        else:  # redis-benchmark: its CSV's milliseconds
            run.update(p50_us=typed(rnd(ms_to_us(f.get("p50_ms", "")))),
                       p99_us=typed(rnd(ms_to_us(f.get("p99_ms", "")))))

    def figures_chat(self, rid, f, doc, run):
        run.update(messages=typed(f["messages"]), deliveries_per_s=typed(get(doc, "deliveries_per_s")),
                   p50_us=typed(get(doc, "delivery_us.p50")), p99_us=typed(get(doc, "delivery_us.p99")))

    def figures_memory(self, rid, f, doc, run):
        run["connections_held"] = typed(get(doc, "connections_held"))
        for k in ("server_sockets_peak", "vmrss_kb", "vmhwm_kb", "vmrss_before_kb", "vmrss_after_kb", "threads"):
            run[k] = typed(f.get(k, ""))

    def figures_ingest(self, rid, f, doc, run):
        """Lines and bytes per second from starting flood (t0_ns) to the
        output file's last write (settled_ns)."""
        sent = int(f["clients"]) * int(f["messages"])
        if "verify" in f:  # mtserver: what flood --verify-log found
            lines = get(load(f["verify"]) or {}, "found") or "0"
        else:
            lines = f["lines"]
        if f["tool"].startswith("rsyslogd") and int(lines) != sent:
            run.update(ok=False, note="rsyslogd wrote %s of %d lines" % (lines, sent))
        secs = "%.3f" % ((int(f["settled_ns"] or 0) - int(f["t0_ns"])) / 1e9)
        run.update(messages=sent, lines_logged=typed(lines), lost=sent - int(lines), elapsed_s=Num(secs),
                   bytes=typed(f["bytes"]), flood_send_per_s=run["messages_per_s"],
                   lines_per_s=typed(ratio(lines, secs, 1)), bytes_per_s=typed(ratio(f["bytes"], secs, 0)))
        if "verify_command" in f:
            run.update(verify_command=f["verify_command"], verify_ok=f["verify_ok"] == "true")

    def figures_framing(self, rid, f, doc, run):
        """An ingest run of a pair compared in alternating rounds."""
        self.figures_ingest(rid, f, doc, run)
        run["round"] = typed(f["round"])

    figures_front = figures_framing

    def figures_metrics_ingest(self, rid, f, doc, run):
        self.figures_framing(rid, f, doc, run)
        run["scrapes"] = typed(f.get("scrapes", ""))

    def figures_metrics_pingpong(self, rid, f, doc, run):
        self.figures_pingpong(rid, f, doc, run)

    def figures_room(self, rid, f, doc, run):
        """The room under attack: a room with a UDP flooder (udp), with and
        without a TCP flooder (flood_on, flood_off), newcomers during churn
        (churn)."""
        if f["tool"] == "churn":
            run.update(welcomed=typed(get(doc, "messages_answered")), refused=typed(churn_refused(doc)),
                       welcome_p50_us=typed(get(doc, "first_reply_us.p50")),
                       welcome_p99_us=typed(get(doc, "first_reply_us.p99")),
                       churn_connections=typed(f.get("churn_connections", "")))
            return
        run.update(messages=typed(f["messages"]), deliveries_per_s=typed(get(doc, "deliveries_per_s")),
                   p50_us=typed(get(doc, "delivery_us.p50")), p99_us=typed(get(doc, "delivery_us.p99")))
        for k in ("round", "flooder_lines", "udp_rate", "udp_sent", "udp_not_relayed", "slow_reader_drops"):
            if k in f:
                run[k] = typed(f[k])

    def figures_broker(self, rid, f, doc, run):
        """One room on two nodes through a broker (two), on one node (one),
        or ncat --chat (ncat)."""
        self.figures_chat(rid, f, doc, run)
        if "round" in f:
            run["round"] = typed(f["round"])

    def add_dd(self, rid, f, run):
        """dd of the same bytes, twice: the faster counts."""
        secs = [s for s in f.get("seconds", []) if is_num(s)]
        best = min(secs, key=float) if secs else ""
        run.update(ok=True, command=f["command"], bytes=typed(f["bytes"]), seconds=[typed(s) for s in f["seconds"]],
                   elapsed_s=typed(best), bytes_per_s=typed(ratio(f["bytes"], best, 0)))
        self.runs[rid] = run

    # -- the targets -------------------------------------------------------

    def targets_pingpong(self, s):
        rounds = int(s["rounds"])
        for c in [s["_mid"]] + ([s["_big"]] if s.get("_big") else []):
            r = median(ratio(self.run_get(pp_id("mtserver", c, i), "messages_per_s"),
                             self.run_get(pp_id("tpc", c, i), "messages_per_s"), 4)
                       for i in range(1, rounds + 1))
            self.target("pp_%s_vs_tpc" % c, "ping-pong, %s clients: mtserver --echo -q msgs/s vs the minimal "
                        "thread-per-connection loop%s" % (c, " (median of %d alternating rounds)" % rounds
                                                          if rounds > 1 else ""),
                        x_txt(r), ">= 0.95x", met_if(r, "ge", 0.95))
        # The event-loop models against redis-server (issue 23).
        for c in [s["_mid"]] + ([s["_big"]] if s.get("_big") else []):
            redis = self.run_get(pp_id("redis", c), "messages_per_s")
            for tool, want in (("epserver", 1.0), ("rpserver", 1.3)):
                r = ratio(self.run_get(pp_id(tool, c), "messages_per_s"), redis, 4)
                if r == "" and not self.run_get(pp_id(tool, c), "messages_per_s"):
                    continue
                self.target("pp_%s_%s_vs_redis" % (tool, c), "ping-pong, %s clients: %s --echo -q msgs/s vs "
                            "redis-server" % (c, tool), x_txt(r), ">= %sx" % want, met_if(r, "ge", want))
        # io_uring against the epoll loop, at the biggest count (issue 23).
        big = s.get("_big") or s["_mid"]
        r = ratio(self.run_get(pp_id("urserver", big), "messages_per_s"),
                  self.run_get(pp_id("epserver", big), "messages_per_s"), 4)
        if r != "":
            self.target("pp_urserver_%s_vs_epserver" % big, "ping-pong, %s clients: urserver --echo -q msgs/s vs "
                        "epserver (one run each, side by side)" % big, x_txt(r), ">= 1.0x", met_if(r, "ge", 1.0))
        m, p = self.flood("pp_mtserver_1", "rtt_us.p50"), self.flood("pp_redis_1", "rtt_us.p50")
        self.target("pp_1_p50", "ping-pong, 1 client: mtserver p50 round trip vs redis-server",
                    "%s us vs %s us" % (m or "-", p or "-"), "<= redis", met_if(m, "le", p))

    def targets_loadgen(self, s):
        r = ratio(self.run_get("rb_flood", "messages_per_s"), self.run_get("rb_redis_benchmark", "messages_per_s"), 4)
        self.target("rb_flood", "flood vs redis-benchmark ping_inline, %s clients (same redis-server)"
                    % s["clients"], x_txt(r), ">= 1.5x", met_if(r, "ge", 1.5))

    def targets_ingest(self, s):
        r_eq = ratio(self.run_get("in_mtserver", "lines_per_s"), self.run_get("in_rsyslog_mtline", "lines_per_s"), 4)
        r_dd = ratio(self.run_get("in_mtserver", "bytes_per_s"), self.run_get("in_dd", "bytes_per_s"), 4)
        met_eq, met_dd = met_if(r_eq, "ge", 5), met_if(r_dd, "ge", 0.8)
        self.target("in_vs_rsyslog", "ingest %s x %s lines, logged and verified: mtserver lines/s vs rsyslogd "
                    "writing the same line content" % (s["clients"], fmt_num(s["messages"])),
                    x_txt(r_eq), ">= 5x", met_eq)
        self.target("in_vs_dd", "ingest: mtserver's log bytes/s vs dd of the same bytes to the same file system "
                    "(write ceiling)", x_txt(r_dd), ">= 0.8x", met_dd)
        either = "yes" if "yes" in (met_eq, met_dd) else ("n/a" if r_eq == r_dd == "" else "no")
        self.target("in_either", "ingest: one of the two above holds", "%s rsyslogd; %s dd" % (x_txt(r_eq), x_txt(r_dd)),
                    ">= 5x rsyslogd or >= 0.8x dd", either)

    def targets_memory(self, s):
        n, big = s["clients"], s.get("big", "")
        held = self.flood("hold_mtserver_" + n, "connections_held")
        rss = ratio(self.run_get("hold_mtserver_" + n, "vmrss_kb"), "1024", 1)
        self.target("mem_rss", "%s idle clients: mtserver VmRSS while held" % fmt_num(n), "%s MB" % (rss or "-"),
                    "<= %s MB" % s["_rss_target_mb"],
                    met_if(rss, "le", s["_rss_target_mb"]) if held == n else "n/a")
        for tool in ("epserver", "rpserver", "urserver"):
            rid = "hold_%s_%s" % (tool, n)
            peak, rss, base = (self.run_get(rid, k) for k in ("server_sockets_peak", "vmrss_kb", "vmrss_before_kb"))
            if not peak:
                continue
            per = ratio("%d" % (float(rss or 0) - float(base or 0)), peak, 2) if is_num(rss) and is_num(base) else ""
            self.target("mem_%s_per_client" % tool, "%s idle clients: %s VmRSS per client" % (fmt_num(n), tool),
                        "%s KB" % (per or "-"), "<= 1.5 KB",
                        met_if(per, "le", 1.5) if self.flood(rid, "connections_held") == n else "n/a")
        if big:
            held = self.flood("hold_mtserver_" + big, "connections_held")
            self.target("mem_big", "%s idle clients: how many mtserver holds" % fmt_num(big),
                        "%s held" % fmt_num(held), "all %s" % fmt_num(big), met_if(held, "ge", big))

    def targets_chat(self, s):
        for n in s.get("sizes", []):
            r = ratio(self.flood("chat_mtserver_" + n, "deliveries_per_s"),
                      self.flood("chat_ncat_" + n, "deliveries_per_s"), 4)
            p_m, p_n = self.flood("chat_mtserver_" + n, "delivery_us.p99"), self.flood("chat_ncat_" + n,
                                                                                       "delivery_us.p99")
            met = "n/a"
            if r and is_num(p_m) and is_num(p_n):
                met = "yes" if met_if(r, "ge", 1.5) == "yes" and met_if(p_m, "le", p_n) == "yes" else "no"
            self.target("chat_" + n, "chat, %s members: mtserver --chat vs ncat --chat, deliveries/s and p99 "
                        "delivery latency" % n, "%s deliveries/s; p99 %s us vs %s us" % (x_txt(r), p_m or "-",
                                                                                        p_n or "-"),
                        ">= 1.5x and p99 lower", met)  # issue 21

    def rounds_ratio(self, a_fmt, b_fmt, key, rounds):
        """The median over rounds 1..rounds of run a_fmt % round's key over
        run b_fmt % round's."""
        return median_ratio((self.run_get(a_fmt % i, key), self.run_get(b_fmt % i, key))
                            for i in range(1, int(rounds) + 1))

    def targets_framing(self, s):
        r = self.rounds_ratio("fr_octet_r%d", "fr_lf_r%d", "lines_per_s", s["rounds"])
        self.target("fr_octet_vs_lf", "ingest %s x %s messages, logged and verified: octet-counted framing "
                    "(flood --octet-count, --framing octet) vs LF framing, lines/s%s"
                    % (s["clients"], fmt_num(s["messages"]), rounds_txt(s["rounds"])), x_txt(r), ">= 0.9x",
                    met_if(r, "ge", 0.9))

    def targets_front(self, s):
        r = self.rounds_ratio("px_pp_r%d", "px_tcp_r%d", "lines_per_s", s["rounds"])
        self.target("px_pp_vs_tcp", "ingest through haproxy: send-proxy-v2 to mtserver --proxy-protocol vs "
                    "plain TCP mode to plain mtserver, lines/s%s" % rounds_txt(s["rounds"]), x_txt(r), ">= 0.8x",
                    met_if(r, "ge", 0.8))

    def targets_metrics(self, s):
        r = self.rounds_ratio("mx_in_on_r%d", "mx_in_off_r%d", "lines_per_s", s["rounds"])
        self.target("mx_ingest", "ingest with --metrics (scraped once a second) vs without, lines/s%s"
                    % rounds_txt(s["rounds"]), x_txt(r), ">= 0.98x", met_if(r, "ge", 0.98))
        r = self.rounds_ratio("mx_pp_on_r%d", "mx_pp_off_r%d", "messages_per_s", s["rounds"])
        self.target("mx_pingpong", "ping-pong, %s clients, with --metrics (scraped once a second) vs without, "
                    "msgs/s%s" % (s["pp_clients"], rounds_txt(s["rounds"])), x_txt(r), ">= 0.98x",
                    met_if(r, "ge", 0.98))

    def targets_room(self, s):
        u = self.runs.get("room_udp", {})
        drops, skipped = self.run_get("room_udp", "slow_reader_drops"), self.run_get("room_udp", "udp_not_relayed")
        self.target("room_udp", "room of %s + one UDP flooder at %s lines/s (10x the room's rate): members dropped "
                    "(reason=slow-reader); UDP lines not relayed, counted" % (s["members_udp"], s["udp_rate"]),
                    "%s dropped; %s of %s not relayed" % (drops or "-", skipped or "-",
                                                         self.run_get("room_udp", "udp_sent") or "-"),
                    "0 dropped, the rest counted", room_udp_met(u.get("ok"), drops, skipped))
        r = self.rounds_ratio("room_fl_on_r%d", "room_fl_off_r%d", "p99_us", s["rounds"])
        self.target("room_flooder", "room of %s, one TCP flooder: honest senders' p99 delivery vs the same room "
                    "without it%s" % (s["members_flooder"], rounds_txt(s["rounds"])), x_txt(r), "<= 2x",
                    met_if(r, "le", 2))
        c = self.runs.get("room_churn", {})
        refused, p99 = self.run_get("room_churn", "refused"), self.run_get("room_churn", "welcome_p99_us")
        self.target("room_churn", "%s newcomers while 4 threads connect and close: refused; welcome p99 (connect to "
                    "the welcome line)" % s["newcomers"],
                    "%s refused; p99 %s ms" % (refused or "-", rnd(ratio(p99, "1000", 3), 1) or "-"),
                    "0 refused, p99 < 100 ms", room_churn_met(c.get("ok"), refused, p99))

    def targets_broker(self, s):
        rounds = s["rounds"]
        rate = self.rounds_ratio("br_two_r%d", "br_one_r%d", "deliveries_per_s", rounds)
        p99 = self.rounds_ratio("br_two_r%d", "br_one_r%d", "p99_us", rounds)
        ncat = median_ratio((self.run_get("br_two_r%d" % i, "deliveries_per_s"), self.run_get("br_ncat",
                                                                                              "deliveries_per_s"))
                            for i in range(1, int(rounds) + 1))
        what = "%s members x %s messages on two nodes through redis-server (--broker), every delivery verified" % (
            s["members"], s["messages"])
        self.target("broker_rate", what + ": deliveries/s vs the same room on one node" + rounds_txt(rounds),
                    x_txt(rate), ">= 0.5x", met_if(rate, "ge", 0.5))
        self.target("broker_p99", what + ": p99 delivery latency vs one node's" + rounds_txt(rounds), x_txt(p99),
                    "<= 2x", "n/a" if p99 == "" else ("yes" if float(p99) <= 2 else "no"))
        self.target("broker_vs_ncat", what + ": deliveries/s vs ncat --chat (one process, same members)",
                    x_txt(ncat), "> 1x", met_if(ncat, "gt", 1))
        self.target("broker_lost", "lines the nodes logged lost (broker-lost)", str(s.get("lost_lines", "")),
                    "0", met_if(s.get("lost_lines", ""), "le", 0))

    # -- the whole -----------------------------------------------------------

    def assemble(self, aborted_rc=None):
        """Walk the facts in order: runs, failures, notes, then each
        section's record and targets."""
        sections, seen = {}, set()
        for fid, key, value in self.facts:
            if fid == "failures" or fid == "notes":
                getattr(self, fid).append(value)
            elif fid.startswith("run:") and key == "end" and fid not in seen:
                seen.add(fid)
                self.add_run(fid[4:], self.by_id[fid])
            elif fid.startswith("section:") and key == "end" and fid not in seen:
                seen.add(fid)
                name, s = fid[8:], self.by_id[fid]
                sections[name] = self.section_record(s)
                if "skipped" not in s:
                    getattr(self, "targets_" + name)(s)
        if aborted_rc is not None:
            self.failures.append("the run was interrupted or aborted (exit status %s) before it finished" % aborted_rc)
        status = "aborted" if aborted_rc is not None else ("failed" if self.failures else "ok")
        for msg in self.failures:
            warn("FAILED: " + msg)
        return status, sections

    @staticmethod
    def section_record(s):
        """What a section records: how busy the CPUs were before it, its
        settings, its servers (servers.NAME, or the list servers) last."""
        rec, servers = {"busy_pct_before": typed(s.get("busy_pct_before", ""))}, None
        for key, value in s.items():
            if key == "end" or key.startswith("_"):  # _NAME: for the targets only
                continue
            if key.startswith("servers."):
                servers = servers if servers is not None else {}
                servers[key[8:]] = value
            elif key == "servers":  # a list
                servers = value
            elif isinstance(value, list):
                rec[key] = [value_of(key, v) for v in value]
            else:
                rec[key] = value_of(key, value)
        if servers is not None:
            rec["servers"] = servers
        return rec

    def write(self, out, aborted_rc=None):
        status, sections = self.assemble(aborted_rc)
        top = self.by_id.get("bench", {})
        machine = {k: typed(v) for k, v in self.by_id.get("machine", {}).items()}
        versions = dict(self.by_id.get("versions", {}))
        duration = "%.3f" % ((time.time_ns() - int(top["start_ns"])) / 1e9)
        text = ('{\n"schema": "mtserver-bench/2",\n"quick": %s,\n"status": %s,\n"started": %s,\n'
                '"duration_s": %s,\n"machine": %s,\n"versions": %s,\n"targets": [\n%s\n],\n"sections": %s,\n'
                '"runs": %s,\n"failures": %s,\n"notes": %s\n}\n') % (
            enc(top.get("quick") == "1"), enc(status), enc(top.get("started", "")), duration, members(machine),
            members(versions), ",\n".join(enc(t) for t in self.targets), members(sections), members(self.runs),
            enc(self.failures), enc(self.notes))
        with open(out + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(out + ".tmp", out)
        return status


def pp_id(tool, clients, rnd_no=1):
    """A ping-pong run's id: round 1, the table's, has no suffix."""
    return "pp_%s_%s" % (tool, clients) + ("" if int(rnd_no) == 1 else "_r%s" % rnd_no)


def median_ratio(pairs):
    """The median of a / b over the pairs (4 decimals) that have both;
    "" if none."""
    return median([ratio(a, b, 4) for a, b in pairs])


def rounds_txt(rounds):
    return " (median of %s alternating rounds)" % rounds if is_num(rounds) and int(rounds) > 1 else ""


def churn_refused(doc):
    """Newcomers turned away: refused by the server or failed to connect."""
    n = [get(doc, "refused_by_server"), get(doc, "connections_failed"), get(doc, "errors.refused_by_server")]
    if not any(is_num(x) for x in n):
        return ""
    return str(max(int(get(doc, "refused_by_server") or 0), int(get(doc, "errors.refused_by_server") or 0))
               + int(get(doc, "connections_failed") or 0))


def room_udp_met(ok, drops, not_relayed):
    """Issue 21: the room ran (ok), no member dropped, and the UDP lines
    over the rate were counted (some were: the flooder sends 10x)."""
    if ok is None or not is_num(drops) or not is_num(not_relayed):
        return "n/a"
    return "yes" if ok and int(drops) == 0 and int(not_relayed) > 0 else "no"


def room_churn_met(ok, refused, p99_us):
    """Issue 21: every newcomer welcomed (ok, none refused), welcome p99
    under 100 ms."""
    if ok is None or not is_num(refused) or not is_num(p99_us):
        return "n/a"
    return "yes" if ok and int(refused) == 0 and float(p99_us) < 100000 else "no"


def ms_to_us(ms):
    return "%r" % (float(ms) * 1000) if is_num(ms) else ""


# ---------------------------------------------------------------------------
# Markdown


def md_cell(s):
    return s.replace("|", "\\|").replace("\n", " ")


def md_code(s):
    return "`%s`" % md_cell(s) if s else ""


def row(*cells):
    return "|" + "".join(" %s |" % c for c in cells) + "\n"


def ratio_txt(a, b):
    r = ratio(a, b)
    return r + "x" if r else "-"


def met_txt(met):
    return "**no**" if met == "no" else (met or "n/a")


def kb_mb(kb):
    return "%.1f" % (float(kb) / 1024) if is_num(kb) else "-"


TOOL_NAMES = {"tpc": "minimal loop", "redis": "redis-server", "go": "Go echo", "epserver": "epserver (1 loop)",
              "rpserver": "rpserver (2 loops)", "urserver": "urserver (io_uring)"}


class BenchReport:
    """latest.json as Markdown (bench/published/latest.md)."""

    def __init__(self, doc):
        self.doc = doc
        self.out = []

    def jv(self, path):
        return get(self.doc, path)

    def count(self, path):
        v = self.doc
        for part in path.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        return len(v) if isinstance(v, list) else 0

    def w(self, text):
        self.out.append(text)

    def target_of(self, tid):
        for i in range(self.count("targets")):
            if self.jv("targets.%d.id" % i) == tid:
                return str(i)
        return ""

    def met_of(self, tid):
        i = self.target_of(tid)
        return met_txt(self.jv("targets.%s.met" % i) if i else "")

    def busy_txt(self, s):
        return "CPUs %s%% busy with other work just before this section." % self.jv("sections.%s.busy_pct_before" % s)

    def run_label(self, rid):
        tool = self.jv("runs.%s.tool" % rid)
        tool = TOOL_NAMES.get(tool, tool)
        if self.jv("runs.%s.ok" % rid) == "true":
            return tool
        return md_cell("%s (FAILED: %s)" % (tool, self.jv("runs.%s.note" % rid)))

    def r(self, rid, key):
        return self.jv("runs.%s.%s" % (rid, key))

    def header(self):
        quick, cmd = "", "make bench"
        if self.jv("quick") == "true":
            quick, cmd = " (QUICK smoke run: tiny counts, figures not meaningful)", "make bench QUICK=1"
        self.w("# mtserver benchmark%s\n\n" % quick)
        self.w("Status: **%s**. Started %s, took %s s. Measured by `%s` (bench/run.sh), rendered by "
               "bench/benchlib.py.\n\n" % (self.jv("status"), self.jv("started"), self.jv("duration_s"), cmd))
        self.w("""Every figure below was measured in this one run, on this machine, over 127.0.0.1, with mtserver and
each peer started by the script on a free port with a throw-away configuration. Ratios compare mtserver
(or flood) with the peer in the same run; they are not absolute claims. flood runs on the same
%s CPUs as the server it drives, so the load generator and the server compete for them in
every measurement, peers included. $TMP is the run's mktemp directory; ports are those of this run.\n\n"""
               % self.jv("machine.nproc"))

    def machine(self):
        self.w("## Machine\n\n| | |\n|---|---|\n")
        j = self.jv
        self.w(row("CPUs (nproc)", j("machine.nproc")) + row("CPU model", md_cell(j("machine.cpu_model")))
               + row("kernel", md_cell(j("machine.kernel"))) + row("memory", kb_mb(j("machine.mem_total_kb")) + " MB")
               + row("OS", md_cell(j("machine.os"))) + row("RLIMIT_NOFILE", j("machine.rlimit_nofile"))
               + row("load average before / after (after includes the bench)",
                     "%s / %s" % (j("machine.loadavg_start"), j("machine.loadavg_end"))))
        self.w("\n## Versions\n\n| tool | version |\n|---|---|\n")
        for k in ("mtserver", "flood", "git", "cc", "bash", "redis-server", "redis-benchmark", "rsyslogd", "go",
                  "ncat", "haproxy", "dd"):
            if j("versions." + k):
                self.w(row(k, md_cell(j("versions." + k))))
        self.w("\n")

    def targets(self):
        self.w("## Targets\n\nReported, not enforced: a missed target does not fail the run.\n\n")
        self.w("| target | measured | wanted | met? |\n|---|---|---|---|\n")
        for i in range(self.count("targets")):
            t = "targets.%d." % i
            self.w(row(md_cell(self.jv(t + "description")), md_cell(self.jv(t + "measured")),
                       md_cell(self.jv(t + "wanted")), met_txt(self.jv(t + "met"))))
        self.w("\n")

    def servers_list(self, s, *names):
        self.w("Servers:\n\n")
        for k in names:
            v = self.jv("sections.%s.servers.%s" % (s, k))
            if v:
                self.w("- %s: `%s`\n" % (k, v))
        self.w("\n")

    def pp_target(self, c):
        if self.target_of("pp_%s_vs_tpc" % c):
            return ">= 0.95x minimal loop | " + self.met_of("pp_%s_vs_tpc" % c)
        if c == "1":
            return "p50 <= redis p50 | " + self.met_of("pp_1_p50")
        return " | "

    def pingpong(self):
        j = self.jv
        self.w("## 1. Ping-pong (echo round trips)\n\n")
        self.w("""Each client sends `PING` and waits for the reply before sending the next (`flood --echo`,
%s, %s ms reply timeout). msgs/s is replies per second over
all clients; p50/p99 are round-trip latencies. The *minimal loop* is bench/peers/tpc_echo.c: accept, one thread
per client, recv, send, nothing else - the ceiling of mtserver's concurrency model. Ratios are mtserver ÷ the
peer in this run. %s\n\n""" % (j("sections.pingpong.load"), j("sections.pingpong.timeout_ms"), self.busy_txt("pingpong")))
        self.w("| clients | tool | command | msgs/s | p50 µs | p99 µs | mtserver ÷ this | target | met? |\n")
        self.w("|---:|---|---|---:|---:|---:|---:|---|---|\n")
        for i in range(self.count("sections.pingpong.clients")):
            c = j("sections.pingpong.clients.%d" % i)
            m = self.r("pp_mtserver_" + c, "messages_per_s")
            for tool in ("mtserver", "tpc", "redis", "go", "epserver", "rpserver", "urserver"):
                rid = "pp_%s_%s" % (tool, c)
                if not self.r(rid, "tool"):
                    continue
                mt = tool == "mtserver"
                self.w(row(c, self.run_label(rid), md_code(self.r(rid, "command")),
                           fmt_num(self.r(rid, "messages_per_s")), fmt_num(self.r(rid, "p50_us")),
                           fmt_num(self.r(rid, "p99_us")), "" if mt else ratio_txt(m, self.r(rid, "messages_per_s")),
                           self.pp_target(c) if mt else " | "))
        self.w("\n")
        self.pp_rounds_table()
        self.servers_list("pingpong", "mtserver", "tpc", "redis", "go", "epserver", "rpserver", "urserver")

    def pp_rounds_table(self):
        rounds = self.jv("sections.pingpong.rounds")
        if not is_num(rounds) or int(rounds) <= 1:
            return
        self.w("""One pair of 5-second runs swings by 10% and more on a shared machine, either way. So at the
client counts with a target, mtserver and the minimal loop run {} rounds, the two one right after the
other (round 1 is the table's), and the target is the median of the rounds' ratios.\n\n""".format(rounds))
        self.w("| clients | round | mtserver msgs/s | minimal loop msgs/s | mtserver ÷ minimal loop |\n")
        self.w("|---:|---:|---:|---:|---:|\n")
        for i in range(self.count("sections.pingpong.clients")):
            c = self.jv("sections.pingpong.clients.%d" % i)
            if not self.target_of("pp_%s_vs_tpc" % c):
                continue
            for rno in range(1, int(rounds) + 1):
                m = self.r(pp_id("mtserver", c, rno), "messages_per_s")
                t = self.r(pp_id("tpc", c, rno), "messages_per_s")
                if m or t:
                    self.w(row(c, rno, fmt_num(m), fmt_num(t), ratio_txt(m, t)))
            self.w(row(c, "median", "", "", self.jv("targets.%s.measured" % self.target_of("pp_%s_vs_tpc" % c))))
        self.w("\n")

    def loadgen(self):
        self.w("## 2. Load generators: redis-benchmark vs flood\n\n")
        if not self.r("rb_flood", "tool"):
            self.w("Skipped: redis-server/redis-benchmark not available.\n\n")
            return
        self.w("""Both drive the same redis-server (`%s`) with %s
connections of inline `PING`, one request in flight per connection. redis-benchmark's p50/p99 are converted
from ms. %s\n\n""" % (self.jv("sections.loadgen.server"), self.jv("sections.loadgen.clients"), self.busy_txt("loadgen")))
        self.w("| tool | command | requests/s | p50 µs | p99 µs | flood ÷ redis-benchmark | target | met? |\n")
        self.w("|---|---|---:|---:|---:|---|---|---|\n")
        for rid in ("rb_redis_benchmark", "rb_flood"):
            fl = rid == "rb_flood"
            self.w(row(self.run_label(rid), md_code(self.r(rid, "command")), fmt_num(self.r(rid, "messages_per_s")),
                       fmt_num(self.r(rid, "p50_us")), fmt_num(self.r(rid, "p99_us")),
                       ratio_txt(self.r("rb_flood", "messages_per_s"), self.r("rb_redis_benchmark", "messages_per_s"))
                       if fl else "", ">= 1.5x" if fl else "", self.met_of("rb_flood") if fl else ""))
        self.w("\n")

    def seconds_txt(self, rid):
        if self.r(rid, "seconds.1"):
            return "%s, %s (best counts)" % (self.r(rid, "seconds.0"), self.r(rid, "seconds.1"))
        return self.r(rid, "elapsed_s")

    def ingest(self):
        j = self.jv
        self.w("## 3. One-way ingest (log every line to a file)\n\n")
        self.w("""%s clients each send %s lines of
%s bytes as fast as TCP lets them. Rates count from starting flood to the last write
to the output file (its mtime once it stops growing): what was written, not what was sent. mtserver's log is
checked line by line with `flood --verify-log`; rsyslogd's output is counted. *rsyslogd, mtline* writes the same
content as mtserver's line (microsecond timestamp, transport, peer, connection number, event, message);
*rsyslogd, raw* the bare message. *dd* writes the bytes mtserver logged to the same file system with a plain
`dd` (best of two), the machine's write ceiling. %s\n\n""" % (j("sections.ingest.clients"),
                                                            fmt_num(j("sections.ingest.messages")),
                                                            j("sections.ingest.message_size"), self.busy_txt("ingest")))
        m_l, dd_b = self.r("in_mtserver", "lines_per_s"), self.r("in_dd", "bytes_per_s")
        self.w("| tool | command | lines/s | bytes/s | bytes/line | seconds | lines lost | mtserver lines/s ÷ this "
               "| bytes/s ÷ dd |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
        for rid in ("in_mtserver", "in_rsyslog_mtline", "in_rsyslog_raw", "in_dd"):
            if not self.r(rid, "tool"):
                continue
            self.w(row(self.run_label(rid), md_code(self.r(rid, "command")), fmt_num(self.r(rid, "lines_per_s")),
                       fmt_num(self.r(rid, "bytes_per_s")), ratio(self.r(rid, "bytes"), self.r(rid, "lines_logged"), 1),
                       self.seconds_txt(rid), self.r(rid, "lost"),
                       ratio_txt(m_l, self.r(rid, "lines_per_s")) if rid.startswith("in_rsyslog_") else "",
                       ratio_txt(self.r(rid, "bytes_per_s"), dd_b) if rid != "in_dd" else ""))
        self.w("\nTargets: mtserver >= 5x rsyslogd (mtline) in lines/s: %s; mtserver bytes/s >= 0.8x dd: %s; one of "
               "them: %s.\n\n" % (self.met_of("in_vs_rsyslog"), self.met_of("in_vs_dd"), self.met_of("in_either")))
        if self.r("in_mtserver", "verify_command"):
            self.w("Check: `%s`: %s.\n\n" % (self.r("in_mtserver", "verify_command"),
                                            "every line exactly once" if self.r("in_mtserver", "verify_ok") == "true"
                                            else "**FAILED**"))
        self.servers_list("ingest", "mtserver", "rsyslog_mtline", "rsyslog_raw")
        self.w("rsyslogd runs [bench/peers/rsyslog.conf.in](../peers/rsyslog.conf.in): imtcp → omfile, tuned for "
               "throughput (in-memory main queue of 1,000,000 that discards nothing, dequeue batches of 4,096, "
               "256 KB write buffer).\n\n")

    def memory(self):
        j = self.jv
        self.w("## 4. Memory with idle clients\n\n")
        self.w("""flood connects every client, stays idle %s s, then closes (`--hold`). While it
holds, the bench reads the server's open sockets and VmRSS from /proc/PID every 0.2 s: VmRSS is the largest
value seen at the peak socket count; VmHWM the peak over the server's life (a fresh server per row); *after* is
VmRSS once the clients have left. KB/conn = (VmRSS − VmRSS before) ÷ sockets. %s\n\n"""
               % (j("sections.memory.seconds"), self.busy_txt("memory")))
        self.w("| tool | command | held (flood) | server sockets | VmRSS MB | VmHWM MB | after MB | KB/conn | threads |\n")
        self.w("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
        n, big = j("sections.memory.clients"), j("sections.memory.big")
        for rid in ("hold_mtserver_" + n, "hold_go_" + n, "hold_epserver_" + n, "hold_rpserver_" + n, "hold_urserver_" + n,
                    "hold_mtserver_" + big):
            if not self.r(rid, "tool"):
                continue
            rss, base, peak = self.r(rid, "vmrss_kb"), self.r(rid, "vmrss_before_kb"), self.r(rid, "server_sockets_peak")
            grown = float(rss or 0) - float(base or 0)
            per = ratio("%d" % grown if grown == int(grown) else "%.6g" % grown, peak, 1)
            self.w(row(self.run_label(rid), md_code(self.r(rid, "command")), fmt_num(self.r(rid, "connections_held")),
                       fmt_num(peak), kb_mb(rss), kb_mb(self.r(rid, "vmhwm_kb")), kb_mb(self.r(rid, "vmrss_after_kb")),
                       per or "-", self.r(rid, "threads")))
        self.w("\nTargets: VmRSS <= 80 MB: %s; all held: %s.\n\nServers:\n\n" % (self.met_of("mem_rss"),
                                                                              self.met_of("mem_big")))
        for i in range(self.count("sections.memory.servers")):
            self.w("- `%s`\n" % j("sections.memory.servers.%d" % i))
        self.w("\n")

    def chat(self):
        j = self.jv
        self.w("## 5. Chat: mtserver --chat vs ncat --chat\n\n")
        if j("sections.chat.skipped"):
            self.w("Skipped: %s.\n\n" % j("sections.chat.skipped"))
            return
        self.w("""`flood --chat -n N -m M`: N members each send M messages; flood checks that every member received every
other member's messages exactly once and in each sender's order, and times each delivery from its send.
ncat is Debian's `ncat --chat`, which keeps no log; so mtserver runs with `-q` (messages not logged).
%s\n\n""" % self.busy_txt("chat"))
        self.w("| members | tool | command | deliveries/s | p50 µs | p99 µs | mtserver ÷ this | target | met? |\n")
        self.w("|---:|---|---|---:|---:|---:|---:|---|---|\n")
        for i in range(self.count("sections.chat.sizes")):
            n = j("sections.chat.sizes.%d" % i)
            for tool in ("mtserver", "ncat"):
                rid = "chat_%s_%s" % (tool, n)
                if not self.r(rid, "tool"):
                    continue
                mt = tool == "mtserver"
                self.w(row(n, self.run_label(rid), md_code(self.r(rid, "command")),
                           fmt_num(self.r(rid, "deliveries_per_s")), fmt_num(self.r(rid, "p50_us")),
                           fmt_num(self.r(rid, "p99_us")),
                           "" if mt else ratio_txt(self.r("chat_mtserver_" + n, "deliveries_per_s"),
                                                   self.r(rid, "deliveries_per_s")),
                           "ahead of ncat in deliveries/s and p99" if mt else "",
                           self.met_of("chat_" + n) if mt else ""))
        self.w("\n")
        self.servers_list("chat", "mtserver", "ncat")

    def pair_rounds(self, sec, fmt_a, fmt_b, names, key, digits=0):
        """A pair's alternating rounds: each run's command, its figure
        (key) and the ratio; the median is the target's."""
        rounds = self.jv("sections.%s.rounds" % sec)
        self.w("| round | %s | %s | %s ÷ %s |\n|---:|---:|---:|---:|\n" % (names[0], names[1], names[0], names[1]))
        for i in range(1, int(rounds) + 1 if is_num(rounds) else 1):
            a, b = self.r(fmt_a % i, key), self.r(fmt_b % i, key)
            if a or b:
                self.w(row(i, fmt_num(a, digits) + ("" if self.r(fmt_a % i, "ok") == "true" else " (FAILED)"),
                           fmt_num(b, digits) + ("" if self.r(fmt_b % i, "ok") == "true" else " (FAILED)"),
                           ratio_txt(a, b)))
        self.w("\n")
        for fmt in (fmt_a, fmt_b):
            if self.r(fmt % 1, "command"):
                self.w("- `%s`\n" % md_cell(self.r(fmt % 1, "command")))
        self.w("\n")

    def framing(self):
        j = self.jv
        if not isinstance(self.doc.get("sections", {}).get("framing"), dict):
            return  # a report from before the section
        self.w("## 6. Framing: octet counting vs LF, and PROXY v2 through haproxy\n\n")
        if j("sections.framing.skipped") or not self.r("fr_lf_r1", "tool"):
            self.w("Skipped.\n\n")
            return
        self.w("""%s clients x %s messages of %s bytes, a fresh mtserver per run, every log checked with
`flood --verify-log`; the two of a pair run one right after the other, round after round. *octet*: flood
`--octet-count` sends each message as `LEN SP MSG` (RFC 6587) to `mtserver --framing octet`; *lf*: the same
messages as lines to `mtserver --framing lf`. %s\n\n""" % (j("sections.framing.clients"),
                                                     fmt_num(j("sections.framing.messages")),
                                                     j("sections.framing.message_size"), self.busy_txt("framing")))
        self.pair_rounds("framing", "fr_octet_r%d", "fr_lf_r%d", ("octet lines/s", "lf lines/s"), "lines_per_s")
        self.w("Target: octet >= 0.9x lf: %s.\n\n" % self.met_of("fr_octet_vs_lf"))
        if j("sections.front.skipped"):
            self.w("PROXY v2: skipped (%s).\n\n" % j("sections.front.skipped"))
            return
        if not self.r("px_tcp_r1", "tool"):
            return
        self.w("""Through haproxy (its own configuration in the run's directory, docs/proxy-protocol.md's):
*pp* is `send-proxy-v2` to `mtserver --proxy-protocol`, *tcp* plain TCP mode to plain mtserver; flood sends to
haproxy. haproxy's configuration (pp): `%s`\n\n""" % md_cell(j("sections.front.haproxy_cfg_pp")))
        self.pair_rounds("front", "px_pp_r%d", "px_tcp_r%d", ("pp lines/s", "tcp lines/s"), "lines_per_s")
        self.w("Target: pp >= 0.8x tcp: %s.\n\n" % self.met_of("px_pp_vs_tcp"))

    def metrics(self):
        j = self.jv
        if not isinstance(self.doc.get("sections", {}).get("metrics"), dict):
            return  # a report from before the section
        self.w("## 7. --metrics: scraped once a second vs off\n\n")
        if j("sections.metrics.skipped") or not self.r("mx_in_off_r1", "tool"):
            self.w("Skipped%s.\n\n" % (": " + j("sections.metrics.skipped") if j("sections.metrics.skipped") else ""))
            return
        self.w("""*on*: `mtserver --metrics 127.0.0.1:0` with `curl --max-time 1` fetching /metrics once a second
through the run; *off*: without. Ingest: %s clients x %s messages, a fresh server per run, logs verified.
Ping-pong: %s clients, `%s`, both servers side by side. Rounds alternate. %s\n\n"""
               % (j("sections.metrics.clients"), fmt_num(j("sections.metrics.messages")),
                  j("sections.metrics.pp_clients"), j("sections.metrics.load"), self.busy_txt("metrics")))
        self.pair_rounds("metrics", "mx_in_on_r%d", "mx_in_off_r%d", ("on lines/s", "off lines/s"), "lines_per_s")
        self.pair_rounds("metrics", "mx_pp_on_r%d", "mx_pp_off_r%d", ("on msgs/s", "off msgs/s"), "messages_per_s")
        self.w("Targets: ingest on >= 0.98x off: %s; ping-pong on >= 0.98x off: %s.\n\n"
               % (self.met_of("mx_ingest"), self.met_of("mx_pingpong")))

    def room(self):
        j = self.jv
        if not isinstance(self.doc.get("sections", {}).get("room"), dict):
            return  # a report from before the section
        self.w("## 8. The room under attack (mtserver --chat)\n\n")
        if j("sections.room.skipped"):
            self.w("Skipped: %s.\n\n" % j("sections.room.skipped"))
            return
        self.w("""*UDP flooder*: `flood --chat -n %s -m %s` against `mtserver --chat --chat-udp` while `flood --udp
--rate %s` sends from one address (10x the room's per-address rate); members dropped are the log's
`reason=slow-reader` lines, UDP lines not relayed the server's stop summary. *TCP flooder*: `flood --chat -n %s
-m %s` with and without one member (`benchlib.py flooder`) sending as fast as the room takes, rounds
alternating; p99 is the honest members' delivery latency. *Churn*: `flood --churn -t 4 -n 4 -d %s` while %s
newcomers join over a second (`flood --echo --reply-any-line -m 1`: the first line a newcomer reads is its
welcome; the time from its connect to it). %s\n\n""" % tuple(
            [j("sections.room." + k) for k in ("members_udp", "messages_udp", "udp_rate", "members_flooder",
                                               "messages_flooder", "churn_secs", "newcomers")]
            + [self.busy_txt("room")]))
        if self.r("room_udp", "tool"):
            self.w("UDP flooder: %s; %s members dropped, %s of %s UDP lines not relayed, %s deliveries/s, p99 %s "
                   "µs. Target: %s.\n\n`%s`\n\n" % (
                       self.run_label("room_udp"), self.r("room_udp", "slow_reader_drops") or "-",
                       self.r("room_udp", "udp_not_relayed") or "-", self.r("room_udp", "udp_sent") or "-",
                       fmt_num(self.r("room_udp", "deliveries_per_s")), fmt_num(self.r("room_udp", "p99_us")),
                       self.met_of("room_udp"), md_cell(self.r("room_udp", "command"))))
        if self.r("room_fl_off_r1", "tool"):
            self.pair_rounds("room", "room_fl_on_r%d", "room_fl_off_r%d", ("p99 µs with the flooder",
                                                                           "p99 µs without"), "p99_us")
            self.w("Target: with <= 2x without: %s.\n\n" % self.met_of("room_flooder"))
        if self.r("room_churn", "tool"):
            self.w("Churn: %s; %s of %s newcomers welcomed, %s refused, welcome p50 %s µs, p99 %s µs; %s churn "
                   "connections. Target: %s.\n\n`%s`\n\n" % (
                       self.run_label("room_churn"), self.r("room_churn", "welcomed") or "-",
                       j("sections.room.newcomers"), self.r("room_churn", "refused") or "-",
                       fmt_num(self.r("room_churn", "welcome_p50_us")), fmt_num(self.r("room_churn", "welcome_p99_us")),
                       fmt_num(self.r("room_churn", "churn_connections")), self.met_of("room_churn"),
                       md_cell(self.r("room_churn", "command"))))
        self.servers_list("room", "udp", "flooder", "churn")

    def broker(self):
        j = self.jv
        if not isinstance(self.doc.get("sections", {}).get("broker"), dict):
            return
        self.w("## 9. One room on two servers (mtserver --chat --broker)\n\n")
        if j("sections.broker.skipped"):
            self.w("Skipped: %s.\n\n" % j("sections.broker.skipped"))
            return
        self.w("""`flood --chat --hosts A,B -n %s -m %s`: the members joined the two nodes in turn (half each), both
nodes joined to one room through one redis-server (`--broker`, a Redis Stream); flood checked every delivery,
once and in each sender's order, across the two. Alternating with the same members on one node without a
broker, %s round(s); then `ncat --chat` with the same members. Lines the nodes logged lost: %s. %s\n\n"""
               % (j("sections.broker.members"), j("sections.broker.messages"), j("sections.broker.rounds"),
                  j("sections.broker.lost_lines"), self.busy_txt("broker")))
        self.w("| round | two nodes deliveries/s | one node | two ÷ one | two nodes p99 µs | one node p99 µs |\n"
               "|---:|---:|---:|---:|---:|---:|\n")
        rounds = j("sections.broker.rounds")
        for i in range(1, int(rounds) + 1 if is_num(rounds) else 1):
            a, b = "br_two_r%d" % i, "br_one_r%d" % i
            if self.r(a, "tool") or self.r(b, "tool"):
                self.w(row(i, fmt_num(self.r(a, "deliveries_per_s")) + ("" if self.r(a, "ok") == "true"
                                                                         else " (FAILED)"),
                           fmt_num(self.r(b, "deliveries_per_s")) + ("" if self.r(b, "ok") == "true"
                                                                      else " (FAILED)"),
                           ratio_txt(self.r(a, "deliveries_per_s"), self.r(b, "deliveries_per_s")),
                           fmt_num(self.r(a, "p99_us")), fmt_num(self.r(b, "p99_us"))))
        self.w("\n")
        if self.r("br_ncat", "tool"):
            self.w("ncat --chat: %s deliveries/s, p99 %s µs (%s).\n\n" % (
                fmt_num(self.r("br_ncat", "deliveries_per_s")), fmt_num(self.r("br_ncat", "p99_us")),
                self.run_label("br_ncat")))
        self.w("Targets: two nodes >= 0.5x one node's deliveries/s: %s; p99 <= 2x: %s; ahead of ncat: %s; "
               "nothing lost: %s.\n\n" % (self.met_of("broker_rate"), self.met_of("broker_p99"),
                                           self.met_of("broker_vs_ncat"), self.met_of("broker_lost")))
        self.servers_list("broker", "redis", "node_a", "node_b", "one", "ncat")

    def bullets(self, title, key):
        n = self.count(key)
        if n:
            self.w("## %s\n\n" % title + "".join("- %s\n" % self.jv("%s.%d" % (key, i)) for i in range(n)) + "\n")

    def render(self):
        for part in (self.header, self.machine, self.targets, self.pingpong, self.loadgen, self.ingest, self.memory,
                     self.chat, self.framing, self.metrics, self.room, self.broker):
            part()
        self.bullets("Failures", "failures")
        self.bullets("Notes", "notes")
        return "".join(self.out)


# ---------------------------------------------------------------------------
# Command line


def say(msg):
    print("%s: %s" % (os.environ.get("BENCH_NAME", "bench"), msg), file=sys.stderr)


def warn(msg):
    say("warning: " + msg)


def cmd_get(args):
    num = args[:1] == ["--num"]
    if num:
        args = args[1:]
    doc = load(args[0]) or {}
    for key in args[1:]:
        v = get(doc, key)
        print(fmt_num(v) if num else v)
    return 0


def cmd_results(args):
    aborted = args[3] if args[2:3] == ["--aborted"] else None
    return 0 if Bench(args[0]).write(args[1], aborted) == "ok" else 1


def cmd_render(args):
    doc = load(args[1])
    if doc is None:
        raise SystemExit("benchlib: cannot read %s" % args[1])
    report = BenchReport(doc)
    if args[0] == "targets":
        report.targets()
        sys.stdout.write("".join(report.out))
    else:
        sys.stdout.write(report.render())
    return 0


def main(argv, commands):
    usage = "usage: %s %s" % (os.path.basename(argv[0]), "|".join(commands))
    if len(argv) < 3 or argv[1] not in commands:
        print(usage, file=sys.stderr)
        return 2
    return commands[argv[1]](argv[2:])


def cmd_flooder(args):
    """flooder PORT SECS: one chat member on 127.0.0.1:PORT that sends
    lines as fast as the room takes them and reads (and drops) all it is
    sent, for SECS seconds at most or until SIGTERM; prints the lines
    sent.  make bench's TCP flooder in the room (issue 21)."""
    port, secs = int(args[0]), float(args[1])
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    line = b"flooder: as fast as the room takes it\n"
    batch, pending, sent = line * 64, b"", 0
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    end = time.monotonic() + secs
    try:
        while not stop and time.monotonic() < end:
            for _, events in sel.select(timeout=0.1):
                try:
                    if events & selectors.EVENT_READ and sock.recv(65536) == b"":
                        raise ConnectionError("the server closed the connection")
                    if events & selectors.EVENT_WRITE:
                        pending = pending or batch
                        n = sock.send(pending)
                        pending, sent = pending[n:], sent + n
                except (BlockingIOError, InterruptedError):
                    pass
    except OSError as e:
        say("flooder: %s" % e)
    finally:
        sock.close()
    print(sent // len(line))
    return 0


COMMANDS = {"get": cmd_get, "results": cmd_results, "render": cmd_render, "flooder": cmd_flooder}

if __name__ == "__main__":
    sys.exit(main(sys.argv, COMMANDS))
