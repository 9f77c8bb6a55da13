/* test_keys.c - lib/keys: key files made and read back, bad Z85, wrong
 * lengths, secret keys others can read, the authorized-keys directory; and
 * zlink's loopback test that decides when keys are required. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys.h"
#include "zlink.h"

static char tmp[64];
static char err[1024];

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof(tmp), "/tmp/test_keys-XXXXXX");
    return mkdtemp(tmp) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *name)
{
    static char path[4][256];
    static int i;

    i = (i + 1) % 4;
    snprintf(path[i], sizeof(path[i]), "%s/%s", tmp, name);
    return path[i];
}

static void write_file(const char *name, mode_t mode, const char *text)
{
    const char *path = path_of(name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void make_pair(const char *name, struct keys_secret *k)
{
    assert_int_equal(keys_generate(k), 0);
    assert_int_equal(keys_save(path_of(name), k, 0, err, sizeof(err)), 0);
}

static void test_keys_saved_pair_reads_back_with_modes_0600_and_0644(void **state)
{
    struct keys_secret k, back;
    uint8_t pub[KEYS_BYTES];
    char name[300];
    struct stat st;

    (void)state;
    make_pair("c", &k);
    snprintf(name, sizeof(name), "%s.key", path_of("c"));
    assert_int_equal(stat(name, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(keys_load_secret(name, &back, err, sizeof(err)), 0);
    assert_memory_equal(back.secret_key, k.secret_key, KEYS_BYTES);
    assert_memory_equal(back.public_key, k.public_key, KEYS_BYTES);
    snprintf(name, sizeof(name), "%s.pub", path_of("c"));
    assert_int_equal(stat(name, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(keys_load_public(name, pub, err, sizeof(err)), 0);
    assert_memory_equal(pub, k.public_key, KEYS_BYTES);
    /* The .pub file is not a secret key, and the .key file is not a public one. */
    assert_int_equal(keys_load_secret(name, &back, err, sizeof(err)), -EPERM);
    snprintf(name, sizeof(name), "%s.key", path_of("c"));
    assert_int_equal(keys_load_public(name, pub, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "secret"));
}

static void test_keys_save_refuses_to_overwrite_unless_forced(void **state)
{
    struct keys_secret k1, k2, back;
    char name[300];

    (void)state;
    make_pair("twice", &k1);
    assert_int_equal(keys_generate(&k2), 0);
    assert_int_equal(keys_save(path_of("twice"), &k2, 0, err, sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "--force"));
    snprintf(name, sizeof(name), "%s.key", path_of("twice"));
    assert_int_equal(keys_load_secret(name, &back, err, sizeof(err)), 0);
    assert_memory_equal(back.secret_key, k1.secret_key, KEYS_BYTES);
    assert_int_equal(keys_save(path_of("twice"), &k2, 1, err, sizeof(err)), 0);
    assert_int_equal(keys_load_secret(name, &back, err, sizeof(err)), 0);
    assert_memory_equal(back.secret_key, k2.secret_key, KEYS_BYTES);
}

static void test_keys_secret_readable_by_group_or_world_refused(void **state)
{
    static const mode_t bad[] = { 0640, 0604, 0644, 0660, 0602 };
    struct keys_secret k;
    char name[300];
    size_t i;

    (void)state;
    make_pair("open", &k);
    snprintf(name, sizeof(name), "%s.key", path_of("open"));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(chmod(name, bad[i]), 0);
        assert_int_equal(keys_load_secret(name, &k, err, sizeof(err)), -EPERM);
        assert_non_null(strstr(err, "chmod 600"));
    }
    assert_int_equal(chmod(name, 0400), 0);
    assert_int_equal(keys_load_secret(name, &k, err, sizeof(err)), 0);
}

/* As root: a key of another user is refused; a root-owned 0440 key is read
 * by a non-root member of its group (Kubernetes' secret volumes), 0444 not. */
static void test_keys_secret_ownership_rules(void **state)
{
    struct keys_secret k;
    char name[300];
    pid_t pid;
    int status;

    (void)state;
    if (geteuid() != 0)
        skip();
    make_pair("owned", &k);
    snprintf(name, sizeof(name), "%s.key", path_of("owned"));
    assert_int_equal(chown(name, 65534, 65534), 0);
    assert_int_equal(keys_load_secret(name, &k, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "owned by uid 65534"));
    assert_int_equal(chown(name, 0, 65534), 0);
    assert_int_equal(chmod(tmp, 0755), 0);
    for (int mode = 0440; mode <= 0444; mode += 4) {
        assert_int_equal(chmod(name, (mode_t)mode), 0);
        if ((pid = fork()) == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(9);
            _exit(keys_load_secret(name, &k, err, sizeof(err)) == 0 ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), mode == 0440 ? 0 : 1);
    }
    /* Root itself is held to 0600 even for its own file. */
    assert_int_equal(keys_load_secret(name, &k, err, sizeof(err)), -EPERM);
}

