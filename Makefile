# tradeops - build, run and test.
#
#   make run            install what is missing, start private services, open the console
#   make test           the same set-up, then every test; ends with "N passed, N failed"
#   make test SAN=1     the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench          figures with side-by-side references
#   make services-down  stop the private PostgreSQL, Redis and simulator
#
# Everything private lives under data/run/ (git-ignored).

CC      ?= cc
SAN     ?= 0
PKGS    := ncursesw libpq hiredis libcurl libcjson libmicrohttpd inih libcrypto
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# BUILD may be set (make BUILD=build/mine test) to keep a second tree of
# objects and binaries apart, e.g. for two people building at once.
ifeq ($(SAN),1)
BUILD   ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1
else
BUILD   ?= build/rel
SANFLAGS :=
OPT     := -O2
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -D_GNU_SOURCE -DTRADEOPS_VERSION='"$(VERSION)"' -Isrc -Iui -Iscreens -Itests
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 $(WARN) $(SANFLAGS) $(PKG_CFLAGS) -MMD -MP
LDFLAGS += $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread -lm

CORE_SRC   := $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard ui/*.c) $(wildcard screens/*.c)
SIM_SRC    := $(wildcard src/sim/*.c)
TEST_SRC   := $(wildcard tests/test_*.c) $(wildcard tests/harness/*.c)
BENCH_SRC  := $(wildcard tests/bench/*.c)

MIGRATIONS := $(sort $(wildcard data/migrations/*.sql))
CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations.o
SIM_OBJ    := $(SIM_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ   := $(TEST_SRC:%.c=$(BUILD)/%.o)
BENCH_OBJ  := $(BENCH_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ   := $(BUILD)/src/main.o
# The simulator shares the pure helpers (sanitiser, clock) but none of the engine.
SIM_SHARED := $(BUILD)/src/sanitize.o

ifneq ($(filter-out build/rel,$(BUILD)),)
BIN_TRADEOPS := $(BUILD)/tradeops
BIN_SIM      := $(BUILD)/tradeops-sim
else
BIN_TRADEOPS := tradeops
BIN_SIM      := tradeops-sim
endif
BIN_TESTS := $(BUILD)/tradeops-tests
BIN_BENCH := $(BUILD)/tradeops-bench

.PHONY: all deps build run test bench services-up services-down clean format fuzz
all: build

build: $(BIN_TRADEOPS) $(BIN_SIM)

deps:
	@data/dev/deps.sh

$(BIN_TRADEOPS): $(MAIN_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN_SIM): $(SIM_OBJ) $(SIM_SHARED)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN_TESTS): $(TEST_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

$(BIN_BENCH): $(BENCH_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/gen/migrations.c: $(MIGRATIONS) data/dev/embed-migrations.sh
	@mkdir -p $(dir $@)
	data/dev/embed-migrations.sh $@ $(MIGRATIONS)

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@printf '  CC  %s\n' $<
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

run: deps build
	@data/dev/services.sh up data/run
	@data/dev/services.sh demo data/run ./$(BIN_TRADEOPS)
	./$(BIN_TRADEOPS) --config data/run/config.ini

services-up: deps build
	@data/dev/services.sh up data/run

services-down:
	@data/dev/services.sh down data/run

test: deps build $(BIN_TESTS)
	@BUILD=$(BUILD) BIN_TRADEOPS=$(BIN_TRADEOPS) BIN_SIM=$(BIN_SIM) BIN_TESTS=$(BIN_TESTS) tests/run.sh

bench: deps build $(BIN_BENCH)
	@BUILD=$(BUILD) BIN_TRADEOPS=$(BIN_TRADEOPS) BIN_SIM=$(BIN_SIM) BIN_BENCH=$(BIN_BENCH) tests/bench/run.sh

format:
	clang-format -i $(wildcard src/*.[ch] src/sim/*.[ch] ui/*.[ch] screens/*.[ch] tests/*.[ch] tests/*/*.[ch])

clean:
	rm -rf build tradeops tradeops-sim

-include $(CORE_OBJ:.o=.d) $(SIM_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(BENCH_OBJ:.o=.d)
