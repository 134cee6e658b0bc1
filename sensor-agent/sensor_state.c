#include "sensor-agent/sensor_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pki.h"

#define STATE_FILE_MAX (256u * 1024)

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static char *dup_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? strdup(s) : NULL;
}

void sensor_state_free(struct sensor_state *st)
{
	free(st->dir);
	free(st->sensor_id);
	free(st->api_url);
	free(st->sensor_url);
	free(st->name);
	free(st->key_path);
	free(st->cert_path);
	free(st->ca_path);
	memset(st, 0, sizeof(*st));
}

int sensor_state_load(const char *dir, struct sensor_state *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	char *path = join(dir, "sensor.json"), *data = NULL;
	size_t len;
	json_t *doc = NULL;
	int rc = -ENOMEM;
	if (!path)
		goto out;
	if ((rc = pki_read_file(path, STATE_FILE_MAX, &data, &len)) < 0) {
		if (rc == -ENOENT)
			snprintf(err, errlen, "%s: not an activated sensor state directory (run `otwatch-sensor activate` first)",
				 dir);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	json_error_t jerr;
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "%s: not a JSON object (%s)", path, jerr.text);
		rc = -EINVAL;
		goto out;
	}
	static const char *const req[] = { "sensor_id", "api_url", "sensor_url" };
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		if (!json_is_string(json_object_get(doc, req[i]))) {
			snprintf(err, errlen, "%s: field \"%s\" is missing or not a string", path, req[i]);
			rc = -EINVAL;
			goto out;
		}
	}
	st->dir = strdup(dir);
	st->sensor_id = dup_str(doc, "sensor_id");
	st->api_url = dup_str(doc, "api_url");
	st->sensor_url = dup_str(doc, "sensor_url");
	st->name = dup_str(doc, "name");
	st->key_path = join(dir, "sensor.key");
	st->cert_path = join(dir, "sensor.crt");
	st->ca_path = join(dir, "ca.crt");
	rc = -ENOMEM;
	if (!st->dir || !st->sensor_id || !st->api_url || !st->sensor_url || !st->key_path || !st->cert_path ||
	    !st->ca_path)
		goto out;
	const char *const files[] = { st->key_path, st->cert_path, st->ca_path };
	for (size_t i = 0; i < 3; i++) {
		if (access(files[i], R_OK) < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", files[i], strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(doc);
	free(data);
	free(path);
	return rc;
}

bool sensor_state_is_activated(const char *dir, char **sensor_id)
{
	struct sensor_state st;
	char err[256];
	bool ok = sensor_state_load(dir, &st, err, sizeof(err)) == 0;
	if (!ok) {
		/* A sensor.json that exists but is damaged still counts: never silently overwrite an identity. */
		char *p = join(dir, "sensor.json");
		ok = p && access(p, F_OK) == 0;
		free(p);
	}
	if (sensor_id)
		*sensor_id = st.sensor_id ? strdup(st.sensor_id) : NULL;
	sensor_state_free(&st);
	return ok;
}

int sensor_state_mkdir(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int rc = -errno;
		snprintf(err, errlen, "cannot create state directory %s: %s", dir, strerror(errno));
		return rc;
	}
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return -ENOTDIR;
	}
	if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) < 0) {
		int rc = -errno;
		snprintf(err, errlen, "cannot set mode 0700 on %s: %s", dir, strerror(errno));
		return rc;
	}
	return 0;
}

static int put(const char *dir, const char *name, const char *data, mode_t mode, char *err, size_t errlen)
{
	char *p = join(dir, name);
	if (!p)
		return -ENOMEM;
	int rc = pki_write_file(p, data, strlen(data), mode, 0);
	if (rc < 0)
		snprintf(err, errlen, "cannot write %s: %s", p, strerror(-rc));
	free(p);
	return rc;
}

int sensor_state_save(const char *dir, const struct sensor_state_files *f, char *err, size_t errlen)
{
	int rc;
	char *act = NULL, *sj = NULL;
	json_t *copy = json_deep_copy(f->activation);
	json_t *sensor = json_pack("{s:s, s:s, s:s, s:s?}", "sensor_id", f->sensor_id, "api_url", f->api_url,
				   "sensor_url", f->sensor_url, "name", f->name);
	if (!copy || !sensor) {
		rc = -ENOMEM;
		goto out;
	}
	json_object_del(copy, "enrollment_token");
	act = json_dumps(copy, JSON_INDENT(2) | JSON_SORT_KEYS);
	sj = json_dumps(sensor, JSON_INDENT(2));
	if (!act || !sj) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = sensor_state_mkdir(dir, err, errlen)) < 0 ||
	    (rc = put(dir, "sensor.key", f->key_pem, 0600, err, errlen)) < 0 ||
	    (rc = put(dir, "sensor.crt", f->cert_pem, 0644, err, errlen)) < 0 ||
	    (rc = put(dir, "ca.crt", f->ca_pem, 0644, err, errlen)) < 0 ||
	    (rc = put(dir, "activation.json", act, 0600, err, errlen)) < 0 ||
	    (rc = put(dir, "sensor.json", sj, 0644, err, errlen)) < 0)
		goto out;
out:
	free(act);
	free(sj);
	json_decref(copy);
	json_decref(sensor);
	return rc;
}
