/*
 * th.c - see th.h.
 */
#include "th.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "migrate.h"

/* A control or broker request to the simulator never takes this long. */
#define TH_HTTP_TIMEOUT_MS 10000

#define TH_SIM_START_MS 10000
#define TH_TOKEN "test-token-7f3a"

const char *th_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        cr_skip_test("%s is not set: run the suite with `make test`", name);
    return v;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

bool th_wait_until(bool (*pred)(void *), void *arg, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        if (pred(arg))
            return true;
        sleep_ms(20);
    }
    return pred(arg);
}

#define TH_SENTINEL "__th_sentinel__"

int th_notifies(PGconn *listener, PGconn *sender, const char *channel, char **extras,
                size_t max, size_t *n, int timeout_ms)
{
    *n = 0;
    char sql[256];
    snprintf(sql, sizeof sql, "notify %s, '" TH_SENTINEL "'", channel);
    PGresult *r = PQexec(sender, sql);
    bool sent = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!sent)
        return -1;
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        PQconsumeInput(listener);
        for (PGnotify *nt; (nt = PQnotifies(listener)) != NULL; PQfreemem(nt)) {
            if (strcmp(nt->relname, channel) != 0)
                continue;
            if (strcmp(nt->extra, TH_SENTINEL) == 0) {
                PQfreemem(nt);
                return 0;
            }
            if (*n < max)
                extras[(*n)++] = strdup(nt->extra);
        }
        sleep_ms(10);
    }
    return -1;
}

int th_sim_start(th_sim *s, const char *const *extra_args)
{
    memset(s, 0, sizeof *s);
    const char *bin = getenv("BIN_SIM");
    if (!bin || !*bin)
        bin = "./tradeops-sim";
    char portfile[128];
    snprintf(portfile, sizeof portfile, "/tmp/tradeops-sim-port.%d.%ld", (int)getpid(),
             (long)random());
    unlink(portfile);
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--token";
    argv[n++] = TH_TOKEN;
    for (int i = 0; extra_args && extra_args[i] && n < 62; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* A test that crashes never calls th_sim_stop: the simulator goes
         * with it, instead of living on with the suite's output pipe open
         * (which would keep `make test` waiting for an end of file). */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        execv(bin, (char *const *)argv);
        fprintf(stderr, "th: cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    s->pid = pid;
    for (int waited = 0; waited < TH_SIM_START_MS; waited += 20) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int port = 0;
            int ok = fscanf(f, "%d", &port) == 1 && port > 0;
            fclose(f);
            if (ok) {
                unlink(portfile);
                s->port = port;
                snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", port);
                snprintf(s->token, sizeof s->token, "%s", TH_TOKEN);
                return 0;
            }
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "th: simulator exited during start-up\n");
            s->pid = 0;
            return -1;
        }
        sleep_ms(20);
    }
    fprintf(stderr, "th: simulator did not write its port within %d ms\n", TH_SIM_START_MS);
    th_sim_stop(s);
    return -1;
}

void th_sim_stop(th_sim *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 250; i++) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        sleep_ms(20);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

/* A bare HTTP/1.0 POST over loopback: the harness must not depend on the
 * code under test (libcurl use in src/) to drive the simulator. */
int th_sim_control(const th_sim *s, const char *path, const char *json)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\nauth-token: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     path, s->token, strlen(json), json);
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    char resp[512] = "";
    ssize_t got = read(fd, resp, sizeof resp - 1);
    close(fd);
    if (got <= 0)
        return -1;
    resp[got] = '\0';
    int status = 0;
    if (sscanf(resp, "HTTP/%*s %d", &status) != 1)
        return -1;
    return status >= 200 && status < 300 ? 0 : -1;
}

typedef struct th_body {
    char *p;
    size_t n;
} th_body;

static size_t th_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    th_body *b = arg;
    size_t n = size * nmemb;
    char *np = realloc(b->p, b->n + n + 1);
    if (!np)
        return 0;
    memcpy(np + b->n, data, n);
    b->p = np;
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

char *th_sim_request(const th_sim *s, const char *method, const char *path, const char *json,
                     long *status)
{
    char url[512], auth[128];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    snprintf(auth, sizeof auth, "auth-token: %s", s->token);
    *status = 0;
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    th_body b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TH_HTTP_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, th_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (json)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "th_sim_request %s %s: %s\n", method, path, curl_easy_strerror(rc));
        free(b.p);
        return NULL;
    }
    if (!b.p)
        b.p = calloc(1, 1);
    return b.p;
}

int th_sim_http(const th_sim *s, const char *method, const char *path, const char *content_type,
                const char *body, bool with_auth, long timeout_ms, th_reply *out)
{
    char url[1024], auth[128], ctype[160];
    memset(out, 0, sizeof *out);
    if ((size_t)snprintf(url, sizeof url, "%s%s", s->url, path) >= sizeof url)
        return -1;
    snprintf(auth, sizeof auth, "auth-token: %s", s->token);
    /* "Content-Type:" with nothing after it makes curl send no such header. */
    snprintf(ctype, sizeof ctype, "Content-Type:%s%s", content_type ? " " : "",
             content_type ? content_type : "");
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    struct curl_slist *h = curl_slist_append(NULL, ctype);
    if (with_auth)
        h = curl_slist_append(h, auth);
    th_body b = {0}, hd = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, th_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, th_on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hd);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        out->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        out->status = 0;
        free(b.p);
        free(hd.p);
        return -1;
    }
    out->body = b.p ? b.p : calloc(1, 1);
    out->body_len = b.n;
    out->headers = hd.p ? hd.p : calloc(1, 1);
    return out->body && out->headers ? 0 : -1;
}

void th_reply_free(th_reply *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

bool th_reply_header(const th_reply *r, const char *name, char *buf, size_t buflen)
{
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vlen = (size_t)(line + len - v);
            while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
                vlen--;
            snprintf(buf, buflen, "%.*s", (int)vlen, v);
            return true;
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

static char *conninfo_for(const char *base, const char *dbname)
{
    size_t n = strlen(base) + strlen(dbname) + 16;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s dbname=%s", base, dbname);
    return s;
}

char *th_db_fresh(void)
{
    const char *base = th_env("TRADEOPS_TEST_PG");
    static int counter;
    char name[64];
    snprintf(name, sizeof name, "t_%d_%d_%ld", (int)getpid(), counter++, (long)(random() % 100000));
    char *admin = conninfo_for(base, "postgres");
    PGconn *c = PQconnectdb(admin);
    free(admin);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "th: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "create database %s", name);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "th: %s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    if (!ok)
        return NULL;
    char *ci = conninfo_for(base, name);
    c = PQconnectdb(ci);
    char err[512];
    int applied;
    if (PQstatus(c) != CONNECTION_OK || migrate_up(c, &applied, err, sizeof err) != 0) {
        fprintf(stderr, "th: migrating %s failed: %s\n", name, err);
        PQfinish(c);
        free(ci);
        return NULL;
    }
    PQfinish(c);
    return ci;
}

void th_db_drop(char *conninfo)
{
    if (!conninfo)
        return;
    const char *p = strstr(conninfo, "dbname=");
    const char *base = getenv("TRADEOPS_TEST_PG");
    if (p && base) {
        char *admin = conninfo_for(base, "postgres");
        PGconn *c = PQconnectdb(admin);
        free(admin);
        char sql[160];
        snprintf(sql, sizeof sql, "drop database if exists %s with (force)", p + 7);
        PQclear(PQexec(c, sql));
        PQfinish(c);
    }
    free(conninfo);
}
