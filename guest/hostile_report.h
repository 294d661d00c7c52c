/*
 * balloon_hostile's free page reporting cases (hostile_report.c).
 */
#ifndef GUEST_HOSTILE_REPORT_H
#define GUEST_HOSTILE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include "virtio_balloon.h"

/* Sends the cases (past_ram: a GPA past the end of RAM); false if the
 * device stopped answering or a normal report failed afterwards. */
bool hostile_report_cases(struct vballoon *vb, uint64_t past_ram);

#endif
