# SPDX-License-Identifier: BSD-2-Clause
# mtserver: thread-per-connection TCP/UDP line server, its iterative twin,
# a client and a load generator.  See README.md.
#
#   make                 ./mtserver ./stserver ./epserver ./rpserver
#                        ./mtclient bench/flood
#   make test (= check)  every test suite (installs libcmocka-dev if root)
#   make test VARIANT=asan|tsan   the same suites under a sanitizer
#   make run             builds everything, then ./mtserver 8888
#   make bench [QUICK=1] [PUBLISH=1]   the benchmark (bench/)
#   make compare|lesson-udp|lesson-handshake|lesson-chat|lesson-models [QUICK=1] [PUBLISH=1]
#                           the lessons (lessons/)
#   make test-repeat N=20   make test N times; make test-stress N=5 the
#                           same while stress-ng keeps both CPUs busy
#   make install [PREFIX=/usr/local] [DESTDIR=]   make uninstall (the same)
#   V=1 shows the commands.
#
# CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS are the user's (default CFLAGS:
# -O2 -g): what the code needs is in MT_CPPFLAGS, MT_CFLAGS, MT_LDFLAGS
# and MT_LDLIBS, which are always used, so `make CFLAGS="-O0 -g"` or a
# distribution's hardening flags change only what they say.

CC      ?= cc
VARIANT ?=

# Installation directories (GNU names); DESTDIR is prepended to each.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/mtserver
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(PREFIX)/lib/systemd/system
# logrotate reads /etc/logrotate.d only (/etc/logrotate.conf includes
# it), whatever PREFIX: a file anywhere else would never rotate anything.
LOGROTATEDIR ?= /etc/logrotate.d

OPT      = -O2 -g
SANFLAGS =
ifeq ($(VARIANT),)
BUILD    = build
OUT      = .
FLOOD    = bench/flood
WIRE     = lessons/wire/wire
else ifeq ($(VARIANT),asan)
BUILD    = build/asan
OPT      = -O1 -g -fno-omit-frame-pointer
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all
else ifeq ($(VARIANT),tsan)
BUILD    = build/tsan
OPT      = -O1 -g
SANFLAGS = -fsanitize=thread
else
$(error VARIANT must be empty, asan or tsan)
endif
ifneq ($(VARIANT),)
OUT      = $(BUILD)/bin
FLOOD    = $(OUT)/flood
WIRE     = $(OUT)/wire
endif

CFLAGS     ?= $(OPT)
# The product sees include/ only; flood's and the capture reader's
# sources find their own headers beside them, and the suites, which test
# those too, see their folders as well (INCLUDES_tests).
MT_INCLUDES = -Iinclude
MT_CPPFLAGS = $(MT_INCLUDES) -D_POSIX_C_SOURCE=200809L -MMD -MP
INCLUDES_tests = -Ibench/src -Ilessons/wire
LINT_INCLUDES = $(MT_INCLUDES) $(INCLUDES_tests)
MT_WARNINGS = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	      -Wmissing-prototypes -Wformat=2 -Wpointer-arith
MT_CFLAGS   = -std=c11 -pthread $(SANFLAGS) $(MT_WARNINGS)
# -z now: every symbol bound at start.  Lazy binding would run the
# dynamic linker, kilobytes of stack, on whichever small worker stack
# first calls a function (workers.h); full RELRO comes with it.
MT_LDFLAGS  = -pthread $(SANFLAGS) -Wl,-z,relro,-z,now
# hiredis: mtserver --broker's Redis client (libhiredis-dev: checked,
# and installed when root, before the files that include it).
MT_LDLIBS   = -lm -lhiredis
COMPILE     = $(CC) $(MT_CPPFLAGS) $(CPPFLAGS) $(MT_CFLAGS) $(CFLAGS)
LINK        = $(CC) $(MT_LDFLAGS) $(LDFLAGS)

ifeq ($(V),1)
Q =
say =
else
Q = @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

