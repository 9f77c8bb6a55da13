/* test_exporter.c - lib/metrics' OpenMetrics text (histogram buckets from
 * lib/hist, label escaping, families, unknown sink figures, addresses),
 * its HTTP server answering /metrics over loopback, and the aggregator's
 * per-second message latency that the HTML report charts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "aggregator.h"
#include "metrics.h"

static void test_metrics_histogram_buckets_are_cumulative_seconds(void **state)
{
    struct metrics_text t = METRICS_TEXT_INIT;
    struct hist h;

    (void)state;
    hist_init(&h);
    hist_record(&h, 50);
    hist_record(&h, 100);
    hist_record(&h, 1000);
    hist_record(&h, 2000);
    hist_record(&h, 70000000);      /* 70 s: only +Inf */
    metrics_text_histogram(&t, "x_seconds", (const char *[]){ "phase", "message", NULL }, &h);
    assert_false(t.failed);
    assert_non_null(strstr(t.buf, "x_seconds_bucket{phase=\"message\",le=\"0.0001\"} 2\n"));
    assert_non_null(strstr(t.buf, "x_seconds_bucket{phase=\"message\",le=\"0.00025\"} 2\n"));
    assert_non_null(strstr(t.buf, "x_seconds_bucket{phase=\"message\",le=\"0.001\"} 3\n"));
    assert_non_null(strstr(t.buf, "x_seconds_bucket{phase=\"message\",le=\"0.0025\"} 4\n"));
    assert_non_null(strstr(t.buf, "x_seconds_bucket{phase=\"message\",le=\"60\"} 4\n"));
    assert_non_null(strstr(t.buf, "x_seconds_bucket{phase=\"message\",le=\"+Inf\"} 5\n"));
    assert_non_null(strstr(t.buf, "x_seconds_count{phase=\"message\"} 5\n"));
    assert_non_null(strstr(t.buf, "x_seconds_sum{phase=\"message\"} 70.003150\n"));
    metrics_text_free(&t);
}

static void test_metrics_labels_are_escaped(void **state)
{
    struct metrics_text t = METRICS_TEXT_INIT;

    (void)state;
    metrics_text_family(&t, "y", METRICS_COUNTER, NULL, "help with \\ and\nnewline");
    metrics_text_counter(&t, "y", (const char *[]){ "agent", "a\"b\\c\nd\001e\377", NULL }, 7);
    metrics_text_eof(&t);
    assert_string_equal(t.buf, "# TYPE y counter\n# HELP y help with \\\\ and\\nnewline\n"
                               "y_total{agent=\"a\\\"b\\\\c\\nd?e?\"} 7\n# EOF\n");
    metrics_text_reset(&t);
    assert_int_equal(t.len, 0);
    metrics_text_gauge(&t, "z", NULL, 1.5);
    assert_string_equal(t.buf, "z 1.5\n");
    metrics_text_free(&t);
}

static void test_metrics_load_families_once_each(void **state)
{
    struct load_stats *s = malloc(sizeof(*s));
    struct metrics_load loads[2] = { { "c-1", s, 3 }, { "c-2", s, 0 } };
    struct metrics_text t = METRICS_TEXT_INIT;
    const char *p;

    (void)state;
    assert_non_null(s);
    stats_init(s);
    s->messages_accepted = 41;
    stats_count_reply(s, 250);
    stats_count_reply(s, 451);
    hist_record(&s->latency[PHASE_MESSAGE], 1200);
    metrics_text_load(&t, loads, 2);
    assert_false(t.failed);
    p = strstr(t.buf, "# TYPE smtpstorm_messages_accepted counter\n");
    assert_non_null(p);
    assert_null(strstr(p + 1, "# TYPE smtpstorm_messages_accepted counter"));  /* one family, both campaigns */
    assert_non_null(strstr(t.buf, "smtpstorm_messages_accepted_total{campaign=\"c-1\"} 41\n"
                                  "smtpstorm_messages_accepted_total{campaign=\"c-2\"} 41\n"));
    assert_non_null(strstr(t.buf, "smtpstorm_replies_total{campaign=\"c-1\",code=\"451\"} 1\n"));
    assert_null(strstr(t.buf, "code=\"421\""));                                /* zero codes left out */
    assert_non_null(strstr(t.buf, "# UNIT smtpstorm_latency_seconds seconds\n"));
    assert_non_null(strstr(t.buf, "smtpstorm_latency_seconds_count{campaign=\"c-2\",phase=\"message\"} 1\n"));
    assert_null(strstr(t.buf, "phase=\"connect\""));                          /* empty phases left out */
    assert_non_null(strstr(t.buf, "smtpstorm_sessions_active{campaign=\"c-1\"} 3\n"));
    assert_non_null(strstr(t.buf, "smtpstorm_errors_total{campaign=\"c-1\",kind=\"timeout\"} 0\n"));
    metrics_text_free(&t);
    free(s);
}

