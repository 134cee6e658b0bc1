/* Wire records with deep packet inspection members (device and connection records, event and violation records),
 * as a sensor sends them: shared by test_ingest_apply.c (applied to a database) and test_wire_dpi.c (parsed). Each
 * returns a static buffer, valid until the next call of the same function. */
#pragma once
#include <stdio.h>

static inline const char *dpi_dev_rec(int seq, const char *model, int purdue)
{
	static char buf[2048];
	snprintf(buf, sizeof(buf),
		 "{\"seq\":%d,\"kind\":\"device\",\"key\":\"mac:00:0e:8c:00:00:01\",\"macs\":[\"00:0e:8c:00:00:01\"],"
		 "\"ips\":[\"10.9.0.5\"],\"vlans\":[],\"vendor\":\"Siemens\",\"hostname\":null,\"type\":\"plc\","
		 "\"protocols\":[{\"name\":\"s7comm\",\"role\":\"server\"}],\"first_seen\":\"2024-01-01T00:00:00Z\","
		 "\"last_seen\":\"2024-01-01T00:00:%02dZ\",\"oui_vendor\":\"Siemens AG\",\"model\":\"%s\","
		 "\"firmware\":\"V3.2\",\"serial\":\"S C-X4U421302009\",\"os\":null,\"fqdn\":null,"
		 "\"type_evidence\":[\"answers S7comm as a server\"],\"purdue_level\":%d,\"plc_mode\":\"run\","
		 "\"flags\":{\"scanner\":false,\"programming_device\":false},"
		 "\"attributes\":{\"rack\":{\"value\":0,\"source\":\"s7comm\"},"
		 "\"order_number\":{\"value\":\"6ES7 315-2EH14-0AB0\",\"source\":\"s7comm\"}}}",
		 seq, seq, model, purdue);
	return buf;
}

static inline const char *dpi_conn_rec(int seq, int code, const char *name)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"seq\":%d,\"kind\":\"connection\",\"transport\":\"tcp\",\"src_addr\":\"10.9.0.9\","
		 "\"dst_addr\":\"10.9.0.5\",\"port\":102,\"broadcast\":false,\"protocols\":[\"s7comm\"],\"packets\":2,"
		 "\"bytes\":200,\"first_seen\":\"2024-01-01T00:00:00Z\",\"last_seen\":\"2024-01-01T00:00:%02dZ\","
		 "\"functions\":[{\"proto\":\"s7comm\",\"code\":4,\"name\":\"read_var\"},"
		 "{\"proto\":\"s7comm\",\"code\":%d,\"name\":\"%s\"}]}",
		 seq, seq, code, name);
	return buf;
}

static inline const char *dpi_event_rec(int seq, const char *kind, const char *name, int count, const char *detail)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"seq\":%d,\"kind\":\"%s\",\"proto\":\"s7comm\",\"name\":\"%s\",\"src_addr\":\"10.9.0.9\","
		 "\"dst_addr\":\"10.9.0.5\",\"count\":%d,\"first_seen\":\"2024-01-01T00:00:%02dZ\","
		 "\"last_seen\":\"2024-01-01T00:00:%02dZ\",\"detail\":%s}",
		 seq, kind, name, count, seq, seq, detail);
	return buf;
}
