/* libFuzzer target for the activation file parser (sensor-agent/activate.c: activation_parse). The input is
 * untrusted JSON from a file an operator copied around; the parser must reject anything malformed with a message
 * and never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sensor-agent/activate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct activation act;
	char err[256];
	err[0] = '\0';
	if (activation_parse(data, size, &act, err, sizeof(err)) == 0) {
		/* Accepted files hold every field in valid form. */
		if (strlen(act.sensor_id) != 36 || !act.api_url || !act.sensor_url || !act.ca_pem || !act.token)
			__builtin_trap();
	} else if (!err[0]) {
		__builtin_trap(); /* every refusal says why */
	}
	activation_free(&act);
	return 0;
}
