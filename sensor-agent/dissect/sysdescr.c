#include "sensor-agent/dissect/sysdescr.h"

#include <ctype.h>
#include <string.h>

struct tok {
	const uint8_t *p;
	size_t n;
};

static bool starts(const struct tok *t, const char *pfx)
{
	size_t k = strlen(pfx);
	return t->n >= k && memcmp(t->p, pfx, k) == 0;
}

static void skip(struct tok *t, size_t k)
{
	t->p += k;
	t->n -= k;
	while (t->n && *t->p == ' ') {
		t->p++;
		t->n--;
	}
}

/* "HW: Version 5", "FW: V.4.2.1", "SW.V 13.0.1" -> "5", "V4.2.1", "V13.0.1" */
static struct tok version_of(struct tok t, size_t label)
{
	skip(&t, label);
	if (starts(&t, "Version"))
		skip(&t, 7);
	if (starts(&t, "V."))
		skip(&t, 2);
	return t;
}

/* A Siemens order number (MLFB): "6ES7 214-1AG40-0XB0", "6AV2 123-2GB03-0AX0", "6GK5 ...". */
static bool is_mlfb(const struct tok *t)
{
	return t->n >= 10 && t->p[0] == '6' && isupper(t->p[1]) && isupper(t->p[2]) && isdigit(t->p[3]);
}

static void siemens(struct proto_ctx *ctx, uint8_t target, struct tok *tk, size_t nt)
{
	static const char vendor[] = "Siemens AG";

	proto_attr_text(ctx, target, PROTO_ATTR_VENDOR, vendor, sizeof(vendor) - 1);
	if (nt >= 3 && !starts(&tk[2], "Ethernet Port"))
		proto_attr_text(ctx, target, PROTO_ATTR_MODEL, tk[2].p, tk[2].n);
	for (size_t i = 3; i < nt; i++) {
		struct tok v;
		if (is_mlfb(&tk[i])) {
			proto_attr_text(ctx, target, PROTO_ATTR_ORDER_NUMBER, tk[i].p, tk[i].n);
		} else if (starts(&tk[i], "HW:")) {
			v = version_of(tk[i], 3);
			if (v.n)
				proto_attr_text(ctx, target, PROTO_ATTR_HARDWARE, v.p, v.n);
		} else if (starts(&tk[i], "FW:") || starts(&tk[i], "SW.V")) {
			char buf[48];
			v = version_of(tk[i], starts(&tk[i], "FW:") ? 3 : 4);
			if (!v.n || v.n + 1 >= sizeof(buf))
				continue;
			/* firmware as S7 reports it in its SZL: "V4.2.1" */
			if (v.p[0] == 'V') {
				proto_attr_text(ctx, target, PROTO_ATTR_FIRMWARE, v.p, v.n);
			} else {
				buf[0] = 'V';
				memcpy(buf + 1, v.p, v.n);
				proto_attr_text(ctx, target, PROTO_ATTR_FIRMWARE, buf, v.n + 1);
			}
		} else if (starts(&tk[i], "S ") && tk[i].n > 3) {
			proto_attr_text(ctx, target, PROTO_ATTR_SERIAL, tk[i].p, tk[i].n);
		}
	}
}

void sysdescr_facts(struct proto_ctx *ctx, uint8_t target, const uint8_t *s, size_t n)
{
	struct tok tk[12];
	size_t nt = 0, i = 0;

	/* Split at ", " into at most 12 tokens. */
	while (i < n && nt < sizeof(tk) / sizeof(tk[0])) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		tk[nt].p = s + i;
		tk[nt].n = j - i;
		while (tk[nt].n && tk[nt].p[0] == ' ') {
			tk[nt].p++;
			tk[nt].n--;
		}
		while (tk[nt].n && tk[nt].p[tk[nt].n - 1] == ' ')
			tk[nt].n--;
		nt++;
		i = j + 1;
	}
	if (nt >= 2 && tk[0].n == 7 && memcmp(tk[0].p, "Siemens", 7) == 0) {
		siemens(ctx, target, tk, nt);
		return;
	}
	if (nt && starts(&tk[0], "Cisco IOS")) {
		static const char vendor[] = "Cisco";
		proto_attr_text(ctx, target, PROTO_ATTR_VENDOR, vendor, sizeof(vendor) - 1);
		for (size_t k = 1; k < nt; k++) {
			if (starts(&tk[k], "Version ") && tk[k].n > 8) {
				proto_attr_text(ctx, target, PROTO_ATTR_FIRMWARE, tk[k].p + 8, tk[k].n - 8);
				break;
			}
		}
		return;
	}
	if (nt == 1 && starts(&tk[0], "Hirschmann ")) {
		/* "Hirschmann <family> <model> <firmware>": the last word is the firmware, the one before the model */
		const uint8_t *a = tk[0].p, *e = tk[0].p + tk[0].n, *sp1 = NULL, *sp2 = NULL;
		static const char vendor[] = "Hirschmann";
		for (const uint8_t *q = a; q < e; q++)
			if (*q == ' ') {
				sp2 = sp1;
				sp1 = q;
			}
		proto_attr_text(ctx, target, PROTO_ATTR_VENDOR, vendor, sizeof(vendor) - 1);
		if (sp1 && sp2 && sp2 > a + 10) {
			proto_attr_text(ctx, target, PROTO_ATTR_FIRMWARE, sp1 + 1, (size_t)(e - sp1 - 1));
			proto_attr_text(ctx, target, PROTO_ATTR_MODEL, sp2 + 1, (size_t)(sp1 - sp2 - 1));
		}
	}
}
