#include "tools/plantsim/plant.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/plantsim/prng.h"

/* OUIs verified against /usr/share/ieee-data/oui.csv (IEEE MA-L registry). */
struct vendor_oui {
	enum plant_vendor vendor;
	const char *name;
	uint8_t oui[2][3];
};

static const struct vendor_oui ouis[] = {
	{ VENDOR_SIEMENS, "Siemens", { { 0x00, 0x1b, 0x1b }, { 0x00, 0x0e, 0x8c } } },
	{ VENDOR_ROCKWELL, "Rockwell", { { 0x00, 0x00, 0xbc }, { 0x00, 0x1d, 0x9c } } },
	{ VENDOR_SCHNEIDER, "Schneider", { { 0x00, 0x80, 0xf4 }, { 0x00, 0x80, 0xf4 } } },
	{ VENDOR_ADVANTECH, "Advantech", { { 0x00, 0xd0, 0xc9 }, { 0x00, 0xd0, 0xc9 } } },
	{ VENDOR_DELL, "Dell", { { 0xb8, 0xca, 0x3a }, { 0x00, 0x14, 0x22 } } },
	{ VENDOR_HP, "HP", { { 0x3c, 0x52, 0x82 }, { 0x3c, 0x52, 0x82 } } },
	{ VENDOR_INTEL, "Intel", { { 0x00, 0x1b, 0x21 }, { 0x00, 0x1b, 0x21 } } },
	{ VENDOR_CISCO, "Cisco", { { 0x00, 0x1b, 0x54 }, { 0x00, 0x00, 0x0c } } },
	{ VENDOR_HIRSCHMANN, "Hirschmann", { { 0x00, 0x80, 0x63 }, { 0x00, 0x80, 0x63 } } },
};

/* Hosts beyond the fixed six, in this order, then the tail repeats. */
static const enum plant_role extra_roles[] = { ROLE_HISTORIAN, ROLE_PLC, ROLE_FILESERVER, ROLE_HMI, ROLE_LAPTOP };
static const enum plant_role repeat_roles[] = { ROLE_PLC, ROLE_LAPTOP, ROLE_PLC, ROLE_HMI };
static const enum plant_role core_roles[] = { ROLE_ROUTER, ROLE_DHCP_DNS, ROLE_HMI, ROLE_PLC, ROLE_EWS, ROLE_LAPTOP };

static const char *const offsite_names[] = { "update.vendor-cloud.com", "mail.corp-example.net",
	"portal.corp-example.net", "telemetry.vendor-cloud.com" };

const char *plant_role_name(enum plant_role role)
{
	switch (role) {
	case ROLE_ROUTER: return "gw";
	case ROLE_DHCP_DNS: return "srv-dns";
	case ROLE_HMI: return "hmi";
	case ROLE_PLC: return "plc";
	case ROLE_EWS: return "ews";
	case ROLE_LAPTOP: return "laptop";
	case ROLE_HISTORIAN: return "historian";
	case ROLE_FILESERVER: return "fs";
	}
	return "host";
}

const char *plant_vendor_name(enum plant_vendor vendor)
{
	for (size_t i = 0; i < sizeof(ouis) / sizeof(ouis[0]); i++)
		if (ouis[i].vendor == vendor)
			return ouis[i].name;
	return "unknown";
}

static enum plant_role role_at(unsigned i)
{
	size_t nc = sizeof(core_roles) / sizeof(core_roles[0]), ne = sizeof(extra_roles) / sizeof(extra_roles[0]);

	if (i < nc)
		return core_roles[i];
	if (i < nc + ne)
		return extra_roles[i - nc];
	return repeat_roles[(i - nc - ne) % (sizeof(repeat_roles) / sizeof(repeat_roles[0]))];
}

static enum plant_vendor vendor_for(enum plant_role role, unsigned nth, struct prng *r)
{
	static const enum plant_vendor plc_vendors[] = { VENDOR_SIEMENS, VENDOR_ROCKWELL, VENDOR_SCHNEIDER };

