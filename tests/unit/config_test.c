/* config_test.c - the cluster file: a full file read back value by value,
 * and every kind of mistake reported at the right file:line:column. */
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../testlib.h"
#include "gp_config.h"

static const char good[] =
    "cluster: lab\n"
    "nodes:\n"
    "  - {id: 1, client: \"tcp://127.0.0.1:7101\", peer: \"tcp://127.0.0.1:7201\"}\n"
    "  - id: 0\n"
    "    client: tcp://127.0.0.1:7100\n"
    "    peer: ipc:///tmp/gpdot-0.peer\n"
    "defaults:\n"
    "  heartbeat_ms: 250\n"
    "  peer_timeout_ms: 2000\n"
    "  workers: 2\n"
    "  state_dir: /tmp/gpdot-state\n"
    "faults:\n"
    "  seed: 42\n"
    "  rules:\n"
    "    - {node: 1, op: update, probability: 0.25, magnitude: 1e3}\n"
    "    - {node: all, op: multiply, probability: 1}\n"
    "code: {scheme: gpd, m: 2, n: 3, orientation: col}\n";

static void full_file(void)
{
    gp_config c;
    gp_msg why = {{0}};
    gp_err e = gp_config_parse(good, sizeof good - 1, "lab.yaml", &c, &why);
    REQUIRE(e == GP_OK);
    CHECK(!strcmp(c.cluster, "lab") && c.nnodes == 2);
    CHECK(c.nodes[0].id == 0 && !strcmp(c.nodes[0].client, "tcp://127.0.0.1:7100"));
    CHECK(!strcmp(c.nodes[0].peer, "ipc:///tmp/gpdot-0.peer"));
    CHECK(c.nodes[1].id == 1 && !strcmp(c.nodes[1].peer, "tcp://127.0.0.1:7201"));
    CHECK(c.heartbeat_ms == 250 && c.peer_timeout_ms == 2000 && c.workers == 2);
    CHECK(c.blas_threads == 1 && c.max_message == (int64_t)1 << 28); /* defaults */
    CHECK(!strcmp(c.state_dir, "/tmp/gpdot-state"));
    CHECK(!strcmp(c.code_scheme, "gpd") && c.code_m == 2 && c.code_n == 3 &&
          !strcmp(c.code_orientation, "col"));
    CHECK(c.fault_seed == 42 && c.nrules == 2);
    CHECK(c.rules[0].node == 1 && c.rules[0].op == GP_FAULT_UPDATE &&
          c.rules[0].probability == 0.25 && c.rules[0].magnitude == 1e3);
    CHECK(c.rules[1].node == -1 && c.rules[1].op == GP_FAULT_MULTIPLY &&
          c.rules[1].probability == 1 && c.rules[1].magnitude == 1.0);
}

/* Replaces line `line` (1-based) of the good file with `text` (may hold
 * several lines), or appends it with line 0; parses; checks the error. */
static void expect(int line, const char *text, const char *want_at, const char *want_text)
{
    char buf[4096] = "";
    const char *p = good;
    int ln = 1;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = (size_t)(e - p) + 1;
        if (ln == line)
            strcat(buf, text);
        else
            strncat(buf, p, n);
        p += n;
        ln++;
    }
    if (line == 0) strcat(buf, text);
    gp_config c;
    gp_msg why = {{0}};
    gp_err e = gp_config_parse(buf, strlen(buf), "c.yaml", &c, &why);
    CHECKF(e == GP_EINVAL, "line %d '%s': got %s", line, text, gp_errname(e));
    CHECKF(strncmp(why.text, want_at, strlen(want_at)) == 0 && strstr(why.text, want_text),
           "line %d: got '%s', want '%s...%s'", line, why.text, want_at, want_text);
}

