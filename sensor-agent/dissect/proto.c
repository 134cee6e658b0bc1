/* The out-of-line parts of the dissector interface (proto.h). */
#include "sensor-agent/dissect/proto.h"

#include <string.h>

void proto_attr_text_at(struct proto_ctx *ctx, const struct proto_target *t, enum proto_attr attr, const void *s,
			size_t len)
{
	struct proto_obs o = { .kind = PROTO_OBS_ATTR, .target = *t, .attr = (uint16_t)attr, .text = s,
			       .text_len = len };
	proto_emit(ctx, &o);
}

static void named(struct proto_ctx *ctx, uint8_t kind, const char *name, const char *detail)
{
	struct proto_obs o = { .kind = kind, .name = name, .text = (const uint8_t *)detail,
			       .text_len = detail ? strlen(detail) : 0 };
	proto_emit(ctx, &o);
}

void proto_event(struct proto_ctx *ctx, const char *name, const char *detail)
{
	named(ctx, PROTO_OBS_EVENT, name, detail);
}

void proto_violation(struct proto_ctx *ctx, const char *name, const char *detail)
{
	named(ctx, PROTO_OBS_VIOLATION, name, detail);
}

bool proto_dst_is_group(const struct dissect_frame *f)
{
	if (f->ip_version == 4 && (memcmp(f->dst_ip, "\xff\xff\xff\xff", 4) == 0 || (f->dst_ip[0] & 0xf0) == 0xe0))
		return true;
	if (f->ip_version == 6 && f->dst_ip[0] == 0xff)
		return true;
	return (f->has_dst_mac && (f->dst_mac[0] & 1)) || f->link_multicast;
}
