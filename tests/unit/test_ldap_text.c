#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "auth/ldap_auth.h"
#include "auth/ldap_text.h"

static void escape(const char *in, const char *want)
{
	char out[256];

	assert_int_equal(ldap_text_filter_escape(in, strlen(in), out, sizeof(out)), (long)strlen(want));
	assert_string_equal(out, want);
}

static void filter_escape_rfc4515(void **state)
{
	char out[8];

	escape("alice", "alice");
	escape("*", "\\2a");
	escape("alice)(|(objectClass=*)", "alice\\29\\28|\\28objectClass=\\2a\\29");
	escape("a\\b", "a\\5cb");
	escape("CN=Doe\\, John,CN=Users", "CN=Doe\\5c, John,CN=Users");
	escape("\x01\x7f\xc3\xa9", "\\01\\7f\\c3\\a9");
	escape("", "");
	/* NUL inside the value */
	assert_int_equal(ldap_text_filter_escape("a\0b", 3, out, sizeof(out)), 5);
	assert_memory_equal(out, "a\\00b", 6);
	/* no room: fails, never truncates silently */
	assert_int_equal(ldap_text_filter_escape("((((", 4, out, sizeof(out)), -ENOSPC);
	assert_int_equal(ldap_text_filter_escape("abcdefg", 7, out, sizeof(out)), 7);
	assert_int_equal(ldap_text_filter_escape("abcdefgh", 8, out, sizeof(out)), -ENOSPC);
}

static void norm(const char *in, const char *want)
{
	char out[LDAP_TEXT_DN_MAX + 1];

	assert_int_equal(ldap_text_dn_normalize(in, strlen(in), out), (long)strlen(want));
	assert_string_equal(out, want);
}

static void dn_normalize(void **state)
{
	char out[LDAP_TEXT_DN_MAX + 1], big[LDAP_TEXT_DN_MAX + 2];

	norm("CN=OT-Analysts,CN=Users,DC=otw,DC=test", "cn=ot-analysts,cn=users,dc=otw,dc=test");
	norm("  CN = Alice Analyst , OU=Plant 1,DC=otw  ", "cn=alice analyst,ou=plant 1,dc=otw");
	norm("CN=Doe\\, John\\ ,DC=X", "cn=doe\\, john\\ ,dc=x");
	norm("CN=A\\2C+UID=b", "cn=a\\2c+uid=b");
	assert_int_equal(ldap_text_dn_normalize("", 0, out), -EINVAL);
	assert_int_equal(ldap_text_dn_normalize("   ", 3, out), -EINVAL);
	assert_int_equal(ldap_text_dn_normalize("CN=a\\", 5, out), -EINVAL);
	assert_int_equal(ldap_text_dn_normalize("CN=a\nb", 6, out), -EINVAL);
	assert_int_equal(ldap_text_dn_normalize("CN=a\0b", 6, out), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ldap_text_dn_normalize(big, LDAP_TEXT_DN_MAX, out), LDAP_TEXT_DN_MAX);
	assert_int_equal(ldap_text_dn_normalize(big, LDAP_TEXT_DN_MAX + 1, out), -EINVAL);
}

static void split(const char *login, int form, const char *user, const char *domain)
{
	char u[LDAP_TEXT_USER_MAX + 1], d[LDAP_TEXT_DOMAIN_MAX + 1];

	assert_int_equal(ldap_text_login_split(login, u, d), form);
	assert_string_equal(u, user);
	assert_string_equal(d, domain);
}

static void login_split(void **state)
{
	char long_user[LDAP_TEXT_USER_MAX + 20];

	split("admin", LDAP_LOGIN_LOCAL, "", "");
	split("alice@otw.test", LDAP_LOGIN_UPN, "alice", "otw.test");
	split("OTW\\alice", LDAP_LOGIN_NETBIOS, "alice", "OTW");
	split("first.last@OTW.TEST", LDAP_LOGIN_UPN, "first.last", "OTW.TEST");
	split("@otw.test", -EINVAL, "", "");
	split("alice@", -EINVAL, "", "");
	split("OTW\\", -EINVAL, "", "");
	split("\\alice", -EINVAL, "", "");
	split("a@b@c", -EINVAL, "", "");
	split("OTW\\a\\b", -EINVAL, "", "");
	split("OTW\\alice@otw.test", -EINVAL, "", "");
	split("alice)(|(objectClass=*)@otw.test", -EINVAL, "", "");
	split("*@otw.test", -EINVAL, "", "");
	split("OTW\\*", -EINVAL, "", "");
	split("al\tice@otw.test", -EINVAL, "", "");
	split("alice@otw test", -EINVAL, "", "");
	split("alice@otw.test)", -EINVAL, "", "");
	memset(long_user, 'a', LDAP_TEXT_USER_MAX + 1);
	strcpy(long_user + LDAP_TEXT_USER_MAX + 1, "@otw.test");
	split(long_user, -EINVAL, "", "");
}

static void empty_password_never_binds(void **state)
{
	/* refused before any network traffic: the URI points nowhere routable */
	struct ldap_domain_cfg d = { .name = "otw.test", .netbios = "OTW", .upn_suffix = "otw.test",
				     .uris = { "ldaps://192.0.2.1" }, .n_uris = 1, .ca_pem = "x",
				     .base_dn = "DC=otw,DC=test", .timeout_ms = 100 };
	struct ldap_auth_result r;

	assert_int_equal(ldap_auth_login(&d, "alice", "", &r), -EACCES);
	assert_int_equal(r.err, LDAP_AUTH_BIND);
	ldap_auth_result_free(&r);
	assert_int_equal(ldap_auth_login(&d, "", "pw", &r), -EACCES);
	ldap_auth_result_free(&r);
	d.uris[0] = "ldap://192.0.2.1"; /* plain LDAP without StartTLS */
	assert_int_equal(ldap_auth_login(&d, "alice", "pw", &r), -EINVAL);
	assert_int_equal(r.err, LDAP_AUTH_CONFIG);
	ldap_auth_result_free(&r);
}

static void uri_check(void **state)
{
	assert_true(ldap_auth_uri_ok("ldaps://dc1.otw.test"));
	assert_true(ldap_auth_uri_ok("ldap://127.0.0.1:389"));
	assert_false(ldap_auth_uri_ok("http://dc1"));
	assert_false(ldap_auth_uri_ok("ldaps://"));
	assert_false(ldap_auth_uri_ok("ldaps://dc1/DC=otw?cn?sub?(x=1)"));
	assert_string_equal(ldap_auth_class_name(LDAP_AUTH_TLS_CERTIFICATE), "tls_certificate");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(filter_escape_rfc4515), cmocka_unit_test(dn_normalize), cmocka_unit_test(login_split),
		cmocka_unit_test(empty_password_never_binds), cmocka_unit_test(uri_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
