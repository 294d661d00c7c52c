/*
 * Reading values out of a domain XML with XPath, through the libxml2 that
 * libvirt itself links (so it is mapped already once libvirt is, and never
 * otherwise): the functions are resolved with dlsym through libvirt's handle
 * and typed from libxml2's headers. Runs in the child process of domain.c.
 */
#ifndef VMM_DOMAIN_XML_H
#define VMM_DOMAIN_XML_H

#include <stddef.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

struct domain_xml_lib {
	typeof(xmlReadMemory) *read_memory;
	typeof(xmlFreeDoc) *free_doc;
	typeof(xmlXPathNewContext) *new_context;
	typeof(xmlXPathFreeContext) *free_context;
	typeof(xmlXPathEvalExpression) *eval;
	typeof(xmlXPathFreeObject) *free_object;
};

struct domain_xml {
	const struct domain_xml_lib *lib;
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
};

/* Resolves the functions through handle (libvirt's); 0 or -ENOENT, err set. */
int domain_xml_bind(struct domain_xml_lib *lib, void *handle, char *err, size_t errlen);

/* Parses text; 0 or -EINVAL (not well-formed). Free with domain_xml_free. */
int domain_xml_parse(struct domain_xml *x, const struct domain_xml_lib *lib, const char *text);
void domain_xml_free(struct domain_xml *x);

/*
 * The XPath string value of the expression fmt..., "" when it selects
 * nothing. 0, or -ENAMETOOLONG when it does not fit in len bytes (buf then
 * holds a truncated copy), or -EINVAL when the expression fails.
 */
__attribute__((format(printf, 4, 5)))
int domain_xml_string(struct domain_xml *x, char *buf, size_t len, const char *fmt, ...);

/* How many nodes the expression fmt... selects (0 when it fails). */
__attribute__((format(printf, 2, 3)))
unsigned long domain_xml_count(struct domain_xml *x, const char *fmt, ...);

#endif