# Programs are thin mains over libraries: src/*.c minus the mains is the
# server library, bench/src/*.c minus flood.c is the load generator's (which
# also uses the server library's socket helpers, net.h).  lessons/wire/wire,
# the handshake lesson's capture reader, is wire_main.c over wire.c and the
# server library.
SERVER_MAINS = src/mtserver.c src/stserver.c src/ptserver.c src/fkserver.c \
	       src/epserver.c src/rpserver.c src/urserver.c src/mtclient.c
LIB_SRCS     = $(filter-out $(SERVER_MAINS),$(wildcard src/*.c))
FLOOD_SRCS   = $(filter-out bench/src/flood.c,$(wildcard bench/src/*.c))
WIRE_SRCS    = lessons/wire/wire.c
HARNESS_SRCS = $(wildcard tests/harness*.c)
TEST_SRCS    = $(wildcard tests/test_*.c)

LIB_OBJS     = $(LIB_SRCS:%.c=$(BUILD)/%.o)
FLOOD_OBJS   = $(FLOOD_SRCS:%.c=$(BUILD)/%.o)
WIRE_OBJS    = $(WIRE_SRCS:%.c=$(BUILD)/%.o)
HARNESS_OBJS = $(HARNESS_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS    = $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
PROGRAMS     = $(OUT)/mtserver $(OUT)/stserver $(OUT)/ptserver \
	       $(OUT)/fkserver $(OUT)/epserver $(OUT)/rpserver $(OUT)/urserver \
	       $(OUT)/mtclient \
	       $(FLOOD) $(WIRE)

# Tests that replace a libc call to reach an error path nothing else can
# cause: WRAP_<test> = -Wl,--wrap=symbol.
WRAP_test_tcp_fault = -Wl,--wrap=pthread_create,--wrap=pthread_join \
		      -Wl,--wrap=server_main
WRAP_test_ops_clock = -Wl,--wrap=pthread_cond_init \
		      -Wl,--wrap=pthread_cond_timedwait
WRAP_test_log = -Wl,--wrap=write
WRAP_test_hostile_outbox = -Wl,--wrap=malloc

.PHONY: fuzz fuzz-build all test check run-tests bench compare lesson-udp lesson-handshake lesson-chat \
	lesson-models run \
	install uninstall clean check-cmocka check-peers check-zlib check-hiredis check-liburing lint format test-repeat test-stress
all: $(PROGRAMS)

# Keep objects make would call intermediate (test objects, harness).
.SECONDARY:

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(COMPILE) $(INCLUDES_$(<D)) $(CFLAGS_$(<D)) -c -o $@ $<

$(BUILD)/libmt.a: $(LIB_OBJS)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^
$(BUILD)/libflood.a: $(FLOOD_OBJS)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

$(OUT)/%: $(BUILD)/src/%.o $(BUILD)/libmt.a
	@mkdir -p $(@D)
	$(call say,LD,$@)$(LINK) -o $@ $^ $(MT_LDLIBS) $(LDLIBS)
$(FLOOD): $(BUILD)/bench/src/flood.o $(BUILD)/libflood.a $(BUILD)/libmt.a
	@mkdir -p $(@D)
	$(call say,LD,$@)$(LINK) -o $@ $^ $(MT_LDLIBS) $(LDLIBS) $(FLOOD_LDLIBS)
$(WIRE): $(BUILD)/lessons/wire/wire_main.o $(WIRE_OBJS) $(BUILD)/libmt.a
	@mkdir -p $(@D)
	$(call say,LD,$@)$(LINK) -o $@ $^ $(MT_LDLIBS) $(LDLIBS)

# urserver's ring is liburing's (liburing-dev): checked, and installed
# when root, before the one file that includes it; only urserver links it.
$(OUT)/urserver: $(BUILD)/src/urserver.o $(BUILD)/libmt.a
	@mkdir -p $(@D)
	$(call say,LD,$@)$(LINK) -o $@ $^ $(MT_LDLIBS) $(LDLIBS) -luring
$(BUILD)/src/uring.o: | check-liburing
check-liburing:
	@sh dist/need-dev.sh liburing

# flood's HdrHistogram logs are deflated with zlib (zlib1g-dev): checked,
# and installed when root, before the one file that includes it.
FLOOD_LDLIBS = -lz
$(BUILD)/bench/src/hdrlog.o: | check-zlib
check-zlib:
	@sh dist/need-dev.sh zlib
$(BUILD)/src/broker.o $(BUILD)/tests/test_broker.o: | check-hiredis
check-hiredis:
	@sh dist/need-dev.sh hiredis

# The load generator's suites also link its library: LIBS_<test>; the
# capture reader's, its parser.
FLOOD_TESTS = test_hist test_fmsg test_fcli test_flood test_chat test_hdrlog \
	test_fleet
$(foreach t,$(FLOOD_TESTS),$(eval LIBS_$(t) = $(BUILD)/libflood.a))
LIBS_test_wire = $(WIRE_OBJS)

# test_log_tty tells a terminal's write-at-once from the flush timer by
# linking its own log.c, whose timer is a minute long.
$(BUILD)/tests/log_minute_flush.o: src/log.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(COMPILE) -DLOG_FLUSH_MS=60000 \
	    -c -o $@ $<
LIBS_test_log_tty = $(BUILD)/tests/log_minute_flush.o

# test_tcp_fault runs mtserver's own concurrency model in-process: it
# links mtserver.c with its main renamed, and takes the model that main
# hands to server_main.
$(BUILD)/tests/mtserver_model.o: src/mtserver.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(COMPILE) -Dmain=mtserver_main \
	    -Wno-missing-prototypes -c -o $@ $<
LIBS_test_tcp_fault = $(BUILD)/tests/mtserver_model.o

# cmocka is only needed for the tests; ask pkg-config at use time so that
# check-cmocka can install it first.
CFLAGS_tests = $(shell pkg-config --cflags cmocka 2>/dev/null)
.SECONDEXPANSION:
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(HARNESS_OBJS) $$(LIBS_$$*) $(BUILD)/libmt.a
	$(call say,LD,$@)$(LINK) $(WRAP_$*) -o $@ $^ \
	    $$(pkg-config --libs cmocka) $(MT_LDLIBS) $(LDLIBS) \
	    $(if $(filter $*,$(FLOOD_TESTS)),$(FLOOD_LDLIBS))

check-cmocka:
	@sh dist/need-dev.sh cmocka

# Real programs the suites start as peers, as CMD=DEBIAN-PACKAGE (CMD may
# be a data file's absolute path: the Unicode data files): `make
# test` installs the missing ones (root) or prints the command; suites
# skip, naming the package, when a peer is still missing (h_which).
TEST_PEERS = logger=bsdutils haproxy=haproxy python3=python3 rsyslogd=rsyslog jq=jq \
	     systemd-socket-activate=systemd prometheus=prometheus \
	     promtool=prometheus ss=iproute2 ip=iproute2 \
	     /usr/share/unicode/DerivedCoreProperties.txt=unicode-data \
	     redis-server=redis-server
# The tools the shell suites and test_ops run, installed before any suite
# starts (a package build's run-tests installs nothing).  systemd-analyze
# verify wants what the unit runs: /bin/kill (ExecReload) and man.
TEST_PEERS += logrotate=logrotate mandoc=mandoc man=man-db ip=iproute2 \
	      systemd-analyze=systemd /bin/kill=procps \
	      dpkg-parsechangelog=dpkg-dev
check-peers:
	@sh tests/need-peers.sh $(TEST_PEERS)

# Each suite runs under timeout(1) and with the programs' location in the
# environment; all suites run even when one fails, and the exit status
# says whether any did.  MT_ONLY=PATTERN (cmocka wildcards) runs only the
# matching tests of each cmocka suite.
TEST_TIMEOUT ?= 600
# Shell suites (tests/test_*.sh, on tests/lib.sh) check what is not C:
# the manual pages, installation, the service files, the package.
TEST_SCRIPTS = $(wildcard tests/test_*.sh)
run-tests: $(PROGRAMS) $(TEST_BINS)
	@failed=; for t in $(TEST_BINS) $(TEST_SCRIPTS); do \
	    echo "== $$t"; \
	    MT_BIN_DIR=$(OUT) MT_FLOOD=$(FLOOD) MT_WIRE=$(WIRE) MT_SEED_DIR=$(CURDIR)/../shared/seed \
	    MT_BUILD_DIR=$(BUILD) MT_VARIANT=$(VARIANT) \
	    timeout -k 5 $(TEST_TIMEOUT) $$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi; \
	echo "all $(words $(TEST_BINS) $(TEST_SCRIPTS)) suites passed$(if $(VARIANT), ($(VARIANT)))"
test: check-cmocka check-peers
	@$(MAKE) --no-print-directory run-tests
check: test

# The server keeps this terminal; talk to it from another (README).
run: all
	$(OUT)/mtserver 8888

# The benchmark writes bench/results/, the lessons lessons/results/
# (untracked); PUBLISH=1 copies a good full run to bench/published/ or
# lessons/published/, which the READMEs quote.
bench: all bench/peers/tpc_echo
	bash bench/run.sh
compare: all
	bash lessons/compare.sh
lesson-udp: all
	bash lessons/lesson-udp.sh
lesson-handshake: all
	bash lessons/lesson-handshake.sh
lesson-chat: all lessons/peers/naive_chat
	bash lessons/lesson-chat.sh
# Every concurrency model built here, side by side (lessons/README.md).
lesson-models: all
	bash lessons/lesson-models.sh

# The ping-pong peer: the minimal thread-per-connection echo loop.
bench/peers/tpc_echo: bench/peers/tpc_echo.c
	$(call say,CC,$@)$(CC) -D_POSIX_C_SOURCE=200809L $(CPPFLAGS) \
	    $(MT_CFLAGS) $(CFLAGS) $(MT_LDFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# The classroom's obvious chat server (lessons/lesson-chat.sh).
lessons/peers/naive_chat: lessons/peers/naive_chat.c
	$(call say,CC,$@)$(CC) -D_POSIX_C_SOURCE=200809L $(CPPFLAGS) \
	    $(MT_CFLAGS) $(CFLAGS) $(MT_LDFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# Timing tests must hold on a loaded machine: make test N times in a row,
# stopping at the first failure (test-stress: with both CPUs kept busy).
test-repeat: check-cmocka
	@bash bench/test-repeat.sh $(or $(N),20)
test-stress: check-cmocka
	@bash bench/test-repeat.sh --stress $(or $(N),5)

# install puts the programs of the variant built (VARIANT=), flood as
# mtflood, the manual pages, the systemd units (the service's ExecStart
# pointing at BINDIR's mtserver, its EnvironmentFile at SYSCONFDIR's
# default/mtserver; the socket unit for socket activation), the service's
# options file (default/mtserver: not replaced when it is there already,
# an operator's edits are kept), the logrotate configuration (in
# LOGROTATEDIR, /etc/logrotate.d, where logrotate reads it) and the
# documents; uninstall removes exactly those files (the options file only
# when unchanged), and the one directory that is only ours.
MANPAGES = man/mtserver.1 man/stserver.1 man/ptserver.1 man/fkserver.1 \
	   man/epserver.1 man/mtclient.1 man/mtflood.1
INSTALLED_BINS = mtserver stserver ptserver fkserver epserver rpserver \
		 urserver mtclient mtflood
DOCS = README.md LICENSE
DEFAULT_FILE = $(DESTDIR)$(SYSCONFDIR)/default/mtserver
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(LOGROTATEDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(DOCDIR)
	install -m 755 $(OUT)/mtserver $(OUT)/stserver $(OUT)/ptserver \
	    $(OUT)/fkserver $(OUT)/epserver $(OUT)/rpserver $(OUT)/urserver \
	    $(OUT)/mtclient \
	    $(DESTDIR)$(BINDIR)/
	install -m 755 $(FLOOD) $(DESTDIR)$(BINDIR)/mtflood
	install -m 644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	ln -sf epserver.1 $(DESTDIR)$(MANDIR)/man1/rpserver.1
	ln -sf epserver.1 $(DESTDIR)$(MANDIR)/man1/urserver.1
	sed -e 's|/usr/bin/mtserver|$(BINDIR)/mtserver|g' \
	    -e 's|/etc/default/mtserver|$(SYSCONFDIR)/default/mtserver|g' \
	    dist/mtserver.service >$(DESTDIR)$(UNITDIR)/mtserver.service
	chmod 644 $(DESTDIR)$(UNITDIR)/mtserver.service
	install -m 644 dist/mtserver.socket $(DESTDIR)$(UNITDIR)/
	@if [ -e $(DEFAULT_FILE) ]; then \
	    echo "$(DEFAULT_FILE) is there already: kept as it is"; \
	else \
	    echo "install -m 644 dist/mtserver.default $(DEFAULT_FILE)"; \
	    install -m 644 dist/mtserver.default $(DEFAULT_FILE); \
	fi
	install -m 644 dist/mtserver.logrotate \
	    $(DESTDIR)$(LOGROTATEDIR)/mtserver
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(INSTALLED_BINS:%=$(DESTDIR)$(BINDIR)/%) \
	    $(MANPAGES:man/%=$(DESTDIR)$(MANDIR)/man1/%) \
	    $(DESTDIR)$(MANDIR)/man1/rpserver.1 \
	    $(DESTDIR)$(MANDIR)/man1/urserver.1 \
	    $(DESTDIR)$(UNITDIR)/mtserver.service \
	    $(DESTDIR)$(UNITDIR)/mtserver.socket \
	    $(DESTDIR)$(LOGROTATEDIR)/mtserver \
	    $(DOCS:%=$(DESTDIR)$(DOCDIR)/%)
	@if cmp -s dist/mtserver.default $(DEFAULT_FILE); then \
	    rm -f $(DEFAULT_FILE); \
	elif [ -e $(DEFAULT_FILE) ]; then \
	    echo "$(DEFAULT_FILE) was edited: kept"; \
	fi
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

# libFuzzer targets (fuzz/fuzz_*.c, README "Fuzzing"): every parser, built
# with clang against the project's own sources, each run for FUZZ_S
# seconds from its seed corpus fuzz/corpus/NAME (new inputs go to
# build/fuzz/corpus/NAME, so the tree stays clean).  A crash stops the
# run and leaves its input as build/fuzz/crash-*.
FUZZ_CC	     ?= clang
FUZZ_S	     ?= 60
FUZZ_SAN      = -fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=undefined
FUZZ_CFLAGS   = -std=c11 -g -O1 -pthread -Wall -Wextra -Werror \
		-D_POSIX_C_SOURCE=200809L -Iinclude -Ibench/src -Ilessons/wire -Ifuzz -Itests
FUZZ_NAMES    = $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS     = $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
# The fuzzers link every object but urserver's ring, the one needing
# liburing (they parse; they run no ring).
FUZZ_OBJS     = $(patsubst %.c,build/fuzz/obj/%.o,$(filter-out src/uring.c,$(LIB_SRCS)) \
		$(FLOOD_SRCS) $(WIRE_SRCS))

# clang and its libFuzzer runtime: installed as root, else named.
.PHONY: check-fuzz
check-fuzz:
	@FUZZ_CC=$(FUZZ_CC) sh tests/need-tools.sh "make fuzz" $(FUZZ_CC)=clang libfuzzer=auto

build/fuzz/obj/%.o: %.c | check-fuzz check-zlib check-hiredis
	@mkdir -p $(@D)
	$(call say,FUZZCC,$<)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -c -o $@ $<
build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h tests/escape_ref.h $(FUZZ_OBJS) | check-fuzz
	$(call say,FUZZLD,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJS) \
	    $(MT_LDLIBS) $(FLOOD_LDLIBS)

fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	@for t in $(FUZZ_NAMES); do \
	    echo "== fuzz_$$t for $(FUZZ_S) s"; \
	    mkdir -p build/fuzz/corpus/$$t; \
	    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_S) -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=build/fuzz/ \
		build/fuzz/corpus/$$t fuzz/corpus/$$t \
		>build/fuzz/$$t.out 2>&1; rc=$$?; \
	    grep -E 'DONE|oracle|ERROR|SUMMARY|artifact|number_of_executed' \
		build/fuzz/$$t.out; \
	    [ $$rc -eq 0 ] || { echo "fuzz_$$t FAILED (build/fuzz/$$t.out)"; exit 1; }; \
	done; echo "fuzz: $(words $(FUZZ_NAMES)) targets clean for $(FUZZ_S) s each"

# Static checks, all required to be clean (CI runs this): cppcheck,
# clang-tidy (.clang-tidy says which checks and why), clang-format, and a
# compile of every file with glibc's fortified headers as distributions
# build (Debian's hardening flags): there a dropped write()/read() result
# or a truncating snprintf() is an error, and the package would not build.
LINT_SRCS = $(wildcard src/*.c bench/src/*.c lessons/wire/*.c tests/*.c)
FORTIFY_FLAGS = -O2 -D_FORTIFY_SOURCE=2 -Wformat -Werror=format-security
FORMAT_SRCS = $(wildcard include/*.h src/*.c bench/src/*.c bench/src/*.h lessons/wire/*.c \
	      lessons/wire/*.h tests/*.c tests/*.h)
# The linters, and what the sources include (cmocka, zlib, hiredis): installed as
# root, else named.  clang-tidy's "N warnings generated" chatter on stderr
# is dropped; anything else there is shown when it fails.
LINT_TOOLS = cppcheck=cppcheck clang-tidy=clang-tidy clang-format=clang-format
.PHONY: check-lint
check-lint:
	@sh tests/need-tools.sh "make lint" $(LINT_TOOLS)
lint: check-lint check-cmocka check-zlib check-hiredis check-liburing
	$(call say,LINT,cppcheck)cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr --std=c11 $(LINT_INCLUDES) -D_POSIX_C_SOURCE=200809L \
	    src bench lessons tests
	@mkdir -p $(BUILD)
	$(call say,LINT,clang-tidy)clang-tidy --quiet --warnings-as-errors='*' $(LINT_SRCS) -- -std=c11 \
	    $(LINT_INCLUDES) -D_POSIX_C_SOURCE=200809L $(CFLAGS_tests) 2>$(BUILD)/clang-tidy.err || \
	    { grep -v 'warnings\? generated\.$$' $(BUILD)/clang-tidy.err >&2; exit 1; }
	$(call say,LINT,clang-format)clang-format --dry-run --Werror $(FORMAT_SRCS)
	$(call say,LINT,fortify)printf '%s\n' $(LINT_SRCS) | xargs -P 2 -I{} \
	    $(CC) $(LINT_INCLUDES) -D_POSIX_C_SOURCE=200809L $(MT_CFLAGS) \
	    $(FORTIFY_FLAGS) $(CFLAGS_tests) -c -o /dev/null {}
	@echo "lint: clean"
format:
	clang-format -i $(FORMAT_SRCS)

clean:
	rm -rf build mtserver stserver ptserver fkserver epserver rpserver urserver mtclient bench/flood lessons/wire/wire \
	    bench/peers/tpc_echo lessons/peers/naive_chat

-include $(shell find build -name '*.d' 2>/dev/null)
