/*
 * Names of migrate types, as the monitor and the /proc-style dumps print
 * them. Freestanding: the guest links it with the buddy core.
 */
#include "frame.h"

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
