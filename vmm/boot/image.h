/*
 * An input file (kernel image, initrd) read by offset, every read checked
 * against the file's size: the loaders treat each offset and size they find
 * in a header as hostile and ask for exactly the bytes they need. Also backs
 * onto a memory buffer, so tests can hand the loaders synthetic images.
 */
#ifndef VMM_IMAGE_H
#define VMM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct image {
	const char *name;        /* for messages */
	int fd;                  /* -1 for a memory image */
	const uint8_t *mem;
	uint64_t size;
};

/* Opens a regular, readable, non-empty file. 0 or -errno (-ENODATA: empty,
 * -EINVAL: not a regular file). */
int image_open(struct image *img, const char *path);
void image_open_mem(struct image *img, const char *name, const void *buf, size_t len);
void image_close(struct image *img);

/* Reads [off, off + len) exactly. -ERANGE if that is not inside the file,
 * -EIO if the file shrank under us. */
int image_read(const struct image *img, uint64_t off, void *dst, uint64_t len);

/* Whether [off, off + len) lies inside the image (overflow-safe). */
static inline int image_contains(const struct image *img, uint64_t off, uint64_t len)
{
	return off <= img->size && len <= img->size - off;
}

#endif