	switch (role) {
	case ROLE_ROUTER: return VENDOR_CISCO;
	case ROLE_PLC: return plc_vendors[nth % 3];
	case ROLE_HMI: return (nth & 1) ? VENDOR_ADVANTECH : VENDOR_SIEMENS;
	case ROLE_LAPTOP: return (prng_next(r) & 1) ? VENDOR_INTEL : VENDOR_DELL;
	case ROLE_HISTORIAN:
	case ROLE_FILESERVER: return VENDOR_HP;
	case ROLE_DHCP_DNS:
	case ROLE_EWS: return VENDOR_DELL;
	}
	return VENDOR_DELL;
}

static void make_mac(uint8_t mac[6], enum plant_vendor vendor, struct prng *r)
{
	const struct vendor_oui *v = &ouis[0];
	uint64_t x = prng_next(r);

	for (size_t i = 0; i < sizeof(ouis) / sizeof(ouis[0]); i++)
		if (ouis[i].vendor == vendor)
			v = &ouis[i];
	memcpy(mac, v->oui[x & 1], 3);
	mac[3] = (uint8_t)(x >> 8);
	mac[4] = (uint8_t)(x >> 16);
	mac[5] = (uint8_t)(x >> 24);
}

static bool mac_taken(const struct plant *p, unsigned upto, const uint8_t mac[6])
{
	for (unsigned i = 0; i < upto; i++)
		if (memcmp(p->hosts[i].mac, mac, 6) == 0)
			return true;
	return memcmp(p->switch_mac, mac, 6) == 0;
}

int plant_build(struct plant *p, uint64_t seed, unsigned n_hosts, unsigned site_octet)
{
	unsigned count[ROLE_FILESERVER + 1] = { 0 };
	struct prng r;

	if (n_hosts < PLANT_MIN_HOSTS || n_hosts > PLANT_MAX_HOSTS || site_octet < 1 || site_octet > 254 ||
	    site_octet == 200)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	prng_init(&r, seed, 0x706c616e74ULL);
	p->site_octet = (uint8_t)site_octet;
	p->n_hosts = n_hosts;
	make_mac(p->switch_mac, VENDOR_HIRSCHMANN, &r);

	for (unsigned i = 0; i < n_hosts; i++) {
		struct plant_host *h = &p->hosts[i];
		unsigned nth;

		h->role = role_at(i);
		nth = count[h->role]++;
		h->vendor = vendor_for(h->role, nth, &r);
		do
			make_mac(h->mac, h->vendor, &r);
		while (mac_taken(p, i, h->mac));
		/* .1 gateway, .2 DHCP/DNS, everyone else from .10 up; laptops draw from the DHCP pool. */
		if (h->role == ROLE_ROUTER)
			h->ip = 1;
		else if (h->role == ROLE_DHCP_DNS)
			h->ip = 2;
		else
			h->ip = 8 + i;
		h->ip |= (10u << 24) | ((uint32_t)site_octet << 16) | (1u << 8);
		switch (h->role) {
		case ROLE_HMI:
		case ROLE_PLC:
		case ROLE_EWS:
		case ROLE_HISTORIAN:
			h->vlan = PLANT_OT_VLAN;
			break;
		case ROLE_LAPTOP:
			h->dhcp = true;
			break;
		default:
			break;
		}
		if (h->role == ROLE_ROUTER)
			snprintf(h->name, sizeof(h->name), "gw-site%u", site_octet);
		else if (h->role == ROLE_LAPTOP)
			snprintf(h->name, sizeof(h->name), "LT-%04u", (unsigned)prng_range(&r, 1000, 9999));
		else
			snprintf(h->name, sizeof(h->name), "%s-%02u", plant_role_name(h->role), nth + 1);
		if (h->role == ROLE_ROUTER)
			p->router = i;
		else if (h->role == ROLE_DHCP_DNS)
			p->dns = i;
	}
	for (unsigned i = 0; i < PLANT_OFFSITE_COUNT; i++) {
		/* Distinct third octets keep the off-site addresses unique. */
		p->offsite[i] = (10u << 24) | (200u << 16) | ((uint32_t)(i * 64 + prng_range(&r, 0, 63)) << 8) |
			(uint32_t)prng_range(&r, 1, 254);
		snprintf(p->offsite_name[i], sizeof(p->offsite_name[i]), "%s", offsite_names[i]);
	}
	return 0;
}

uint32_t plant_broadcast(const struct plant *p)
{
	return (10u << 24) | ((uint32_t)p->site_octet << 16) | (1u << 8) | 255u;
}