static void test_metrics_sinks_leave_unknown_figures_out(void **state)
{
    struct hist h;
    struct metrics_sink_campaign c = { "c-1", 10, 1, &h };
    struct metrics_sink s = { "sink-1", 4, METRICS_UNKNOWN, 12, METRICS_UNKNOWN, 2, &c, 1 };
    struct metrics_text t = METRICS_TEXT_INIT;

    (void)state;
    hist_init(&h);
    hist_record(&h, 300);
    metrics_text_sinks(&t, &s, 1);
    assert_non_null(strstr(t.buf, "smtpstorm_sink_sessions_total{sink=\"sink-1\"} 4\n"));
    assert_null(strstr(t.buf, "smtpstorm_sink_sessions_active{"));
    assert_null(strstr(t.buf, "smtpstorm_sink_received_bytes_total{"));
    assert_non_null(strstr(t.buf, "smtpstorm_sink_received_total{sink=\"sink-1\",campaign=\"c-1\"} 10\n"));
    assert_non_null(strstr(t.buf, "smtpstorm_delivery_latency_seconds_bucket{sink=\"sink-1\",campaign=\"c-1\","
                                  "le=\"0.0005\"} 1\n"));
    metrics_text_free(&t);
}

static void test_metrics_addresses(void **state)
{
    char err[256];

    (void)state;
    assert_int_equal(metrics_addr_check("127.0.0.1:9464", err, sizeof(err)), 0);
    assert_int_equal(metrics_addr_check("[::1]:0", err, sizeof(err)), 0);
    assert_int_equal(metrics_addr_check("localhost:80", err, sizeof(err)), 0);
    assert_int_not_equal(metrics_addr_check("127.0.0.1", err, sizeof(err)), 0);
    assert_non_null(strstr(err, "ADDR:PORT"));
    assert_int_not_equal(metrics_addr_check("::1:80", err, sizeof(err)), 0);
    assert_int_not_equal(metrics_addr_check(":80", err, sizeof(err)), 0);
    assert_int_not_equal(metrics_addr_check("1.2.3.4:65536", err, sizeof(err)), 0);
    assert_int_not_equal(metrics_addr_check("1.2.3.4:-1", err, sizeof(err)), 0);
    assert_int_not_equal(metrics_addr_check("[::1]80", err, sizeof(err)), 0);
}

/* One HTTP/1.0 request to 127.0.0.1:port; the whole answer into buf. */
static void http_get(unsigned port, const char *request, char *buf, size_t len)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    size_t got = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
}

static void test_metrics_server_serves_what_was_published(void **state)
{
    struct metrics_text t = METRICS_TEXT_INIT;
    struct metrics_server *m;
    char err[256], answer[4096];
    unsigned port;

    (void)state;
    m = metrics_start("127.0.0.1:0", err, sizeof(err));
    assert_non_null(m);
    assert_int_equal(strncmp(metrics_address(m), "127.0.0.1:", 10), 0);
    port = (unsigned)atoi(metrics_address(m) + 10);
    assert_true(port > 0);
    http_get(port, "GET /metrics HTTP/1.0\r\n\r\n", answer, sizeof(answer));
    assert_non_null(strstr(answer, "200"));
    assert_non_null(strstr(answer, "\r\n\r\n# EOF\n"));                     /* nothing published yet */
    metrics_text_gauge(&t, "up", NULL, 1);
    metrics_text_eof(&t);
    assert_int_equal(metrics_publish(m, &t), 0);
    metrics_text_free(&t);                                                  /* the server has its copy */
    http_get(port, "GET /metrics HTTP/1.0\r\n\r\n", answer, sizeof(answer));
    assert_non_null(strstr(answer, "Content-Type: application/openmetrics-text; version=1.0.0"));
    assert_non_null(strstr(answer, "\r\n\r\nup 1\n# EOF\n"));
    http_get(port, "GET /nope HTTP/1.0\r\n\r\n", answer, sizeof(answer));
    assert_non_null(strstr(answer, " 404 "));
    http_get(port, "DELETE /metrics HTTP/1.0\r\n\r\n", answer, sizeof(answer));
    assert_non_null(strstr(answer, " 405 "));
    assert_int_equal(metrics_scrapes(m), 2);
    t.failed = 1;
    assert_int_not_equal(metrics_publish(m, &t), 0);
    metrics_stop(m);
    assert_null(metrics_start("127.0.0.1:99999", err, sizeof(err)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_histogram_buckets_are_cumulative_seconds),
        cmocka_unit_test(test_metrics_labels_are_escaped),
        cmocka_unit_test(test_metrics_load_families_once_each),
        cmocka_unit_test(test_metrics_sinks_leave_unknown_figures_out),
        cmocka_unit_test(test_metrics_addresses),
        cmocka_unit_test(test_metrics_server_serves_what_was_published),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
