#include "tools/loadgen/lg_state.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "common/pki.h"
#include "sensor-agent/activate.h"
#include "sensor-agent/sensor_state.h"

static void ca_hash(const char *ca_pem, char out[65])
{
	uint8_t d[32];
	pki_sha256(ca_pem, strlen(ca_pem), d);
	pki_hex(d, sizeof(d), out);
}

int lg_state_open(const char *dir, const char *ca_pem, char prefix[LG_STATE_PREFIX_LEN + 1], char *err,
		  size_t errlen)
{
	char path[4096], hash[65];
	json_t *doc = NULL;
	int rc;

	ca_hash(ca_pem, hash);
	if ((rc = sensor_state_mkdir(dir, err, errlen)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/loadgen.json", dir);
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	if (doc) {
		const char *p = json_string_value(json_object_get(doc, "prefix"));
		const char *h = json_string_value(json_object_get(doc, "ca_sha256"));
		rc = 0;
		if (!p || strlen(p) != LG_STATE_PREFIX_LEN || !h) {
			snprintf(err, errlen, "%s is malformed", path);
			rc = -EINVAL;
		} else if (strcmp(h, hash) != 0) {
			snprintf(err, errlen, "%s holds sensors of another console (its CA differs): use another --state",
				 dir);
			rc = -EEXIST;
		} else {
			memcpy(prefix, p, LG_STATE_PREFIX_LEN + 1);
		}
		json_decref(doc);
		return rc;
	}
	if (access(path, F_OK) == 0) {
		snprintf(err, errlen, "%s is not valid JSON", path);
		return -EINVAL;
	}
	uint8_t r[LG_STATE_PREFIX_LEN / 2];
	if ((rc = pki_random_bytes(r, sizeof(r))) < 0) {
		snprintf(err, errlen, "no random bytes");
		return rc;
	}
	pki_hex(r, sizeof(r), prefix);
	doc = json_pack("{s:s, s:s}", "prefix", prefix, "ca_sha256", hash);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = pki_write_file(path, text, strlen(text), 0600, 0);
	free(text);
	if (rc < 0)
		snprintf(err, errlen, "cannot write %.300s: %s", path, strerror(-rc));
	return rc;
}

void lg_state_sensor_dir(const char *dir, unsigned i, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/sensor-%u", dir, i);
}

bool lg_state_enrolled(const char *dir, unsigned i)
{
	char d[4096];
	lg_state_sensor_dir(dir, i, d, sizeof(d));
	return sensor_state_is_activated(d, NULL);
}

static void activation_path(const char *dir, unsigned i, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/sensor-%u.activation.json", dir, i);
}

struct create_job {
	const struct lg_api *a;
	const char *dir, *prefix, *zone_id, *gateway_url;
	const unsigned *idx;
	size_t n, next;
	pthread_mutex_t mu;
	int rc;
	char err[512];
};

static int create_one(struct create_job *job, unsigned i, char *err, size_t errlen)
{
	char name[64], path[4096];
	uint8_t r[2];
	json_t *act = NULL;
	int rc;

	if ((rc = pki_random_bytes(r, sizeof(r))) < 0)
		return rc;
	snprintf(name, sizeof(name), "loadgen-%s-%u-%02x%02x", job->prefix, i, r[0], r[1]);
	if ((rc = lg_api_create_sensor(job->a, name, job->zone_id, &act, err, errlen)) < 0)
		return rc;
	/* The console names the addresses it was configured with; this run reaches it at these. */
	json_object_set_new(act, "api_url", json_string(job->a->base));
	json_object_set_new(act, "sensor_url", json_string(job->gateway_url));
	char *text = json_dumps(act, JSON_COMPACT);
	json_decref(act);
	if (!text)
		return -ENOMEM;
	activation_path(job->dir, i, path, sizeof(path));
	rc = pki_write_file(path, text, strlen(text), 0600, 0);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (rc < 0)
		snprintf(err, errlen, "cannot write %.300s: %s", path, strerror(-rc));
	return rc;
}

static void *create_thread(void *arg)
{
	struct create_job *job = arg;
	char err[512];
	for (;;) {
		pthread_mutex_lock(&job->mu);
		size_t k = job->rc < 0 ? job->n : job->next++;
		pthread_mutex_unlock(&job->mu);
		if (k >= job->n)
			return NULL;
		int rc = create_one(job, job->idx[k], err, sizeof(err));
		if (rc < 0) {
			pthread_mutex_lock(&job->mu);
			if (job->rc == 0) {
				job->rc = rc;
				snprintf(job->err, sizeof(job->err), "%s", err);
			}
			pthread_mutex_unlock(&job->mu);
		}
	}
}

int lg_state_create(const struct lg_api *a, const char *dir, const char *prefix, const unsigned *idx, size_t n,
		    const char *zone_id, const char *gateway_url, unsigned threads, char *err, size_t errlen)
{
	struct create_job job = { .a = a, .dir = dir, .prefix = prefix, .zone_id = zone_id,
				  .gateway_url = gateway_url, .idx = idx, .n = n };
	pthread_t t[16];
	unsigned started = 0;

	pthread_mutex_init(&job.mu, NULL);
	if (threads > 16)
		threads = 16;
	for (; started < threads && started < n; started++)
		if (pthread_create(&t[started], NULL, create_thread, &job) != 0)
			break;
	if (started == 0)
		create_thread(&job);
	for (unsigned k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	pthread_mutex_destroy(&job.mu);
	if (job.rc < 0)
		snprintf(err, errlen, "%s", job.err);
	return job.rc;
}

int lg_state_activate(const char *dir, unsigned i)
{
	char path[4096], sdir[4096];
	activation_path(dir, i, path, sizeof(path));
	lg_state_sensor_dir(dir, i, sdir, sizeof(sdir));
	if (access(path, R_OK) != 0)
		return -ENOENT;
	char *argv[] = { "activate", path, "--state", sdir, NULL };
	int status = cmd_activate(4, argv);
	if (status != 0) {
		log_error("loadgen: sensor %u: activation failed (otwatch-sensor activate said why above)", i);
		return -EIO;
	}
	unlink(path);
	return 0;
}
