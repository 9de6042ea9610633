/*
 * sim_http.c - libmicrohttpd glue: loopback socket, request bodies, the auth
 * check, fault injection, and sending replies.
 *
 * Order per request: match the route; on broker routes wait out the latency
 * fault; check auth-token (every route but the Telegram and Slack far ends,
 * whose secret is in the URL, and the journal far ends, which check their
 * own credentials and see the request headers; so 401 never depends on
 * luck); then,
 * on broker routes only, drop / 429 / 500 before any side effect, or run the
 * handler and spoil a 200 body (wrong types, malformed, oversized). A close
 * can therefore happen and still be answered with garbage, as a real broker
 * behind a bad proxy would.
 *
 * Threads: MHD calls on_request/on_completed on each connection's own
 * thread; the per-request context belongs to that connection. The sim_http
 * struct is read-only after start.
 */
#include "sim_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "clock.h"
#include "sanitize.h"
#include "sim_json.h"
#include "sim_rng.h"
#include "sim_routes.h"

#define LISTEN_BACKLOG 1024
#define MAX_CONNECTIONS 4096u
#define IDLE_TIMEOUT_S 60u
/* Handlers are shallow; a small stack lets thousands of connections live. */
#define THREAD_STACK_BYTES (512u * 1024u)
#define LOG_URL_BYTES 160

struct sim_http {
    sim_world *world;
    struct MHD_Daemon *daemon;
    char *token;
    size_t token_len;
    int port;
    bool verbose;
};

typedef struct req_ctx {
    char *body;
    size_t len;
    bool too_big;
    double start_us;
} req_ctx;

static int parse_loopback(const char *addr, long port, struct sockaddr_storage *ss, socklen_t *len,
                          char *err, size_t errlen)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        if ((ntohl(v4->sin_addr.s_addr) >> 24) == 127) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons((uint16_t)port);
            *len = sizeof *v4;
            return 0;
        }
    } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons((uint16_t)port);
            *len = sizeof *v6;
            return 0;
        }
    }
    snprintf(err, errlen,
             "--listen: '%.64s' is not allowed; the simulator only listens on a numeric "
             "loopback address (127.x.x.x or ::1)",
             addr);
    return -1;
}

int sim_http_check_listen(const char *addr, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    return parse_loopback(addr, 0, &ss, &len, err, errlen);
}

static int open_listener(const sim_http_config *cfg, int *port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_loopback(cfg->listen, cfg->port, &ss, &len, err, errlen) != 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        snprintf(err, errlen, "cannot listen on %s port %ld: %s%s", cfg->listen, cfg->port,
                 strerror(errno), errno == EADDRINUSE ? " (try --port 0 for a free one)" : "");
        close(fd);
        return -1;
    }
    len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        close(fd);
        return -1;
    }
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static bool authorised(const sim_http *h, struct MHD_Connection *c)
{
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "auth-token");
    /* Constant time, so the token cannot be guessed byte by byte. */
    return t && strlen(t) == h->token_len && CRYPTO_memcmp(t, h->token, h->token_len) == 0;
}

static enum MHD_Result send_typed(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                                  const char *content_type, long retry_after, const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    char ra[24];
    snprintf(ra, sizeof ra, "%ld", retry_after);
    bool ok = MHD_add_response_header(r, "Content-Type", content_type) == MHD_YES &&
              (retry_after < 0 || MHD_add_response_header(r, "Retry-After", ra) == MHD_YES) &&
              (!allow || MHD_add_response_header(r, "Allow", allow) == MHD_YES);
    enum MHD_Result ret = ok ? MHD_queue_response(c, status, r) : MHD_NO;
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                                 long retry_after, const char *allow)
{
    return send_typed(c, status, body, len, "application/json", retry_after, allow);
}

/* Serialises json (taking ownership) and sends it. */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, cJSON *json,
                                 long retry_after, const char *allow)
{
    char *body = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!body)
        return MHD_NO; /* out of memory: closing is all that is left */
    return send_body(c, status, body, strlen(body), retry_after, allow);
}

