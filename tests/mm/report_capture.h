/*
 * Captures what the slab reports (bad frees, red zones, poison) so tests can
 * assert that a report names the right cache and object.
 */
#ifndef TESTS_MM_REPORT_CAPTURE_H
#define TESTS_MM_REPORT_CAPTURE_H

#include <stdbool.h>

void report_capture_start(void);
void report_capture_stop(void);
const char *report_capture_text(void);
/* True if one report names cache, the object address (unless NULL) and
 * contains what. */
bool report_capture_has(const char *cache, const void *obj, const char *what);

#endif