static void mistakes(void)
{
    expect(1, "clusterr: lab\n", "c.yaml:1:1:", "unknown key 'clusterr'");
    expect(8, "  heartbeat: 250\n", "c.yaml:8:3:", "unknown key 'heartbeat' in defaults");
    expect(8, "  heartbeat_ms: fast\n", "c.yaml:8:17:", "must be an integer");
    expect(8, "  heartbeat_ms: 5\n", "c.yaml:8:17:", "between 10 and 60000");
    expect(8, "  heartbeat_ms: 1500\n", "c.yaml:", "at least twice heartbeat_ms");
    expect(10, "  workers: 2\n  workers: 3\n", "c.yaml:11:3:", "given twice");
    expect(3, "  - {id: 1, client: \"tcp://127.0.0.1\", peer: \"tcp://127.0.0.1:7201\"}\n",
           "c.yaml:3:21:", "host and a port");
    expect(3, "  - {id: 1, client: \"http://x:1\", peer: \"tcp://127.0.0.1:7201\"}\n",
           "c.yaml:3:21:", "ZeroMQ endpoint");
    expect(3, "  - {id: 1, client: \"tcp://127.0.0.1:7100\", peer: \"tcp://127.0.0.1:7201\"}\n",
           "c.yaml:3:5:", "used twice");
    expect(3, "  - {id: 0, client: \"tcp://127.0.0.1:7101\", peer: \"tcp://127.0.0.1:7201\"}\n",
           "c.yaml:4:5:", "node id 0 appears twice");
    expect(3, "  - {id: 2, client: \"tcp://127.0.0.1:7101\", peer: \"tcp://127.0.0.1:7201\"}\n",
           "c.yaml:3:3:", "1 is missing");
    expect(3, "  - {id: 1, client: \"tcp://127.0.0.1:7101\"}\n",
           "c.yaml:3:5:", "needs 'id', 'client' and 'peer'");
    expect(3,
           "  - {id: 1, client: \"tcp://127.0.0.1:7101\", peer: \"tcp://127.0.0.1:7201\", x: 1}\n",
           "c.yaml:3:75:", "unknown key 'x' in a node");
    expect(15, "    - {node: 1, op: flip, probability: 0.25}\n",
           "c.yaml:15:21:", "'op' must be one of");
    expect(15, "    - {node: 1, op: update, probability: 1.5}\n",
           "c.yaml:15:42:", "'probability' is 1.5");
    expect(15, "    - {node: 1, op: update, probability: 0.5, magnitude: 0}\n",
           "c.yaml:15:58:", "'magnitude' is 0");
    expect(15, "    - {node: 7, op: update, probability: 0.5}\n",
           "c.yaml:", "names node 7; the cluster has 2");
    expect(15, "    - {node: me, op: update, probability: 0.5}\n",
           "c.yaml:15:14:", "node id or all");
    expect(15, "    - {node: 1, op: update}\n", "c.yaml:15:7:", "needs 'op' and 'probability'");
    expect(5, "    client: [tcp://127.0.0.1:7100\n", "c.yaml:", ""); /* YAML syntax */
    expect(0, "extra: {\n", "c.yaml:", "");                          /* unterminated */
    expect(17, "code: {scheme: fancy}\n", "c.yaml:17:16:", "'scheme' must be gpd");
    expect(17, "code: {m: 2}\n", "c.yaml:17:7:", "'code' needs a 'scheme'");
    expect(17, "code: {scheme: gpd, m: 30}\n", "c.yaml:17:24:", "between 1 and 24");
}