static void log_request(const sim_http *h, const char *method, const char *url, const req_ctx *rc,
                        unsigned status, const char *note)
{
    if (!h->verbose)
        return;
    char safe[LOG_URL_BYTES];
    sim_route_match m;
    sim_routes_match(url, &m);
    /* A bot token or a webhook secret is in these URLs: never in a log. */
    if (m.route == SIM_STAT_TELEGRAM)
        url = "/bot<token>/...";
    else if (m.route == SIM_STAT_SLACK)
        url = "/services/<secret>";
    sanitize_text(url, safe, sizeof safe, true);
    fprintf(stderr, "tradeops-sim: %.8s %s -> %u%s%s (%.1f ms)\n", method, safe, status,
            note ? " " : "", note ? note : "", (clock_mono_us() - rc->start_us) / 1000.0);
}

/* Spoils a 200 body as the faults ask; returns the (possibly new) body. */
static char *spoil(sim_world *w, sim_rng *r, const sim_faults *f, char *body, size_t *len,
                   const char **note)
{
    bool malformed = sim_rng_chance(r, f->malformed_rate);
    bool oversized = sim_rng_chance(r, f->oversized_rate);
    uint64_t seed = sim_rng_next(r);
    char *out = NULL;
    if (malformed) {
        out = sim_json_malformed(body, *len, seed, len);
        sim_world_count(w, SIM_STAT_FAULT_MALFORMED);
        *note = "[malformed]";
    } else if (oversized) {
        out = sim_json_oversized(body, *len, len);
        sim_world_count(w, SIM_STAT_FAULT_OVERSIZED);
        *note = "[oversized]";
    }
    if (!out)
        return body;
    free(body);
    return out;
}

