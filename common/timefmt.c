#include "common/timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

char *timefmt_rfc3339_ms(int64_t usec, char out[TIMEFMT_LEN])
{
	int64_t sec = usec / 1000000;
	int64_t ms = (usec % 1000000) / 1000;
	time_t t;
	struct tm tm;

	if (ms < 0) { /* floor division for times before the epoch */
		ms += 1000;
		sec -= 1;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 8099 ||
	    strftime(out, TIMEFMT_LEN, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
		memcpy(out, "1970-01-01T00:00:00.000Z", 25);
		return out;
	}
	out[19] = '.';
	out[20] = (char)('0' + ms / 100);
	out[21] = (char)('0' + (ms / 10) % 10);
	out[22] = (char)('0' + ms % 10);
	out[23] = 'Z';
	out[24] = '\0';
	return out;
}

static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

bool timefmt_parse_rfc3339(const char *s, int64_t *usec)
{
	int y, mo, d, h, mi, se, frac = 0, fdig = 0;
	struct tm tm;
	int64_t off = 0;

	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return false;
	s += 19;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s)) {
			if (fdig < 6) {
				frac = frac * 10 + (*s - '0');
				fdig++;
			}
			s++;
		}
		while (fdig < 6) {
			frac *= 10;
			fdig++;
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int oh, om;
		if (!digits(s + 1, 2, &oh) || s[3] != ':' || !digits(s + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		off = (int64_t)(oh * 3600 + om * 60) * (*s == '+' ? 1 : -1);
		s += 6;
	} else {
		return false;
	}
	if (*s != '\0')
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*usec = ((int64_t)timegm(&tm) - off) * 1000000 + frac;
	return true;
}

int64_t timefmt_now_usec(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}