static void test_keys_bad_z85_refused(void **state)
{
    uint8_t pub[KEYS_BYTES];

    (void)state;
    /* 40 characters, one outside the alphabet (',' '~' '"' space). */
    write_file("comma.pub", 0644, "public-key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI,\"\n");
    assert_int_equal(keys_load_public(path_of("comma.pub"), pub, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "Z85"));
    write_file("tilde.pub", 0644, "public-key = Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI~\n");
    assert_int_equal(keys_load_public(path_of("tilde.pub"), pub, err, sizeof(err)), -EINVAL);
    /* Five digits worth more than 2^32. */
    assert_int_equal(keys_z85_decode("%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%", 40, pub), -EINVAL);
    write_file("nul.pub", 0644, "");
    assert_int_equal(keys_load_public(path_of("nul.pub"), pub, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "no public key"));
}

static void test_keys_wrong_length_refused(void **state)
{
    uint8_t pub[KEYS_BYTES];

    (void)state;
    write_file("short.pub", 0644, "public-key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI\"\n");
    assert_int_equal(keys_load_public(path_of("short.pub"), pub, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "it has 39"));
    write_file("long.pub", 0644, "public-key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID&\"\n");
    assert_int_equal(keys_load_public(path_of("long.pub"), pub, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "it has 41"));
    /* A bare line of the wrong length is not a key at all. */
    write_file("bare39.pub", 0644, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI\n");
    assert_int_equal(keys_load_public(path_of("bare39.pub"), pub, err, sizeof(err)), -EINVAL);
    assert_int_equal(keys_z85_decode("abc", 3, pub), -EINVAL);
}

static void test_keys_public_file_forms(void **state)
{
    static const char z85[] = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    uint8_t a[KEYS_BYTES], b[KEYS_BYTES], c[KEYS_BYTES], expect[KEYS_BYTES];
    char text[256];

    (void)state;
    assert_int_equal(keys_z85_decode(z85, 40, expect), 0);
    snprintf(text, sizeof(text), "%s\n", z85);
    write_file("bare.pub", 0644, text);
    snprintf(text, sizeof(text), "#   ZeroMQ CURVE Public Certificate\n\nmetadata\ncurve\n"
             "    public-key = '%s'  \r\n", z85);
    write_file("zcert.pub", 0644, text);
    snprintf(text, sizeof(text), "public-key=%s\n", z85);
    write_file("tight.pub", 0644, text);
    assert_int_equal(keys_load_public(path_of("bare.pub"), a, err, sizeof(err)), 0);
    assert_int_equal(keys_load_public(path_of("zcert.pub"), b, err, sizeof(err)), 0);
    assert_int_equal(keys_load_public(path_of("tight.pub"), c, err, sizeof(err)), 0);
    assert_memory_equal(a, expect, KEYS_BYTES);
    assert_memory_equal(b, expect, KEYS_BYTES);
    assert_memory_equal(c, expect, KEYS_BYTES);
    snprintf(text, sizeof(text), "%s\npublic-key = \"%s\"\n", z85, z85);
    write_file("two.pub", 0644, text);
    assert_int_equal(keys_load_public(path_of("two.pub"), a, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "more than one"));
}

static void test_keys_secret_with_foreign_public_key_refused(void **state)
{
    struct keys_secret k1, k2;
    char a[KEYS_Z85_LEN + 1], s[KEYS_Z85_LEN + 1], text[256];

    (void)state;
    assert_int_equal(keys_generate(&k1), 0);
    assert_int_equal(keys_generate(&k2), 0);
    keys_z85(k2.public_key, a);
    keys_z85(k1.secret_key, s);
    snprintf(text, sizeof(text), "public-key = \"%s\"\nsecret-key = \"%s\"\n", a, s);
    write_file("mixed.key", 0600, text);
    assert_int_equal(keys_load_secret(path_of("mixed.key"), &k2, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "does not belong"));
    /* The secret key alone is enough: the public key is derived. */
    snprintf(text, sizeof(text), "secret-key = \"%s\"\n", s);
    write_file("alone.key", 0600, text);
    assert_int_equal(keys_load_secret(path_of("alone.key"), &k2, err, sizeof(err)), 0);
    assert_memory_equal(k2.public_key, k1.public_key, KEYS_BYTES);
}

static void test_keys_dir_loads_every_pub_and_nothing_else(void **state)
{
    struct keys_secret a, b, c, stranger;
    struct keys_ring ring = { 0 };
    char z85[KEYS_Z85_LEN + 1], text[128];

    (void)state;
    assert_int_equal(mkdir(path_of("auth"), 0755), 0);
    make_pair("auth/agent-1", &a);
    make_pair("auth/agent-2", &b);
    make_pair("auth/sink-1", &c);
    assert_int_equal(keys_generate(&stranger), 0);
    keys_z85(stranger.public_key, z85);
    snprintf(text, sizeof(text), "%s\n", z85);
    write_file("auth/.hidden.pub", 0644, text);
    write_file("auth/README", 0644, "not a key\n");
    write_file("auth/notes.pub.txt", 0644, "not a key either\n");
    assert_int_equal(mkdir(path_of("auth/sub.pub"), 0755), 0);
    assert_int_equal(keys_load_dir(path_of("auth"), &ring, err, sizeof(err)), 0);
    assert_int_equal(ring.n, 3);
    assert_string_equal(keys_ring_find(&ring, a.public_key), "agent-1");
    assert_string_equal(keys_ring_find(&ring, b.public_key), "agent-2");
    assert_string_equal(keys_ring_find(&ring, c.public_key), "sink-1");
    assert_null(keys_ring_find(&ring, stranger.public_key));
    assert_null(keys_ring_find(&ring, a.secret_key));
    keys_ring_free(&ring);
    assert_int_equal(ring.n, 0);
}

static void test_keys_dir_with_a_bad_file_fails_naming_it(void **state)
{
    struct keys_secret a;
    struct keys_ring ring = { 0 };

    (void)state;
    assert_int_equal(mkdir(path_of("bad"), 0755), 0);
    make_pair("bad/good", &a);
    write_file("bad/broken.pub", 0644, "public-key = \"nope\"\n");
    assert_int_equal(keys_load_dir(path_of("bad"), &ring, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "broken.pub"));
    keys_ring_free(&ring);
}

static void test_keys_dir_empty_or_writable_by_others_refused(void **state)
{
    struct keys_secret a;
    struct keys_ring ring = { 0 };
    char name[300];

    (void)state;
    assert_int_equal(mkdir(path_of("empty"), 0755), 0);
    assert_int_equal(keys_load_dir(path_of("empty"), &ring, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "no *.pub"));
    keys_ring_free(&ring);
    assert_int_equal(keys_load_dir(path_of("absent"), &ring, err, sizeof(err)), -ENOENT);
    keys_ring_free(&ring);
    assert_int_equal(mkdir(path_of("open"), 0755), 0);
    make_pair("open/a", &a);
    assert_int_equal(chmod(path_of("open"), 0777), 0);
    assert_int_equal(keys_load_dir(path_of("open"), &ring, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "chmod go-w"));
    keys_ring_free(&ring);
    assert_int_equal(chmod(path_of("open"), 0755), 0);
    snprintf(name, sizeof(name), "%s.pub", path_of("open/a"));
    assert_int_equal(chmod(name, 0666), 0);
    assert_int_equal(keys_load_dir(path_of("open"), &ring, err, sizeof(err)), -EPERM);
    keys_ring_free(&ring);
}

static void test_zlink_endpoint_loopback_only_for_this_host(void **state)
{
    static const char *local[] = {
        "tcp://127.0.0.1:7400", "tcp://127.1.2.3:1", "tcp://[::1]:7400", "tcp://localhost:7400",
        "tcp://LOCALHOST:1", "tcp://[::ffff:127.0.0.1]:7400", "ipc:///tmp/x/control", "inproc://a",
        "tcp://127.0.0.1:*",
    };
    static const char *remote[] = {
        "tcp://*:7400", "tcp://0.0.0.0:7400", "tcp://198.18.0.1:7400", "tcp://[::]:7400",
        "tcp://eth0:7400", "tcp://coordinator.example:7400", "tcp://127.0.0.1;10.0.0.1:7400",
        "tcp://10.0.0.1;127.0.0.1:7400", "pgm://127.0.0.1:1", "tcp://127.0.0.1", "tcp://[::1",
        "ws://127.0.0.1:80", "tcp://128.0.0.1:1", "tcp://localhost.example.com:1", "",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        assert_true(zlink_endpoint_loopback(local[i]));
    for (i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
        if (zlink_endpoint_loopback(remote[i]))
            fail_msg("%s taken for loopback", remote[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_saved_pair_reads_back_with_modes_0600_and_0644),
        cmocka_unit_test(test_keys_save_refuses_to_overwrite_unless_forced),
        cmocka_unit_test(test_keys_secret_readable_by_group_or_world_refused),
        cmocka_unit_test(test_keys_secret_ownership_rules),
        cmocka_unit_test(test_keys_bad_z85_refused),
        cmocka_unit_test(test_keys_wrong_length_refused),
        cmocka_unit_test(test_keys_public_file_forms),
        cmocka_unit_test(test_keys_secret_with_foreign_public_key_refused),
        cmocka_unit_test(test_keys_dir_loads_every_pub_and_nothing_else),
        cmocka_unit_test(test_keys_dir_with_a_bad_file_fails_naming_it),
        cmocka_unit_test(test_keys_dir_empty_or_writable_by_others_refused),
        cmocka_unit_test(test_zlink_endpoint_loopback_only_for_this_host),
    };

    umask(022);
    return cmocka_run_group_tests(tests, setup, teardown);
}