static const char *request_header(const sim_request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result respond(sim_http *h, struct MHD_Connection *c, req_ctx *rc, const char *url,
                               const char *method)
{
    sim_world *w = h->world;
    sim_route_match m;
    sim_routes_match(url, &m);
    sim_world_count(w, m.route);
    bool broker = sim_routes_is_broker(m.route);
    sim_faults f;
    sim_world_faults(w, &f);
    sim_rng r;
    sim_rng_seed(&r, sim_world_request_seed(w));
    /* Every draw is made up front so one knob never shifts another's luck. */
    bool drop = sim_rng_chance(&r, f.drop_rate);
    bool limited = sim_rng_chance(&r, f.rate_limit_rate);
    bool failed = sim_rng_chance(&r, f.error_rate);
    bool wrong = sim_rng_chance(&r, f.wrong_types_rate);

    if (broker)
        sim_world_sleep_ms(w, f.latency_ms);
    if (sim_routes_needs_auth(m.route) && !authorised(h, c)) {
        sim_world_count(w, SIM_STAT_UNAUTHORIZED);
        log_request(h, method, url, rc, 401, NULL);
        return send_json(c, 401,
                         sim_json_error("UnauthorizedError", "missing or wrong auth-token header"),
                         -1, NULL);
    }
    if (broker && drop) {
        sim_world_count(w, SIM_STAT_FAULT_DROP);
        log_request(h, method, url, rc, 0, "[dropped]");
        return MHD_NO; /* MHD closes the connection without a reply */
    }
    if (broker && limited) {
        sim_world_count(w, SIM_STAT_FAULT_RATE_LIMIT);
        log_request(h, method, url, rc, 429, "[rate limit]");
        return send_json(c, 429, sim_json_rate_limited(clock_now_ms(), f.retry_after),
                         f.retry_after, NULL);
    }
    if (broker && failed) {
        sim_world_count(w, SIM_STAT_FAULT_ERROR);
        log_request(h, method, url, rc, 500, "[error]");
        return send_json(c, 500, sim_json_error("InternalError", "simulated internal error"), -1,
                         NULL);
    }

    sim_request rq = {.header = request_header,
                      .conn = c,
                      .method = method,
                      .path = url,
                      .body = rc->body ? rc->body : "",
                      .body_len = rc->len,
                      .body_too_big = rc->too_big,
                      .offset = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "offset"),
                      .limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit")};
    sim_reply rep;
    sim_routes_handle(w, &m, &rq, &f, &rep);
    const char *note = NULL;
    long retry_after = rep.has_retry_after ? rep.retry_after : -1;
    if (rep.text) { /* a raw body (Slack's "ok"): sent as it is, never spoiled */
        char *text = rep.text;
        rep.text = NULL;
        sim_reply_free(&rep);
        log_request(h, method, url, rc, rep.status, NULL);
        return send_typed(c, rep.status, text, strlen(text),
                          rep.content_type ? rep.content_type : "text/plain", retry_after,
                          rep.allow);
    }
    if (broker && rep.status == 200 && rep.json && wrong) {
        sim_world_count(w, SIM_STAT_FAULT_WRONG_TYPES);
        note = "[wrong types]";
        if (sim_json_wrong_types(rep.json, sim_rng_next(&r)) != 0) {
            cJSON_Delete(rep.json);
            rep.json = NULL;
        }
    }
    char *body = rep.json ? cJSON_PrintUnformatted(rep.json) : NULL;
    cJSON_Delete(rep.json);
    if (!body) {
        log_request(h, method, url, rc, 0, "[out of memory]");
        return MHD_NO;
    }
    size_t len = strlen(body);
    if (broker && rep.status == 200)
        body = spoil(w, &r, &f, body, &len, &note);
    log_request(h, method, url, rc, rep.status, note);
    return send_body(c, rep.status, body, len, retry_after, rep.allow);
}

static int append_body(req_ctx *rc, const char *data, size_t n)
{
    if (rc->too_big || rc->len + n > SIM_ROUTES_MAX_BODY) {
        rc->too_big = true; /* keep reading, answer 413 at the end */
        return 0;
    }
    char *nb = realloc(rc->body, rc->len + n + 1);
    if (!nb)
        return -1;
    memcpy(nb + rc->len, data, n);
    rc->len += n;
    nb[rc->len] = '\0';
    rc->body = nb;
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    req_ctx *rc = *con_cls;
    if (!rc) {
        rc = calloc(1, sizeof *rc);
        if (!rc)
            return MHD_NO;
        rc->start_us = clock_mono_us();
        *con_cls = rc;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (append_body(rc, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return respond(cls, c, rc, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    req_ctx *rc = *con_cls;
    if (rc) {
        free(rc->body);
        free(rc);
        *con_cls = NULL;
    }
}

/* MHD reports dropped connections as errors; only --verbose wants to see them. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    const sim_http *h = cls;
    if (!h->verbose)
        return;
    fputs("tradeops-sim: libmicrohttpd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

sim_http *sim_http_start(sim_world *w, const sim_http_config *cfg, char *err, size_t errlen)
{
    sim_http *h = calloc(1, sizeof *h);
    if (!h || !(h->token = strdup(cfg->token))) {
        free(h);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->world = w;
    h->token_len = strlen(h->token);
    h->verbose = cfg->verbose;
    int fd = open_listener(cfg, &h->port, err, errlen);
    if (fd < 0) {
        free(h->token);
        free(h);
        return NULL;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (strchr(cfg->listen, ':'))
        flags |= MHD_USE_IPv6;
    /* The logger goes first: MHD logs through its default until it sees it. */
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK_BYTES, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "libmicrohttpd would not start on %s port %d", cfg->listen, h->port);
        close(fd);
        free(h->token);
        free(h);
        return NULL;
    }
    return h;
}

int sim_http_port(const sim_http *h)
{
    return h->port;
}

void sim_http_stop(sim_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    OPENSSL_cleanse(h->token, h->token_len);
    free(h->token);
    free(h);
}
