/* replay.c - a main() for fuzz harnesses built without libFuzzer: runs the
 * harness once over every file named on the command line (the checked-in
 * corpus), so ordinary builds keep the corpus as a regression test. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;
    int rc = -1;

    if (f == NULL)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)len + 1);
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len)
        goto out;
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    int i, failed = 0;

    for (i = 1; i < argc; i++) {
        if (replay_file(argv[i]) != 0) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            failed = 1;
        }
    }
    printf("replayed %d inputs\n", argc - 1 - failed);
    return failed;
}
