/*
 * Names of frame states and migrate types, as the monitor and the /proc-style
 * dumps print them. Freestanding: the guest links it with the buddy core.
 */
#include "frame.h"

const char *frame_state_name(enum frame_state s)
{
	switch (s) {
	case FRAME_FREE:
		return "free";
	case FRAME_VMM:
		return "vmm";
	case FRAME_GUEST:
		return "guest";
	case FRAME_BALLOONED:
		return "ballooned";
	case FRAME_TAIL:
		return "tail";
	}
	return "invalid";
}

/* Linux's spelling, so tools that parse /proc/pagetypeinfo read ours. */
const char *migratetype_name(enum migratetype mt)
{
	switch (mt) {
	case MT_UNMOVABLE:
		return "Unmovable";
	case MT_MOVABLE:
		return "Movable";
	case MT_NR_TYPES:
		break;
	}
	return "invalid";
}
