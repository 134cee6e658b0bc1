#include "common/hostport.h"

#include <errno.h>
#include <string.h>

int hostport_split(const char *text, char *host, size_t hostlen, int *port)
{
	const char *colon, *h = text, *hend;
	long p = 0;

	if (text[0] == '[') {
		hend = strchr(text, ']');
		if (!hend || hend[1] != ':')
			return -EINVAL;
		h = text + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || memchr(text, ':', (size_t)(colon - text)))
			return -EINVAL;
		hend = colon;
	}
	if (hend == h || (size_t)(hend - h) >= hostlen || !colon[1] || strlen(colon + 1) > 5)
		return -EINVAL;
	for (const char *d = colon + 1; *d; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		p = p * 10 + (*d - '0');
	}
	if (p < 1 || p > 65535)
		return -EINVAL;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*port = (int)p;
	return 0;
}
