/*
 * mmap failures on demand, for the failure paths of the guest views: the
 * vmm suite is linked with --wrap=mmap, so every mmap libvmm and libmm make
 * goes through __wrap_mmap (glibc's own calls do not). Armed, the next call
 * whose flags include all of `flags`, after `skip` such calls, fails with
 * `err`; once. With `hole`, a failing MAP_FIXED first unmaps its range, as
 * kernels before 6.12 do, so a caller that does not put the range back
 * leaves a hole in its view.
 */
#ifndef TESTS_VMM_MMAP_INJECT_H
#define TESTS_VMM_MMAP_INJECT_H

void mmap_inject_arm(int flags, unsigned skip, int err);
void mmap_inject_arm_hole(int flags, unsigned skip, int err);
void mmap_inject_disarm(void);
/* How many calls the injection failed so far. */
unsigned mmap_inject_fired(void);

#endif
