#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""tests/test_benchlib.py - bench/benchlib.py and lessons/lessonlib.py: the
numbers, the JSON in and out, each run's verdict and the targets from a
run's facts, and the Markdown, the benchmark's against the published
report byte for byte.  Run by tests/test_bench_py.sh (make test), or:

    python3 tests/test_benchlib.py [-v] [TestClass.test_name]
"""
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path[:0] = [os.path.join(ROOT, "bench"), os.path.join(ROOT, "lessons")]
import benchlib as B  # noqa: E402
import lessonlib as L  # noqa: E402


def flood_report(rate=1000.0, ok=True, **more):
    """flood's --json report, as much of it as the scripts read."""
    doc = {"ok": ok, "messages_per_s": rate, "connections_failed": 0, "failed_by_errno": {},
           "errors": {"timeout": 0, "max_time": 0}, "rtt_us": {"p50": 50, "p99": 90}}
    doc.update(more)
    return doc


class Run:
    """A temporary run directory: facts and flood's reports, as the bash
    scripts leave them."""

    def __init__(self, test):
        tmp = tempfile.TemporaryDirectory()
        test.addCleanup(tmp.cleanup)
        self.dir = tmp.name

    def fact(self, fid, *pairs):
        with open(os.path.join(self.dir, "facts"), "a", encoding="utf-8") as f:
            for k, v in zip(pairs[::2], pairs[1::2]):
                f.write("%s\t%s\t%s\n" % (fid, k, v))

    def report(self, name, doc):
        with open(os.path.join(self.dir, name), "w", encoding="utf-8") as f:
            json.dump(doc, f)

    def flood_run(self, rid, section, tool, clients, doc, rc=0, *more):
        self.report(rid + ".json", doc)
        self.fact("run:" + rid, "command", "bench/flood -n %s" % clients, "rc", rc, "section", section,
                  "tool", tool, "clients", clients, *more, "end", 1)


class Numbers(unittest.TestCase):
    def test_ratio(self):
        self.assertEqual(B.ratio("1", "3"), "0.33")
        self.assertEqual(B.ratio("2", "3", 4), "0.6667")
        self.assertEqual(B.ratio("5", "0"), "")
        self.assertEqual(B.ratio("", "3"), "")
        self.assertEqual(B.ratio("x", "3"), "")

    def test_fmt_num(self):
        self.assertEqual(B.fmt_num("1234567.891"), "1,234,568")
        self.assertEqual(B.fmt_num("1234.5", 2), "1,234.50")
        self.assertEqual(B.fmt_num("-9876543"), "-9,876,543")
        self.assertEqual(B.fmt_num("999"), "999")
        self.assertEqual(B.fmt_num("1e3"), "1,000")
        self.assertEqual(B.fmt_num(""), "-")
        self.assertEqual(B.fmt_num("n/a"), "-")

    def test_round_and_x(self):
        self.assertEqual(B.rnd("2.345", 1), "2.3")
        self.assertEqual(B.rnd("abc"), "")
        self.assertEqual(B.x_txt("0.9412"), "0.94x")
        self.assertEqual(B.x_txt(""), "-")

    def test_met_if(self):
        self.assertEqual(B.met_if("0.95", "ge", 0.95), "yes")
        self.assertEqual(B.met_if("0.9499", "ge", 0.95), "no")
        self.assertEqual(B.met_if("2", "gt", 2), "no")
        self.assertEqual(B.met_if("51", "le", "56"), "yes")
        self.assertEqual(B.met_if("", "ge", 1), "n/a")
        self.assertEqual(B.met_if("3", "le", ""), "n/a")

    def test_median_ratio(self):
        self.assertEqual(B.median_ratio([("90", "100"), ("120", "100"), ("99", "100")]), "0.9900")
        self.assertEqual(B.median_ratio([("90", "100"), ("", "100"), ("1", "0")]), "0.9000")
        self.assertEqual(B.median_ratio([]), "")

    def test_room_verdicts(self):
        self.assertEqual(B.room_udp_met(True, "0", "88"), "yes")
        self.assertEqual(B.room_udp_met(True, "1", "88"), "no")  # a member dropped
        self.assertEqual(B.room_udp_met(True, "0", "0"), "no")  # nothing counted at 10x the rate
        self.assertEqual(B.room_udp_met(False, "0", "88"), "no")  # the room itself failed
        self.assertEqual(B.room_udp_met(None, "0", "88"), "n/a")  # no run
        self.assertEqual(B.room_churn_met(True, "0", "99999"), "yes")
        self.assertEqual(B.room_churn_met(True, "0", "100000"), "no")
        self.assertEqual(B.room_churn_met(True, "1", "10"), "no")
        self.assertEqual(B.room_churn_met(True, "0", ""), "n/a")
        doc = {"refused_by_server": B.Num("2"), "errors": {"refused_by_server": B.Num("2")},
               "connections_failed": B.Num("1")}
        self.assertEqual(B.churn_refused(doc), "3")
        self.assertEqual(B.churn_refused({}), "")

    def test_median(self):
        self.assertEqual(B.median(["0.9", "", "1.1", "0.85"]), "0.9")  # the middle one as it is
        self.assertEqual(B.median(["1.0000", "0.9000"]), "0.9500")
        self.assertEqual(B.median(["", ""]), "")
        self.assertEqual(B.median(["10", "9", "100"]), "10")  # by value, not text