/* Whole documents, for mistakes in the file's shape. */
static void shapes(void)
{
    const struct {
        const char *doc, *at, *text;
    } cases[] = {
        {"nodes: 3\n", "s.yaml:1:8:", "'nodes' must be a list"},
        {"nodes: []\n", "s.yaml:1:8:", "'nodes' is empty"},
        {"cluster: x\n", "s.yaml:1:1:", "needs 'nodes'"},
        {"- 1\n- 2\n", "s.yaml:1:1:", "the cluster file must be a mapping"},
        {"nodes:\n  - {id: 0, client: \"tcp://a:1\", peer: \"tcp://a:2\"}\ndefaults: [1, 2]\n",
         "s.yaml:3:11:", "defaults must be a mapping"},
        {"nodes:\n  - {id: 0, client: \"tcp://a:1\", peer: \"tcp://a:2\"}\nfaults: {rules: 3}\n",
         "s.yaml:3:17:", "'rules' must be a list"},
        {"", "s.yaml", "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gp_config c;
        gp_msg why = {{0}};
        gp_err e = gp_config_parse(cases[i].doc, strlen(cases[i].doc), "s.yaml", &c, &why);
        CHECKF(e == GP_EINVAL && strncmp(why.text, cases[i].at, strlen(cases[i].at)) == 0 &&
                   strstr(why.text, cases[i].text),
               "case %zu: %s: '%s'", i, gp_errname(e), why.text);
    }
}

static void files(void)
{
    gp_config c;
    gp_msg why = {{0}};
    CHECK(gp_config_load("/nonexistent/cluster.yaml", &c, &why) == GP_EIO);
    CHECK(strstr(why.text, "/nonexistent/cluster.yaml") != NULL);
    char path[] = "/tmp/gpdot-config-test-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    CHECK(write(fd, good, sizeof good - 1) == (ssize_t)(sizeof good - 1));
    close(fd);
    CHECK(gp_config_load(path, &c, &why) == GP_OK && c.nnodes == 2);
    fd = open(path, O_WRONLY | O_TRUNC); /* now empty */
    close(fd);
    CHECK(gp_config_load(path, &c, &why) == GP_EINVAL);
    CHECK(strstr(why.text, "empty") != NULL);
    /* the cluster file's limit is 16 MiB: a comment of exactly that size is
     * read (and is an empty document), one byte more is refused unread */
    size_t max = (size_t)16 << 20;
    char *big = malloc(max + 1);
    REQUIRE(big);
    memset(big, '#', max);
    big[max] = '\n';
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(write(fd, big, max) == (ssize_t)max);
    close(fd);
    CHECK(gp_config_load(path, &c, &why) == GP_EINVAL && strstr(why.text, "empty"));
    fd = open(path, O_WRONLY | O_APPEND);
    CHECK(write(fd, big + max, 1) == 1);
    close(fd);
    CHECK(gp_config_load(path, &c, &why) == GP_EINVAL &&
          strstr(why.text, "larger than 16777216 bytes; not a cluster file"));
    free(big);
    unlink(path);
}

/* The security section, node keys and key pair files. */
#define K0 "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define K1 "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define K2 "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
#define SNODES                                                                                     \
    "nodes:\n"                                                                                     \
    "  - {id: 0, client: \"tcp://a:1\", peer: \"tcp://a:2\", public_key: \"" K0 "\"}\n"            \
    "  - {id: 1, client: \"tcp://a:3\", peer: \"tcp://a:4\", public_key: \"" K1 "\"}\n"

static void security(void)
{
    static const char doc[] =
        SNODES "security:\n  clients:\n    - {name: alice, public_key: \"" K2 "\"}\n";
    gp_config c;
    gp_msg why = {{0}};
    REQUIRE(gp_config_parse(doc, sizeof doc - 1, "s.yaml", &c, &why) == GP_OK);
    CHECK(c.curve && c.nclients == 1 && !strcmp(c.clients[0].name, "alice"));
    CHECK(!strcmp(c.clients[0].public_key, K2) && !strcmp(c.nodes[1].public_key, K1));
    CHECK(gp_config_parse(good, sizeof good - 1, "g.yaml", &c, &why) == GP_OK && !c.curve);
    const struct {
        const char *doc, *at, *text;
    } cases[] = {
        {SNODES, "s.yaml:", "has a 'public_key' but the file has no 'security'"},
        {SNODES "security: {clients: []}\n", "s.yaml:4:11:", "needs 'clients'"},
        {SNODES "security: {clients: [{name: a}]}\n",
         "s.yaml:4:22:", "needs 'name' and 'public_key'"},
        {SNODES "security: {clients: [{name: a, public_key: \"short\"}]}\n",
         "s.yaml:4:44:", "must be a CURVE public key"},
        {SNODES "security: {clients: [{name: \"a b\", public_key: \"" K2 "\"}]}\n",
         "s.yaml:4:29:", "letters, digits"},
        {SNODES "security: {clients: [{name: a, public_key: \"" K2
                "\"}, {name: b, public_key: \"" K2 "\"}]}\n",
         "s.yaml:4:89:", "repeats the name or key of client 'a'"},
        {SNODES "security: {clients: [{name: a, public_key: \"" K2 "\"}], x: 1}\n",
         "s.yaml:4:90:", "unknown key 'x' in security"},
        {"nodes:\n  - {id: 0, client: \"tcp://a:1\", peer: \"tcp://a:2\", public_key: \"" K0
         "\"}\n  - {id: 1, client: \"tcp://a:3\", peer: \"tcp://a:4\"}\n"
         "security: {clients: [{name: a, public_key: \"" K2 "\"}]}\n",
         "s.yaml:", "every node needs a 'public_key' (node 1 has none)"},
        {"nodes:\n  - {id: 0, client: \"tcp://a:1\", peer: \"tcp://a:2\", public_key: \"" K0
         "\"}\n  - {id: 1, client: \"tcp://a:3\", peer: \"tcp://a:4\", public_key: \"" K0 "\"}\n"
         "security: {clients: [{name: a, public_key: \"" K2 "\"}]}\n",
         "s.yaml:", "nodes 0 and 1 have the same public_key"},
        /* a key with a character outside Z85 */
        {"nodes:\n  - {id: 0, client: \"tcp://a:1\", peer: \"tcp://a:2\", public_key: "
         "\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf,\"}\n",
         "s.yaml:2:65:", "must be a CURVE public key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gp_err e = gp_config_parse(cases[i].doc, strlen(cases[i].doc), "s.yaml", &c, &why);
        CHECKF(e == GP_EINVAL && strncmp(why.text, cases[i].at, strlen(cases[i].at)) == 0 &&
                   strstr(why.text, cases[i].text),
               "case %zu: %s: '%s'", i, gp_errname(e), why.text);
    }
}

static void key_files(void)
{
    char dir[] = "/tmp/gpdot-keys-test-XXXXXX", path[128], pubpath[140];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/k.key", dir);
    snprintf(pubpath, sizeof pubpath, "%s/k.key.pub", dir);
    gp_msg why = {{0}};
    CHECK(gp_key_valid(K0) && !gp_key_valid("abc") && !gp_key_valid(K0 "x"));
    CHECK(gp_keypair_save(path, K0, K1, false, &why) == GP_OK);
    CHECK(gp_keypair_save(path, K0, K1, false, &why) == GP_EIO); /* never replaced */
    char pub[41], sec[41];
    CHECK(gp_keypair_load(path, pub, sec, &why) == GP_OK && !strcmp(pub, K0) && !strcmp(sec, K1));
    CHECK(gp_keypair_load(pubpath, pub, sec, &why) == GP_EINVAL); /* mode 0644 */
    chmod(pubpath, 0600);
    CHECK(gp_keypair_load(pubpath, pub, sec, &why) == GP_EFORMAT && strstr(why.text, "secret_key"));
    FILE *f = fopen(path, "w");
    fputs("public_key: \"" K0 "\"\nsecret_key: \"tooshort\"\n", f);
    fclose(f);
    CHECK(gp_keypair_load(path, pub, sec, &why) == GP_EFORMAT && strstr(why.text, "k.key:2:"));
    chmod(path, 0640);
    CHECK(gp_keypair_load(path, pub, sec, &why) == GP_EINVAL && strstr(why.text, "chmod 600"));
    unlink(path);
    unlink(pubpath);
    rmdir(dir);
}

static const test_case cases[] = {
    {"full_file", full_file}, {"security", security}, {"key_files", key_files},
    {"mistakes", mistakes},   {"shapes", shapes},     {"files", files},
};

TEST_MAIN(cases)
