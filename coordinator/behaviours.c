/* behaviours.c - the sinks' behaviours of a campaign (see behaviours.h). */
#include "behaviours.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sink/behaviour.h"     /* the sink's parser: one reading of the file */
#include "readfile.h"

int behaviours_check(const struct sink_behaviour *b, char *err, size_t errlen)
{
    struct behaviour *parsed;

    if (behaviour_parse(b->text, b->len, b->name ? b->name : "sink_behaviour", &parsed, err, errlen) != 0)
        return -EINVAL;
    behaviour_unref(parsed);
    return 0;
}

int behaviours_set(struct sink_behaviour *out, const char *text, size_t len, const char *name)
{
    char *t = malloc(len + 1), *n = strdup(name);

    if (t == NULL || n == NULL) {
        free(t);
        free(n);
        return -ENOMEM;
    }
    memcpy(t, text, len);
    t[len] = '\0';
    config_behaviour_free(out);
    *out = (struct sink_behaviour){ t, len, n };
    return 0;
}

int behaviours_read(const char *path, struct sink_behaviour *out, char *err, size_t errlen)
{
    struct sink_behaviour b = { NULL, 0, NULL };
    int rc;

    if ((rc = readfile_all(path, BEHAVIOUR_FILE_MAX, &b.text, &b.len, err, errlen)) != 0)
        return rc;
    if ((b.name = strdup(path)) == NULL) {
        free(b.text);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if ((rc = behaviours_check(&b, err, errlen)) != 0) {
        config_behaviour_free(&b);
        return rc;
    }
    config_behaviour_free(out);
    *out = b;
    return 0;
}

int behaviours_any(const struct workload_spec *w)
{
    size_t i;

    for (i = 0; i < w->n_phases; i++)
        if (w->phases[i].sink_behaviour.text)
            return 1;
    return w->sink_behaviour.text != NULL;
}

size_t behaviours_phase_at(const struct workload_spec *w, uint64_t elapsed_ms)
{
    uint64_t end = 0;
    size_t i;

    for (i = 0; i < w->n_phases; i++) {
        end += w->phases[i].duration_ms;
        if (elapsed_ms < end)
            return i;
    }
    return w->n_phases ? w->n_phases - 1 : 0;
}

const struct sink_behaviour *behaviours_of_phase(const struct workload_spec *w, size_t i)
{
    if (i < w->n_phases && w->phases[i].sink_behaviour.text)
        return &w->phases[i].sink_behaviour;
    return w->sink_behaviour.text ? &w->sink_behaviour : NULL;
}

int behaviours_envelope_trace(const struct workload_spec *w)
{
    if (w->old_mode)
        return 0;               /* -o: no trace to tag with */
    return w->envelope_trace >= 0 ? w->envelope_trace : behaviours_any(w);
}