class Json(unittest.TestCase):
    def test_numbers_keep_their_text(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write('{"a": 0.050, "b": {"c": [1, 2.0]}, "t": true, "n": null, "s": "x\\ty"}')
        doc = B.load(f.name)
        os.unlink(f.name)
        self.assertEqual(B.get(doc, "a"), "0.050")
        self.assertEqual(B.get(doc, "b.c.1"), "2.0")
        self.assertEqual(B.get(doc, "b.c.5"), "")
        self.assertEqual(B.get(doc, "t"), "true")
        self.assertEqual(B.get(doc, "n"), "")
        self.assertEqual(B.get(doc, "missing.key"), "")
        self.assertEqual(B.get(doc, "b"), "")  # not a scalar
        self.assertEqual(B.get(doc, "s"), "x\ty")
        self.assertEqual(B.enc(doc), '{"a": 0.050, "b": {"c": [1, 2.0]}, "t": true, "n": null, "s": "x\\ty"}')

    def test_unreadable_is_none(self):
        self.assertIsNone(B.load("/nonexistent/x.json"))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write("[1, 2]")
        self.assertIsNone(B.load(f.name))
        os.unlink(f.name)

    def test_typed(self):
        self.assertIsNone(B.typed(""))
        self.assertEqual(B.enc(B.typed("12")), "12")
        self.assertEqual(B.enc(B.typed("-1.5e3")), "-1.5e3")
        self.assertEqual(B.typed("007"), "007")  # a leading zero: text
        self.assertEqual(B.typed("7.0 (aka)"), "7.0 (aka)")
        self.assertIs(B.typed("false"), False)
        self.assertEqual(B.value_of("command", "42"), "42")  # always a string

    def test_members_sorted_one_a_line(self):
        self.assertEqual(B.members({"b": 1, "a": "x"}), '{\n  "a": "x",\n  "b": 1\n}')
        self.assertEqual(B.members({}), "{\n}")

    def test_facts(self):
        run = Run(self)
        run.fact("s", "k", "v", "l[]", "", "k", "w")
        run.fact("s", "l[]", "a b", "l[]", "c")
        run.fact("t", "e[]", "")
        by_id = B.facts_by_id(B.read_facts(os.path.join(run.dir, "facts")))
        self.assertEqual(by_id, {"s": {"k": "w", "l": ["a b", "c"]}, "t": {"e": []}})


class Assemble(unittest.TestCase):
    """latest.json from a run's facts."""

    def setUp(self):
        self.run = Run(self)
        self.run.fact("bench", "quick", "1", "started", "2026-01-01T00:00:00Z", "start_ns", "0")
        self.run.fact("machine", "nproc", "2", "kernel", "Linux 6.1")
        self.run.fact("versions", "bash", "5.2", "git", "0123abc")

    def results(self, aborted=None):
        out = os.path.join(self.run.dir, "latest.json")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            status = B.Bench(self.run.dir).write(out, aborted)
        self.assertEqual(err.getvalue().count("FAILED: "), 0 if status == "ok" else len(self.failures(out)))
        with open(out, encoding="utf-8") as f:
            return status, json.load(f)

    @staticmethod
    def failures(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)["failures"]

    def target(self, doc, tid):
        return next(t for t in doc["targets"] if t["id"] == tid)

    def pingpong(self, rates):
        """rates: {(tool, clients, round): msgs/s}."""
        for (tool, c, r), rate in rates.items():
            self.run.flood_run(B.pp_id(tool, c, r), "pingpong", tool, c, flood_report(rate), 0, "round", r)
        self.run.fact("section:pingpong", "busy_pct_before", "3", "clients[]", "", "clients[]", "1",
                      "clients[]", "20", "load", "-d 5", "rounds", "3", "timeout_ms", "5000",
                      "servers.mtserver", "./mtserver 0", "servers.tpc", "", "_mid", "20", "_big", "", "end", "1")

    def test_pingpong_median_of_rounds(self):
        self.pingpong({("mtserver", 20, 1): 90, ("tpc", 20, 1): 100, ("mtserver", 20, 2): 99,
                       ("tpc", 20, 2): 100, ("mtserver", 20, 3): 120, ("tpc", 20, 3): 100,
                       ("mtserver", 1, 1): 10, ("redis", 1, 1): 10})
        status, doc = self.results()
        self.assertEqual(status, "ok")
        t = self.target(doc, "pp_20_vs_tpc")
        self.assertEqual((t["measured"], t["met"]), ("0.99x", "yes"))  # rounds 0.9, 0.99, 1.2
        self.assertIn("(median of 3 alternating rounds)", t["description"])
        t = self.target(doc, "pp_1_p50")
        self.assertEqual((t["measured"], t["met"]), ("50 us vs 50 us", "yes"))
        run = doc["runs"]["pp_mtserver_20_r2"]
        self.assertEqual((run["ok"], run["messages_per_s"], run["p99_us"], run["round"]), (True, 99.0, 90, 2))
        self.assertEqual(run["flood"]["rtt_us"]["p50"], 50)
        section = doc["sections"]["pingpong"]
        self.assertEqual(list(section), ["busy_pct_before", "clients", "load", "rounds", "timeout_ms", "servers"])
        self.assertEqual(section["clients"], [1, 20])
        self.assertEqual(section["servers"], {"mtserver": "./mtserver 0", "tpc": ""})

    def test_failed_flood_run(self):
        self.pingpong({("mtserver", 20, 1): 90,
                       ("tpc", 20, 1): 100})
        self.run.flood_run("pp_go_20", "pingpong", "go", 20,
                           flood_report(5, ok=False, errors={"timeout": 3, "max_time": 0},
                                        failed_by_errno={"ECONNREFUSED": 2}), 1, "round", 1)
        self.run.fact("failures", "-", "go did not stop")
        status, doc = self.results()
        self.assertEqual(status, "failed")
        note = "flood exit 1: ECONNREFUSED=2 timeout=3"  # in the report's order
        self.assertEqual(doc["runs"]["pp_go_20"]["note"], note)
        self.assertEqual(doc["failures"], ["pingpong go 20: " + note, "go did not stop"])  # as they came
        t = self.target(doc, "pp_1_p50")  # no run at 1 client
        self.assertEqual((t["measured"], t["met"]), ("- us vs - us", "n/a"))

    def test_no_report_says_flood_last_words(self):
        with open(os.path.join(self.run.dir, "x.err"), "w", encoding="utf-8") as f:
            f.write("flood: connect: refused\nflood: giving up\n")
        self.run.fact("run:x", "command", "flood", "rc", "2", "section", "chat", "tool", "ncat",
                      "clients", "5", "messages", "10", "end", "1")
        status, doc = self.results()
        self.assertEqual(doc["runs"]["x"]["note"], "flood exit 2: flood: giving up")
        self.assertIsNone(doc["runs"]["x"]["flood"])

    def ingest(self, rsyslog_lines):
        self.run.report("in_mtserver.verify.json", {"found": 40})
        self.run.flood_run("in_mtserver", "ingest", "mtserver", 4, flood_report(), 0, "messages", "10",
                           "t0_ns", "1000000000", "settled_ns", "3000000000", "bytes", "4000",
                           "verify", os.path.join(self.run.dir, "in_mtserver.verify.json"),
                           "verify_command", "flood --verify-log", "verify_ok", "true")
        self.run.flood_run("in_rsyslog_mtline", "ingest", "rsyslogd (mtline)", 4, flood_report(), 0,
                           "messages", "10", "t0_ns", "0", "settled_ns", "8000000000", "bytes", "4000",
                           "lines", rsyslog_lines)
        self.run.fact("run:in_dd", "seconds[]", "", "seconds[]", "0.5", "seconds[]", "0.25", "section", "ingest",
                      "tool", "dd", "clients", "", "command", "dd", "bytes", "4000", "end", "1")
        self.run.fact("section:ingest", "busy_pct_before", "0", "clients", "4", "messages", "10", "end", "1")

    def test_ingest_rates_and_targets(self):
        self.ingest("40")
        status, doc = self.results()
        self.assertEqual(status, "ok")
        run = doc["runs"]["in_mtserver"]
        self.assertEqual((run["messages"], run["lines_logged"], run["lost"], run["lines_per_s"],
                          run["bytes_per_s"], run["verify_ok"]), (40, 40, 0, 20.0, 2000, True))
        self.assertEqual(doc["runs"]["in_dd"]["elapsed_s"], 0.25)
        self.assertEqual(doc["runs"]["in_dd"]["bytes_per_s"], 16000)
        self.assertEqual(self.target(doc, "in_vs_rsyslog")["measured"], "4.00x")  # 20 vs 5 lines/s
        self.assertEqual(self.target(doc, "in_vs_dd")["measured"], "0.12x")
        either = self.target(doc, "in_either")
        self.assertEqual((either["measured"], either["met"]), ("4.00x rsyslogd; 0.12x dd", "no"))

    def test_rsyslog_losing_lines_fails(self):
        self.ingest("39")
        status, doc = self.results()
        self.assertEqual(status, "failed")
        self.assertEqual(doc["runs"]["in_rsyslog_mtline"]["note"], "rsyslogd wrote 39 of 40 lines")
        self.assertEqual(doc["runs"]["in_rsyslog_mtline"]["lost"], 1)

    def test_failed_check_is_the_verdict(self):
        """flood was happy, its --verify-log was not: bash's verdict wins."""
        self.ingest("40")
        self.run.fact("run:in_mtserver", "ok", "false", "note", "flood --verify-log exit 1: line 7 twice")
        status, doc = self.results()
        run = doc["runs"]["in_mtserver"]
        self.assertEqual((status, run["ok"], run["note"]), ("failed", False, "flood --verify-log exit 1: line 7 twice"))

    def test_memory_target_needs_every_client_held(self):
        self.run.flood_run("hold_mtserver_200", "memory", "mtserver", 200, flood_report(connections_held=199), 0,
                           "vmrss_kb", "4096", "vmrss_before_kb", "1024", "server_sockets_peak", "199")
        self.run.fact("section:memory", "busy_pct_before", "1", "servers[]", "", "clients", "200", "big", "",
                      "seconds", "2", "_rss_target_mb", "80", "end", "1")
        _, doc = self.results()
        t = self.target(doc, "mem_rss")
        self.assertEqual((t["measured"], t["wanted"], t["met"]), ("4.0 MB", "<= 80 MB", "n/a"))
        self.assertEqual(doc["sections"]["memory"], {"busy_pct_before": 1, "clients": 200, "big": None,
                                                     "seconds": 2, "servers": []})
        self.assertFalse(any(t["id"] == "mem_big" for t in doc["targets"]))

    def test_chat_target_and_skip(self):
        for tool, rate, p99 in (("mtserver", 300, 100), ("ncat", 100, 200)):
            self.run.flood_run("chat_%s_5" % tool, "chat", tool, 5,
                               flood_report(deliveries_per_s=rate, delivery_us={"p50": 1, "p99": p99}), 0,
                               "messages", "10")
        self.run.fact("section:chat", "busy_pct_before", "0", "sizes[]", "", "sizes[]", "5", "end", "1")
        _, doc = self.results()
        t = self.target(doc, "chat_5")
        self.assertEqual((t["measured"], t["met"]), ("3.00x deliveries/s; p99 100 us vs 200 us", "yes"))
        self.assertEqual(doc["runs"]["chat_ncat_5"]["p99_us"], 200)

    def test_broker_targets(self):
        """Issue 26: two nodes >= 0.5x one node (median of rounds), p99 <=
        2x, ahead of ncat, nothing lost."""
        for (tool, r), (rate, p99) in {("two", 1): (60, 300), ("one", 1): (100, 100), ("two", 2): (40, 100),
                                       ("one", 2): (100, 100), ("two", 3): (50, 250), ("one", 3): (100, 100)}.items():
            self.run.flood_run("br_%s_r%d" % (tool, r), "broker", tool, 10,
                               flood_report(deliveries_per_s=rate, delivery_us={"p50": 1, "p99": p99}), 0,
                               "messages", "10", "round", r)
        self.run.flood_run("br_ncat", "broker", "ncat", 10,
                           flood_report(deliveries_per_s=45, delivery_us={"p50": 1, "p99": 9}), 0, "messages", "10")
        self.run.fact("section:broker", "busy_pct_before", "0", "members", "10", "messages", "10", "rounds", "3",
                      "lost_lines", "2", "end", "1")
        _, doc = self.results()
        self.assertEqual([self.target(doc, t)["met"] for t in ("broker_rate", "broker_p99", "broker_vs_ncat",
                                                                "broker_lost")], ["yes", "no", "yes", "no"])
        self.assertEqual(self.target(doc, "broker_rate")["measured"], "0.50x")  # 0.6, 0.4, 0.5
        self.assertEqual(self.target(doc, "broker_p99")["measured"], "2.50x")  # 3, 1, 2.5
        self.assertEqual(self.target(doc, "broker_vs_ncat")["measured"], "1.11x")  # 60, 40, 50 over 45
        self.assertIn("## 9. One room on two servers", B.BenchReport(doc).render())

    def test_chat_target_wants_one_and_a_half(self):
        """Issue 21: ahead of ncat by >= 1.5x, p99 lower too."""
        for tool, rate, p99 in (("mtserver", 140, 100), ("ncat", 100, 200)):
            self.run.flood_run("chat_%s_5" % tool, "chat", tool, 5,
                               flood_report(deliveries_per_s=rate, delivery_us={"p50": 1, "p99": p99}), 0,
                               "messages", "10")
        self.run.fact("section:chat", "busy_pct_before", "0", "sizes[]", "", "sizes[]", "5", "end", "1")
        _, doc = self.results()
        t = self.target(doc, "chat_5")
        self.assertEqual((t["measured"], t["wanted"], t["met"]),
                         ("1.40x deliveries/s; p99 100 us vs 200 us", ">= 1.5x and p99 lower", "no"))

    def pair(self, section, fmt, tools, rates, key="messages_per_s", extra=()):
        """Rounds of a pair: rates {(tool, round): figure}; ingest-like runs
        get their lines/s from a verify report and times."""
        for (tool, r), rate in rates.items():
            rid = fmt % (tool, r)
            if key == "lines_per_s":
                self.run.report(rid + ".verify.json", {"found": rate})
                self.run.flood_run(rid, section, tool, 1, flood_report(), 0, "messages", str(rate), "t0_ns", "0",
                                   "settled_ns", "1000000000", "bytes", str(rate * 30), "round", r,
                                   "verify", os.path.join(self.run.dir, rid + ".verify.json"),
                                   "verify_command", "flood --verify-log", "verify_ok", "true", *extra)
            else:
                self.run.flood_run(rid, section, tool, 20, flood_report(rate), 0, "round", r, *extra)

    def test_framing_and_front_medians(self):
        self.pair("framing", "fr_%s_r%d", ("lf", "octet"), {("lf", 1): 100, ("octet", 1): 80, ("lf", 2): 100,
                                                             ("octet", 2): 95, ("lf", 3): 100, ("octet", 3): 99},
                  "lines_per_s")
        self.run.fact("section:framing", "busy_pct_before", "0", "clients", "1", "messages", "100", "rounds", "3",
                      "end", "1")
        self.pair("front", "px_%s_r%d", ("tcp", "pp"), {("tcp", 1): 100, ("pp", 1): 70}, "lines_per_s")
        self.run.fact("section:front", "busy_pct_before", "0", "rounds", "1", "end", "1")
        status, doc = self.results()
        self.assertEqual(status, "ok")
        t = self.target(doc, "fr_octet_vs_lf")
        self.assertEqual((t["measured"], t["wanted"], t["met"]), ("0.95x", ">= 0.9x", "yes"))  # 0.8, 0.95, 0.99
        self.assertIn("(median of 3 alternating rounds)", t["description"])
        t = self.target(doc, "px_pp_vs_tcp")
        self.assertEqual((t["measured"], t["met"]), ("0.70x", "no"))
        self.assertNotIn("median", t["description"])
        run = doc["runs"]["fr_octet_r2"]
        self.assertEqual((run["lines_per_s"], run["round"], run["verify_ok"]), (95.0, 2, True))

    def test_metrics_targets(self):
        self.pair("metrics_ingest", "mx_in_%s_r%d", ("off", "on"), {("off", 1): 100, ("on", 1): 98},
                  "lines_per_s", ("scrapes", "3"))
        self.pair("metrics_pingpong", "mx_pp_%s_r%d", ("off", "on"), {("off", 1): 1000, ("on", 1): 970})
        self.run.fact("section:metrics", "busy_pct_before", "0", "rounds", "1", "pp_clients", "20", "end", "1")
        _, doc = self.results()
        t = self.target(doc, "mx_ingest")
        self.assertEqual((t["measured"], t["wanted"], t["met"]), ("0.98x", ">= 0.98x", "yes"))
        t = self.target(doc, "mx_pingpong")
        self.assertEqual((t["measured"], t["met"]), ("0.97x", "no"))
        self.assertEqual(doc["runs"]["mx_in_on_r1"]["scrapes"], 3)

    def test_metrics_skipped_has_no_targets(self):
        self.run.fact("section:metrics", "busy_pct_before", "0", "skipped", "curl not installed", "end", "1")
        _, doc = self.results()
        self.assertFalse([t for t in doc["targets"] if t["id"].startswith("mx_")])
        self.assertEqual(doc["sections"]["metrics"]["skipped"], "curl not installed")

    def room(self, drops="0", not_relayed="88", refused=0, welcome_p99=2500, answered=10):
        chat = flood_report(deliveries_per_s=1000, delivery_us={"p50": 1, "p99": 500})
        self.run.flood_run("room_udp", "room", "udp", 5, chat, 0, "messages", "20", "udp_rate", "100",
                           "udp_sent", "108", "udp_not_relayed", not_relayed, "slow_reader_drops", drops)
        for r, (off, on) in enumerate(((500, 900), (500, 1100), (400, 2000)), 1):
            for tool, p99 in (("off", off), ("on", on)):
                self.run.flood_run("room_fl_%s_r%d" % (tool, r), "room", "flood_" + tool, 10,
                                   flood_report(delivery_us={"p50": 1, "p99": p99}), 0, "messages", "10", "round", r)
        self.run.flood_run("room_churn", "room", "churn", 10,
                           flood_report(ok=False, messages_answered=answered, refused_by_server=refused,
                                        first_reply_us={"p50": 500, "p99": welcome_p99}), 1,
                           "churn_connections", "11920")
        ok = answered == 10 and refused == 0
        self.run.fact("run:room_churn", "ok", "true" if ok else "false", "note", "" if ok else "refused")
        self.run.fact("section:room", "busy_pct_before", "0", "members_udp", "5", "udp_rate", "100",
                      "members_flooder", "10", "rounds", "3", "newcomers", "10", "end", "1")

    def test_room_targets(self):
        self.room()
        status, doc = self.results()
        self.assertEqual(status, "ok")
        t = self.target(doc, "room_udp")
        self.assertEqual((t["measured"], t["met"]), ("0 dropped; 88 of 108 not relayed", "yes"))
        t = self.target(doc, "room_flooder")  # 1.8, 2.2, 5.0
        self.assertEqual((t["measured"], t["wanted"], t["met"]), ("2.20x", "<= 2x", "no"))
        t = self.target(doc, "room_churn")
        self.assertEqual((t["measured"], t["met"]), ("0 refused; p99 2.5 ms", "yes"))
        run = doc["runs"]["room_churn"]
        self.assertEqual((run["ok"], run["welcomed"], run["refused"], run["welcome_p99_us"]), (True, 10, 0, 2500))
        text = B.BenchReport(B.load(os.path.join(self.run.dir, "latest.json"))).render()
        self.assertIn("## 8. The room under attack", text)
        self.assertIn("0 members dropped, 88 of 108 UDP lines not relayed", text)
        self.assertIn("10 of 10 newcomers welcomed, 0 refused", text)
        self.assertNotIn("## 7. --metrics", text)  # not in this report
        self.assertIn("| 3 | 2,000 | 400 | 5.00x |", text)

    def test_room_targets_missed(self):
        self.room(drops="1", refused=2, welcome_p99=150000, answered=8)
        status, doc = self.results()
        self.assertEqual(status, "failed")  # newcomers refused: the churn run failed
        self.assertEqual(self.target(doc, "room_udp")["met"], "no")
        t = self.target(doc, "room_churn")
        self.assertEqual((t["measured"], t["met"]), ("2 refused; p99 150.0 ms", "no"))

    def test_aborted(self):
        status, doc = self.results(aborted="130")
        self.assertEqual(status, "aborted")
        self.assertEqual(doc["failures"], ["the run was interrupted or aborted (exit status 130) before it finished"])
        self.assertEqual(doc["machine"], {"kernel": "Linux 6.1", "nproc": 2})
        self.assertEqual(doc["versions"], {"bash": "5.2", "git": "0123abc"})


class Render(unittest.TestCase):
    def test_published_report_byte_for_byte(self):
        """The published latest.md is the render of the published
        latest.json: nothing in the report is written by hand."""
        published = os.path.join(ROOT, "bench", "published")
        doc = B.load(os.path.join(published, "latest.json"))
        with open(os.path.join(published, "latest.md"), encoding="utf-8") as f:
            self.assertEqual(B.BenchReport(doc).render(), f.read())

    def test_failed_run_and_missed_target(self):
        doc = {"targets": [{"id": "rb_flood", "description": "a | b", "measured": "1.2x", "wanted": ">= 1.5x",
                            "met": "no"}],
               "runs": {"rb_flood": {"tool": "flood", "ok": False, "note": "flood exit 1: timeout=2",
                                     "command": "bench/flood -n 2", "messages_per_s": B.Num("1234.5")}}}
        report = B.BenchReport(doc)
        report.targets()
        report.loadgen()
        text = "".join(report.out)
        self.assertIn("| a \\| b | 1.2x | >= 1.5x | **no** |", text)
        self.assertIn("| flood (FAILED: flood exit 1: timeout=2) | `bench/flood -n 2` | 1,234 |", text)


class Lessons(unittest.TestCase):
    def compare(self, srv, n, flood, check, **facts):
        run = Run(self)
        run.report("%s_%s.json" % (srv, n), flood)
        run.report("%s_%s.verify.json" % (srv, n), check)
        f = {"server": srv, "clients": str(n), "started": "1", "frc": "0", "src": "0", "capped": "false",
             "vrc": "0"}
        f.update(facts)
        return L.compare_run(run.dir, "%s_%s" % (srv, n), f, "10")

    def test_compare_run(self):
        flood = {"elapsed_s": 2.0, "messages_answered": 30, "connect_us": {"max": 1500}}
        check = {"first_logged_us": {"count": 3, "p50": 200000, "max": 11000000}}
        r = self.compare("stserver", 3, flood, check, frc="1", capped="true")
        self.assertEqual((r["capped"], r["note"], r["messages_per_s"], r["connect_max_s"]),
                         (True, "", "15.0", "0.001500"))
        self.assertEqual((r["first_reply_p50_s"], r["first_reply_max_s"]), ("0.200000", None))  # 11 s > 10
        r = self.compare("mtserver", 3, flood, check, frc="1", src="1")
        self.assertEqual(r["note"], "a client's first message is missing from the log; flood status 1; "
                                    "server exit status 1")
        r = self.compare("mtserver", 3, {}, {}, frc="124", vrc="1")
        self.assertEqual(r["note"], "a client's first message is missing from the log; verify-log failed; "
                                    "flood failed (status 124, no report)")
        self.assertEqual(L.compare_run("", "x_1", {"server": "x", "clients": "1"}, "10"),
                         {"server": "x", "clients": 1, "note": "server did not start"})

    def test_compare_tables(self):
        doc = {"messages": B.Num("10"), "think_ms": B.Num("100"), "cap_s": B.Num("30"), "clients": [B.Num("5")],
               "runs": {"stserver_5": {"server": "stserver", "clients": B.Num("5"), "capped": True, "answered":
                                       B.Num("31"), "note": "", "first_reply_p50_s": B.Num("0.000330"),
                                       "first_reply_max_s": None, "connect_max_s": B.Num("3.2")}}}
        md = L.render_compare(doc)
        self.assertIn("N x 0.9 s.", md)
        self.assertIn("| 5 | stserver | capped (>30 s) |  | 0.33 ms | >30 s | 3.20 s | capped: 31 of 50 messages "
                      "answered in 30 s |", md)
        self.assertIn("\n# stserver\n5 stserver -1 -1 0.000330 -1 3.2 1\n\n\n# mtserver\n",
                      L.render_compare_dat(doc))
        self.assertEqual([L.fmt_s(s) for s in ("", "-1", "0.0005", "0.25", "2")],
                         ["-", "-", "0.50 ms", "250.0 ms", "2.00 s"])

    def test_lossy_run(self):
        run = Run(self)
        run.report("tcp-5.json", {"messages_sent": 100, "elapsed_s": 1.5})
        run.report("tcp-5.verify.json", {"found": 98, "duplicated": 1})
        f = {"label": "tcp, flat out", "transport": "tcp", "loss_pct": "5", "frc": "0", "src": "0",
             "packets_dropped": "3", "tcp_retransmits": "2"}
        rec, failed = L.lossy_run(run.dir, "tcp-5", f)
        self.assertTrue(failed)
        self.assertEqual((rec["lost"], rec["lost_pct"], rec["note"]), (2, "2.00", "TCP lost messages!; 1 duplicated"))
        rec, failed = L.lossy_run(run.dir, "tcp-5", dict(f, transport="udp", tcp_retransmits="-"))
        self.assertFalse(failed)
        self.assertEqual(rec["tcp_retransmits"], "-")

    def test_gaps(self):
        capture = ["1795595246.000000 IP 127.0.0.1.1 > 127.0.0.1.2: Flags [S]\n",
                   "reading from file x.pcap\n", "\n",
                   "1795595247.012000 IP 127.0.0.1.1 > 127.0.0.1.2: Flags [S]\n",
                   "1795595249.060000 IP 127.0.0.1.1 > 127.0.0.1.2: Flags [S]\n"]
        self.assertEqual(L.gaps(capture), "1.0 s, 2.0 s")
        self.assertEqual(L.gaps(capture[:1]), "")

    def test_chat_table(self):
        doc = {"timeout_ms": B.Num("5000"), "runs": {"naive-1": {"ok": False, "deliveries": B.Num("4500"),
                                                                 "expected": B.Num("90000"),
                                                                 "elapsed_s": B.Num("5.123"),
                                                                 "deliveries_per_s": B.Num("878.4")}}}
        md = L.render_chat(doc)
        self.assertIn("| obvious (naive_chat.c) | 1 | 4,500 | 90,000 | 5.12 | 878 | 0.0 | stalled: no delivery "
                      "for 5 s |", md)
        self.assertIn("| mtserver --chat | 0 | - | - |  | - | 0.0 | stalled", md)


class Models(unittest.TestCase):
    """lessons/lesson-models.sh's results: every model side by side."""

    STAT = ("4242 (pt server) S 1 4242 4242 0 -1 4194560 300 0 0 0 "
            "17 25 3 5 20 0 9 0 100 1000000 500 18446744073709551615")

    def test_stat_ticks(self):
        # utime + stime + cutime + cstime; the name may hold ") ".
        self.assertEqual(L.stat_ticks(self.STAT), 17 + 25 + 3 + 5)
        self.assertEqual(L.stat_ticks(self.STAT.replace("(pt server)", "(a) b)")), 50)
        self.assertIsNone(L.stat_ticks("4242 (x) S 1 2"))
        self.assertIsNone(L.stat_ticks("no parenthesis at all"))
        self.assertIsNone(L.stat_ticks(""))

    def test_per_client_kb(self):
        self.assertEqual(L.per_client_kb("2000", "48000", "10000"), "4.6")
        self.assertEqual(L.per_client_kb("2000", "48000", "0"), "")
        self.assertEqual(L.per_client_kb("354", "0", "6660"), "")  # not measured
        self.assertEqual(L.per_client_kb("", "48000", "10"), "")

    def test_run_note(self):
        ok = {"started": "1", "frc": "0", "src": "0", "vrc": "0", "capped": "false"}
        self.assertEqual(L.run_note(ok, {}, {}), "")
        self.assertEqual(L.run_note({"started": "0"}, {}, {}), "server did not start")
        # Out of its time budget is a finding (the iterative server's), not
        # a failure; a lost line always is.
        self.assertEqual(L.run_note(dict(ok, frc="1", capped="true"), {"ok": False}, {}), "")
        self.assertEqual(L.run_note(dict(ok, frc="1"), {"elapsed_s": B.Num("1.5")}, {}), "flood status 1")
        check = {"found": B.Num("9"), "expected": B.Num("10")}
        self.assertEqual(L.run_note(dict(ok, frc="1", src="143", vrc="1"), {}, check),
                         "server exit status 143; flood status 1 (no report); log check failed: 9 of 10 "
                         "lines found")
        self.assertEqual(L.run_note(dict(ok, vrc="-"), {}, {}), "")  # redis-server: no log to check
        self.assertEqual(L.run_note(dict(ok, frc="-"), {}, {}), "")  # a hold: flood's status says nothing

    def run_dir(self):
        run = Run(self)
        run.fact("models", "hz", "100", "quick", "0", "started", "2026-12-07T23:00Z", "duration_s", "90",
                 "kernel", "Linux 6", "nproc", "2", "cap_s", "30", "stevens_clients", "5",
                 "stevens_per_client", "1000", "stevens_size", "4000", "hold_secs", "3", "hostile_clients", "20",
                 "hostile_messages", "20", "idle_timeout_s", "2", "nofile", "20000")
        for key, values in (("models", ["stserver", "mtserver"]), ("absent", ["epserver"]),
                            ("pp_clients", ["1", "200"]), ("pp_messages", ["100", "10"]),
                            ("hold_steps", ["10000", "19800"]), ("hostile_kinds", ["none", "trickle"])):
            run.fact("models", key + "[]", "")
            for v in values:
                run.fact("models", key + "[]", v)
        ok = ("started", "1", "frc", "0", "src", "0", "vrc", "0", "capped", "false")
        for m, ticks in (("stserver", "150"), ("mtserver", "210")):
            run.fact("run:stevens_" + m, "section", "stevens", "model", m, "clients", "5", *ok, "cpu_ticks", ticks)
            run.report("stevens_%s.verify.json" % m, {"ok": True, "expected": 5000, "found": 5000})
        run.report("pp_mtserver_200.json", {"messages_per_s": 81234.5, "rtt_us": {"p99": 4500}})
        run.fact("run:pp_mtserver_200", "section", "pingpong", "model", "mtserver", "clients", "200", *ok)
        run.report("pp_stserver_200.json", {"messages_per_s": 300.0, "rtt_us": {"p99": 900000}})
        run.fact("run:pp_stserver_200", "section", "pingpong", "model", "stserver", "clients", "200", *ok[:2],
                 "frc", "1", "src", "0", "vrc", "0", "capped", "true")
        run.report("pp_redis-server_200.json", {"messages_per_s": 130000.0, "rtt_us": {"p99": 2500}})
        run.fact("run:pp_redis-server_200", "section", "pingpong", "model", "redis-server", "clients", "200",
                 *ok[:6], "vrc", "-")
        run.fact("run:hold_mtserver_10000", "section", "hold", "model", "mtserver", "clients", "10000", *ok[:6],
                 "held", "10000", "rss0_kb", "2000", "rss_kb", "48000")
        run.fact("run:hold_mtserver_19800", "section", "hold", "model", "mtserver", "clients", "19800", *ok[:6],
                 "held", "15000", "rss0_kb", "2000", "rss_kb", "70000")
        run.report("hostile_stserver_trickle.json", {"first_reply_us": {"p99": 2100000, "max": 2200000}})
        run.fact("run:hostile_stserver_trickle", "section", "hostile", "model", "stserver", "kind", "trickle",
                 "clients", "20", *ok[:6], "vrc", "1")
        run.report("hostile_stserver_trickle.verify.json", {"expected": 400, "found": 399})
        return run

    def test_results_and_table(self):
        run = self.run_dir()
        out = os.path.join(run.dir, "models.json")
        self.assertEqual(L.results_models(run.dir, out), 1)  # a lost line fails the run
        doc = B.load(out)
        self.assertEqual(B.get(doc, "runs.stevens_mtserver.cpu_s"), "2.10")
        self.assertEqual(B.get(doc, "runs.stevens_mtserver.minus_iterative_s"), "0.60")
        self.assertEqual(B.get(doc, "runs.stevens_stserver.minus_iterative_s"), "0.00")
        self.assertEqual(B.get(doc, "runs.hold_mtserver_10000.kb_per_client"), "4.6")
        self.assertEqual(B.get(doc, "runs.pp_redis-server_200.verified"), "")
        self.assertEqual(L.models_of(doc), ["stserver", "mtserver", "redis-server"])
        md = L.render_models(doc)
        self.assertIn("| **stserver**<br>iterative | **mtserver**<br>thread per connection | "
                      "**redis-server**<br>reference |", md)
        self.assertIn("| Stevens: server CPU, 5,000 connections x 4,000 bytes | 1.50 s | 2.10 s |  |", md)
        self.assertIn("| ... minus the iterative server's | 0.00 s | 0.60 s |  |", md)
        self.assertIn("| ping-pong msgs/s, 200 clients | 300 (capped at 30 s) | 81,234 | 130,000 |", md)
        self.assertIn("| ... p99 round trip | 900.0 ms (capped at 30 s) | 4.5 ms | 2.5 ms |", md)
        self.assertIn("| RSS per idle client at 10,000 clients | - | 4.6 KiB |  |", md)
        self.assertIn("| most idle clients held (tried 10,000, 19,800) | - | 15,000 (of 19,800) |  |", md)
        self.assertIn("| ... with one client trickling a line | 2.10 s **failed** | - |  |", md)
        self.assertIn("| lines logged = lines sent (`flood --verify-log`) | **2 of 3 runs** | all 2 runs |  |", md)
        self.assertIn("Not measured: `epserver`", md)
        self.assertIn("- run `hostile_stserver_trickle` failed: log check failed: 399 of 400 lines found", md)
        self.assertIn("no citable copy", md)
        dat = L.render_models_dat(doc).splitlines()
        self.assertEqual(dat[1], "model 1_clients 200_clients p99_ms_1 p99_ms_200 kib_per_idle_client "
                                 "first_reply_s_none first_reply_s_trickle")
        # A failed run draws nothing; redis-server only where it ran.
        self.assertEqual(dat[2:], ["stserver - 300 - 900 - - -", "mtserver - 81234.5 - 4.5 4.6 - -",
                                   "redis-server - 130000 - 2.5 - - -"])

    def test_us_and_held(self):
        self.assertEqual([L.us_txt(v) for v in ("", "87", "1200", "3400000")], ["-", "87 us", "1.2 ms", "3.40 s"])
        doc = {"hold_steps": ["100", "200"], "runs": {
            "hold_m_100": {"section": "hold", "model": "m", "clients": "100", "held": "100", "note": ""},
            "hold_m_200": {"section": "hold", "model": "m", "clients": "200", "held": "200", "note": ""}}}
        self.assertEqual(L.held_most(doc, "m"), "200 (all tried)")
        self.assertEqual(L.held_most(doc, "x"), "-")
        doc["runs"]["hold_m_200"]["held"] = "150"
        self.assertEqual(L.held_most(doc, "m"), "150 (of 200)")
        # A model tried at the first step only (fkserver) does not claim
        # the others.
        del doc["runs"]["hold_m_200"]
        self.assertEqual(L.held_most(doc, "m"), "100 (only 100 tried)")


class Flooder(unittest.TestCase):
    def test_sends_and_reads_until_its_time_is_up(self):
        """benchlib.py flooder against a listener that sends it a line and
        reads what it gets: lines were sent, and it stops by itself."""
        import socket
        import threading
        lsock = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(lsock.close)
        got = []

        def serve():
            conn, _ = lsock.accept()
            with conn:
                conn.sendall(b"welcome\n")
                conn.settimeout(5)
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    got.append(len(data))

        t = threading.Thread(target=serve)
        t.start()
        out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "benchlib.py"), "flooder",
                              str(lsock.getsockname()[1]), "0.3"], capture_output=True, text=True, timeout=30)
        t.join(10)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = int(out.stdout.strip())
        self.assertGreater(lines, 0)
        self.assertGreaterEqual(sum(got), lines * len("flooder: as fast as the room takes it\n"))


class CommandLine(unittest.TestCase):
    def cli(self, *args):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "benchlib.py")] + list(args),
                           capture_output=True, text=True, check=False)
        return p.returncode, p.stdout, p.stderr

    def test_get(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"messages_per_s": 1234567.8, "rtt_us": {"p50": 5}}, f)
        self.assertEqual(self.cli("get", f.name, "rtt_us.p50", "absent", "messages_per_s"),
                         (0, "5\n\n1234567.8\n", ""))
        self.assertEqual(self.cli("get", "--num", f.name, "messages_per_s")[1], "1,234,568\n")
        os.unlink(f.name)

    def test_errors(self):
        rc, out, err = self.cli("frobnicate", "x")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("usage:", err)
        rc, out, err = self.cli("render", "bench", "/nonexistent.json")
        self.assertEqual((rc, out, err), (1, "", "benchlib: cannot read /nonexistent.json\n"))


if __name__ == "__main__":
    unittest.main()
