/*
 * Input files read with pread, straight into their destination (guest RAM
 * for segments), so an image is never copied twice and a file that shrinks
 * while it is read gives an error rather than a SIGBUS from a mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vmm/boot/image.h"

int image_open(struct image *img, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 0) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if (st.st_size == 0) {
		close(fd);
		return -ENODATA;
	}
	*img = (struct image){ .name = path, .fd = fd, .size = (uint64_t)st.st_size };
	return 0;
}

void image_open_mem(struct image *img, const char *name, const void *buf, size_t len)
{
	*img = (struct image){ .name = name, .fd = -1, .mem = buf, .size = len };
}

void image_close(struct image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
}

int image_read(const struct image *img, uint64_t off, void *dst, uint64_t len)
{
	if (!image_contains(img, off, len))
		return -ERANGE;
	if (img->fd < 0) {
		memcpy(dst, img->mem + off, len);
		return 0;
	}
	uint8_t *p = dst;
	while (len) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = pread(img->fd, p, chunk, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}
