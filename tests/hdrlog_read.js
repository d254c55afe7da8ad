// Reads an HdrHistogram interval log with hdr-histogram-js (the
// HdrHistogram project's JavaScript implementation) and prints the
// merged histogram's count and percentiles as one JSON line.  Used by
// test_flood.c as a check of flood's --hdr-log that shares no code with
// flood.  Usage: node hdrlog_read.js MODULE_DIR LOG, where MODULE_DIR
// holds node_modules/hdr-histogram-js (tests/need-hdr-js.sh MODULE_DIR).
const path = require("path");
const hdr = require(path.resolve(process.argv[2], "node_modules", "hdr-histogram-js"));
const text = require("fs").readFileSync(process.argv[3], "utf8");
const reader = new hdr.HistogramLogReader(text);
const all = hdr.build({ numberOfSignificantValueDigits: 3, highestTrackableValue: 100000000 });
let h, intervals = 0;
while ((h = reader.nextIntervalHistogram()) !== null) {
	all.add(h);
	intervals++;
}
const out = { intervals: intervals, count: all.totalCount, max: all.maxValue };
for (const [key, p] of [["p50", 50], ["p90", 90], ["p99", 99], ["p99_9", 99.9]])
	out[key] = all.getValueAtPercentile(p);
console.log(JSON.stringify(out));
