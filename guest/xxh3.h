/*
 * XXH3 (64-bit) for the guest: the xxHash library's own implementation,
 * from its header, compiled freestanding into xxh3.c.
 */
#ifndef GUEST_XXH3_H
#define GUEST_XXH3_H

#include <stddef.h>
#include <stdint.h>

uint64_t xxh3_64(const void *data, size_t len);

#endif
