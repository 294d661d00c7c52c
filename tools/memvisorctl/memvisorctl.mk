# memvisorctl, the monitor's command-line client, included by the top
# Makefile. The QMP client (qmp_client.c, qmp_wire.c) is a library of its
# own, build/libqmpclient.a, because the monitor test suite runs the same
# client against memvisor and QEMU. JSON is jansson (Debian libjansson-dev).
#   build/memvisorctl SOCKET COMMAND

MEMVISORCTL    := $(BUILD)/memvisorctl
LIBQMPCLIENT   := $(BUILD)/libqmpclient.a
QMPCLIENT_SRC  := tools/memvisorctl/qmp_client.c tools/memvisorctl/qmp_wire.c
MEMVISORCTL_SRC := $(filter-out $(QMPCLIENT_SRC),$(wildcard tools/memvisorctl/*.c))

$(LIBQMPCLIENT): $(QMPCLIENT_SRC:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(MEMVISORCTL): $(MEMVISORCTL_SRC:%.c=$(BUILD)/%.o) $(LIBQMPCLIENT)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ -ljansson

# The suite rules were made before this file was read: the library joins
# the monitor suite's prerequisites (the rule links them all) here.
SUITE_LIBS_monitor += $(LIBQMPCLIENT)
$(BUILD)/tests/monitor.test: $(LIBQMPCLIENT)
$(BUILD)/tests/monitor.test: LDLIBS += -ljansson

# The SVG writer needs only jansson: the monitor suite links it and checks
# the picture of an in-process reply.
SUITE_LIBS_monitor += $(BUILD)/tools/memvisorctl/frames_svg.o
$(BUILD)/tests/monitor.test: $(BUILD)/tools/memvisorctl/frames_svg.o

all: $(MEMVISORCTL)
