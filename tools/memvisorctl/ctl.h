/*
 * memvisorctl's pieces and what they share: the session with the monitor,
 * the output options, and the few helpers every command uses to read the
 * monitor's JSON defensively (a field that is missing or of another type
 * prints as "-", it never crashes the client).
 */
#ifndef MEMVISORCTL_CTL_H
#define MEMVISORCTL_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "qmp_client.h"

/* Exit statuses: a failed command or connection, and a bad command line. */
#define CTL_EXIT_FAIL  1
#define CTL_EXIT_USAGE 2

struct ctl {
	struct qmp_client qmp;
	const char *socket;
	bool json;                      /* --json: the reply's "return" value */
	int timeout_ms;
	/* top's options */
	int refreshes;                  /* 0: until q or Ctrl-C */
	bool sort_slow;                 /* by slow-path events, else by active objects */
	/* compact's options */
	int compact_order;              /* -1: "full" */
	int64_t budget_ms;              /* -1: none given */
	/* frames' */
	const char *svg;
};

/* Prints "memvisorctl: what: <the client's reason>"; returns CTL_EXIT_FAIL. */
int ctl_fail(const struct ctl *ctl, const char *what);
/* Runs command and prints its "return" value as JSON (for --json). */
int ctl_print_return(struct ctl *ctl, const char *command, json_t *arguments);
/* Prints v as one line of compact JSON (any JSON value). */
void ctl_print_json(FILE *f, json_t *v);

/* commands.c: each returns the process's exit status. */
int ctl_info(struct ctl *ctl, const char *what);
int ctl_status(struct ctl *ctl);
int ctl_simple(struct ctl *ctl, const char *command);   /* stop, cont, quit */
int ctl_raw(struct ctl *ctl, const char *request);
/* What `info` shows, and the names it accepts, for the usage text. */
bool ctl_info_known(const char *what);
extern const char ctl_info_names[];

/* tables.c: the x-query-regions and x-query-frames returns as tables. */
void ctl_table_regions(FILE *f, json_t *ret);
void ctl_table_frames(FILE *f, json_t *ret);
/* "4 KiB", "2 MiB", "1.5 GiB": n bytes in the largest unit that fits. */
void ctl_format_size(char *buf, size_t len, uint64_t n);

/* balloon.c: `balloon SIZE`, and the x-query-balloon return for `info balloon`. */
int ctl_balloon(struct ctl *ctl, const char *size);
/* Bytes SIZE names (a plain number is MiB); false unless a positive size
 * that fits a QMP integer. */
bool ctl_parse_size(const char *s, uint64_t *out);
void ctl_table_balloon(FILE *f, json_t *ret);

/* compact.c: `compact`, and its options' values (false: not one). */
int ctl_compact(struct ctl *ctl);
bool ctl_parse_order(const char *s, int *order);
bool ctl_parse_budget_ms(const char *s, int64_t *ms);

/* frames.c: `frames --svg FILE` */
int ctl_frames(struct ctl *ctl);

/* top.c */
int ctl_top(struct ctl *ctl);

/* JSON fields: true when key holds a non-negative integer (or a boolean,
 * for ctl_json_bool). */
bool ctl_json_u64(json_t *obj, const char *key, uint64_t *out);
bool ctl_json_bool(json_t *obj, const char *key, bool *out);
/* key's string, or "-". */
const char *ctl_json_str(json_t *obj, const char *key);

#endif
