/* Reading the configuration files (docs/bus-api.md, "Configuration files"): the
 * values and defaults, the order of the transports, and for every kind of
 * mistake the exact file, line and key in the message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>

#include "config.h"
#include "mailspool-bus.h"

#define ALL_REMOTE_METHODS                                                                         \
        (MAILSPOOL_STATUS_VALIDATE_STATE | MAILSPOOL_STATUS_CHANGE_PASSWORD |                      \
         MAILSPOOL_STATUS_FLUSH_QUEUES)

/* One scratch tree per test: ROOT/etc is the config dir, ROOT/state the
 * state dir. */
struct fixture {
        char *root;
        char *config_dir;
        char *state_dir;
        struct spool_config config;
        char *error;
};

static char *join(const char *a, const char *b)
{
        char *p;
        if (asprintf(&p, "%s/%s", a, b) < 0)
                fail_msg("out of memory");
        return p;
}

static int setup(void **state)
{
        struct fixture *fx = calloc(1, sizeof(*fx));
        assert_non_null(fx);
        char template[] = "/tmp/test-config-XXXXXX";
        assert_non_null(mkdtemp(template));
        fx->root = strdup(template);
        fx->config_dir = join(fx->root, "etc");
        fx->state_dir = join(fx->root, "state");
        assert_int_equal(mkdir(fx->config_dir, 0755), 0);
        *state = fx;
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

static int teardown(void **state)
{
        struct fixture *fx = *state;
        /* Some tests take permissions away; give them back so that the tree
         * can be removed. */
        _cleanup_free_ char *transports = join(fx->config_dir, "transports.d");
        chmod(transports, 0755);
        assert_int_equal(nftw(fx->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        spool_config_clear(&fx->config);
        free(fx->error);
        free(fx->root);
        free(fx->config_dir);
        free(fx->state_dir);
        free(fx);
        return 0;
}

/* Writes CONFIG_DIR/relative with the given mode, creating transports.d. */
static char *write_file(struct fixture *fx, const char *relative, const char *content, mode_t mode)
{
        _cleanup_free_ char *transports = join(fx->config_dir, "transports.d");
        if (mkdir(transports, 0755) < 0 && errno != EEXIST)
                fail_msg("mkdir %s: %m", transports);
        char *path = join(fx->config_dir, relative);
        FILE *f = fopen(path, "we");
        if (!f)
                fail_msg("fopen %s: %m", path);
        fputs(content, f);
        fclose(f);
        assert_int_equal(chmod(path, mode), 0);
        return path;
}

static void write_transport(struct fixture *fx, const char *id, const char *content)
{
        _cleanup_free_ char *name = NULL;
        assert_true(asprintf(&name, "transports.d/%s.conf", id) > 0);
        free(write_file(fx, name, content, 0644));
}

static int load_for(struct fixture *fx, bool session)
{
        spool_config_clear(&fx->config);
        free(fx->error);
        fx->error = NULL;
        return config_load(fx->config_dir, fx->state_dir, session, &fx->config, &fx->error);
}

static int load(struct fixture *fx)
{
        return load_for(fx, true);
}

/* Loads and fails the test with the message if that does not work. */
static void load_ok(struct fixture *fx)
{
        int r = load(fx);
        if (r < 0)
                fail_msg("config_load: %s (%s)", fx->error ? fx->error : "no message",
                         strerror(-r));
        assert_null(fx->error);
}

/* Expects -EINVAL and exactly CONFIG_DIR/relative + suffix as the message. */
static void assert_error(struct fixture *fx, const char *relative, const char *suffix)
{
        int r = load(fx);
        _cleanup_free_ char *expected = NULL;
        assert_true(asprintf(&expected, "%s/%s%s", fx->config_dir, relative, suffix) > 0);
        if (r != -EINVAL || !fx->error || strcmp(fx->error, expected) != 0)
                fail_msg("expected %s (EINVAL),\n     got %s (%s)", expected,
                         fx->error ? fx->error : "(no message)", strerror(-r));
        /* Nothing is handed out on failure. */
        assert_int_equal(fx->config.n_transports, 0);
        assert_null(fx->config.transports);
}

/* The message one transports.d/work.conf with content gets. */
static void assert_work_error(struct fixture *fx, const char *content, const char *suffix)
{
        write_transport(fx, "work", content);
        assert_error(fx, "transports.d/work.conf", suffix);
}

static void assert_path(const char *actual, const char *dir, const char *relative)
{
        _cleanup_free_ char *expected = join(dir, relative);
        assert_non_null(actual);
        assert_string_equal(actual, expected);
}

static const struct transport_config *find(struct fixture *fx, const char *id)
{
        const struct transport_config *t = spool_config_find(&fx->config, id);
        if (!t)
                fail_msg("no transport \"%s\"", id);
        return t;
}

static void assert_order(struct fixture *fx, const char *const *ids, size_t n)
{
        assert_int_equal(fx->config.n_transports, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(fx->config.transports[i].id, ids[i]);
}

static void assert_builtin(struct fixture *fx)
{
        assert_true(fx->config.builtin);
        assert_int_equal(fx->config.n_transports, 1);
        const struct transport_config *t = &fx->config.transports[0];
        assert_string_equal(t->id, CONFIG_BUILTIN_TRANSPORT_ID);
        assert_null(t->file);
        assert_int_equal(t->kind, TRANSPORT_MAILDIR);
        assert_string_equal(t->display_name, "local");
        assert_string_equal(t->identity, "");
        assert_null(t->server);
        assert_null(t->user);
        assert_null(t->password_file);
        assert_true(t->is_default);
        assert_int_equal(t->send_mode, SEND_IMMEDIATE);
        assert_int_equal(t->poll_interval, 300);
        assert_false(t->asynchronous);
        assert_int_equal(t->methods, MAILSPOOL_STATUS_VALIDATE_STATE);
        assert_path(t->maildir, fx->state_dir, "mail/local");
        assert_path(t->pickup, fx->state_dir, "pickup/local");
}

/* ---- the built-in default ---- */

static void test_missing_dir_gives_builtin(void **state)
{
        struct fixture *fx = *state;
        assert_int_equal(rmdir(fx->config_dir), 0);
        load_ok(fx);
        assert_builtin(fx);
        assert_null(fx->config.admin_group);
        assert_int_equal(fx->config.max_message_size, CONFIG_DEFAULT_MAX_MESSAGE_SIZE);
}

static void test_empty_dir_gives_builtin(void **state)
{
        struct fixture *fx = *state;
        load_ok(fx);
        assert_builtin(fx);

        /* transports.d without a single *.conf is no different. */
        free(write_file(fx, "transports.d/README", "not a transport\n", 0644));
        free(write_file(fx, "transports.d/.hidden.conf", "garbage\n", 0644));
        load_ok(fx);
        assert_builtin(fx);
}

/* mailspool.conf alone keeps its settings and still gets the built-in transport,
 * which TransportOrder may name. */
static void test_spooler_file_without_transports(void **state)
{
        struct fixture *fx = *state;
        free(write_file(fx, "mailspool.conf",
                        "[Spooler]\nAdminGroup=mailadm\nTransportOrder=local\n", 0644));
        load_ok(fx);
        assert_builtin(fx);
        assert_string_equal(fx->config.admin_group, "mailadm");
}

/* ---- values and defaults ---- */

/* docs/bus-api.md's example, with every key it leaves out at its default. */
static void test_api_example(void **state)
{
        struct fixture *fx = *state;
        write_transport(fx, "work",
                        "[Transport]\n"
                        "Kind=smtp\n"
                        "DisplayName=Work mail\n"
                        "Identity=alice@example.org\n"
                        "Server=smtp://127.0.0.1:2525\n"
                        "StartTLS=no\n"
                        "SendMode=on-demand\n");
        load_ok(fx);

        assert_false(fx->config.builtin);
        assert_null(fx->config.admin_group);
        assert_int_equal(fx->config.max_message_size, 52428800);
        assert_int_equal(fx->config.n_transports, 1);
        const struct transport_config *t = &fx->config.transports[0];
        assert_ptr_equal(t, find(fx, "work"));
        assert_string_equal(t->id, "work");
        assert_path(t->file, fx->config_dir, "transports.d/work.conf");
        assert_int_equal(t->kind, TRANSPORT_SMTP);
        assert_string_equal(t->display_name, "Work mail");
        assert_string_equal(t->identity, "alice@example.org");
        assert_string_equal(t->server, "smtp://127.0.0.1:2525");
        assert_null(t->user);
        assert_null(t->password_file);
        assert_int_equal(t->starttls, STARTTLS_NO);
        assert_true(t->is_default); /* the first (and only) outbound transport */
        assert_int_equal(t->send_mode, SEND_ON_DEMAND);
        assert_int_equal(t->poll_interval, 300);
        assert_false(t->asynchronous);
        assert_int_equal(t->methods, ALL_REMOTE_METHODS);
        assert_int_equal(t->max_connections, 4);
        assert_path(t->maildir, fx->state_dir, "mail/work");
        assert_null(t->pickup);
        assert_null(spool_config_find(&fx->config, "local"));
}

static void test_minimal_defaults(void **state)
{
        struct fixture *fx = *state;
        write_transport(fx, "in", "[Transport]\nKind=imap\nServer=imaps://mail.example.org\n");
        write_transport(fx, "drop", "[Transport]\nKind=maildir\n");
        load_ok(fx);

        const struct transport_config *in = find(fx, "in");
        assert_string_equal(in->display_name, "in");
        assert_string_equal(in->identity, "");
        assert_int_equal(in->starttls, STARTTLS_YES);
        assert_int_equal(in->send_mode, SEND_IMMEDIATE);
        assert_false(in->is_default); /* imap cannot send */
        assert_int_equal(in->methods, ALL_REMOTE_METHODS);
        assert_null(in->pickup);
        assert_true(in->idle); /* push where the server offers it */

        const struct transport_config *drop = find(fx, "drop");
        assert_null(drop->server);
        assert_true(drop->is_default);
        assert_int_equal(drop->methods, MAILSPOOL_STATUS_VALIDATE_STATE);
        assert_path(drop->maildir, fx->state_dir, "mail/drop");
        assert_path(drop->pickup, fx->state_dir, "pickup/drop");
}

static void test_every_key_set(void **state)
{
        struct fixture *fx = *state;
        free(write_file(fx, "secret", "hunter2\n", 0600));
        write_transport(fx, "pop",
                        "# comment\n"
                        "[Transport]\n"
                        "Kind = pop3\n"
                        "DisplayName=Old box ; inline comment\n"
                        "Identity=bob@example.net\n"
                        "Server=pop3s://pop.example.net:995\n"
                        "User=bob\n"
                        "PasswordFile=secret\n"
                        "StartTLS=required\n"
                        "Default=no\n"
                        "SendMode=immediate\n"
                        "PollInterval=0\n"
                        "Asynchronous=yes\n"
                        "Methods=flush password\n"
                        "MaxConnections=100\n"
                        "Maildir=boxes/pop\n");
        write_transport(fx, "drop",
                        "[Transport]\n"
                        "Kind=maildir\n"
                        "Methods=\n"
                        "PollInterval=2147483647\n"
                        "MaxConnections=1\n"
                        "Asynchronous=false\n"
                        "Maildir=/srv/mail/drop\n"
                        "Pickup=/srv/pickup/drop\n");
        load_ok(fx);

        const struct transport_config *pop = find(fx, "pop");
        assert_int_equal(pop->kind, TRANSPORT_POP3);
        assert_string_equal(pop->display_name, "Old box");
        assert_string_equal(pop->identity, "bob@example.net");
        assert_string_equal(pop->server, "pop3s://pop.example.net:995");
        assert_string_equal(pop->user, "bob");
        assert_path(pop->password_file, fx->config_dir, "secret");
        assert_int_equal(pop->starttls, STARTTLS_REQUIRED);
        assert_false(pop->is_default);
        assert_int_equal(pop->poll_interval, 0);
        assert_true(pop->asynchronous);
        assert_int_equal(pop->methods,
                         MAILSPOOL_STATUS_FLUSH_QUEUES | MAILSPOOL_STATUS_CHANGE_PASSWORD);
        assert_int_equal(pop->max_connections, 100);
        /* Relative to the config dir, not the state dir. */
        assert_path(pop->maildir, fx->config_dir, "boxes/pop");

        const struct transport_config *drop = find(fx, "drop");
        assert_int_equal(drop->methods, 0); /* empty Methods= means none */
        assert_int_equal(drop->poll_interval, 2147483647u);
        assert_int_equal(drop->max_connections, 1);
        assert_false(drop->asynchronous);
        assert_string_equal(drop->maildir, "/srv/mail/drop");
        assert_string_equal(drop->pickup, "/srv/pickup/drop");
        assert_true(drop->is_default);
}

static void test_spooler_settings(void **state)
{
        struct fixture *fx = *state;
        write_transport(fx, "a", "[Transport]\nKind=maildir\n");
        free(write_file(fx, "mailspool.conf",
                        "[Spooler]\nAdminGroup=mailadm\nMaxMessageSize=18446744073709551615\n"
                        "Notifications=errors\n",
                        0644));
        load_ok(fx);
        assert_string_equal(fx->config.admin_group, "mailadm");
        assert_int_equal(fx->config.max_message_size, UINT64_MAX);
        assert_int_equal(fx->config.notifications, NOTIFICATIONS_ERRORS);
        assert_false(fx->config.builtin);
}

/* ---- order and the default transport ---- */

static void test_file_name_order(void **state)
{
        struct fixture *fx = *state;
        /* strcmp order: 'B' < '_' < 'a'; nothing else counts as a transport. */
        write_transport(fx, "a", "[Transport]\nKind=maildir\n");
        write_transport(fx, "_x", "[Transport]\nKind=maildir\n");
        write_transport(fx, "B", "[Transport]\nKind=maildir\n");
        free(write_file(fx, "transports.d/notes.txt", "x", 0644));
        free(write_file(fx, "transports.d/c.conf.bak", "x", 0644));
        free(write_file(fx, "transports.d/.d.conf", "x", 0644));
        load_ok(fx);
        static const char *const ids[] = {"B", "_x", "a"};
        assert_order(fx, ids, ELEMENTSOF(ids));
        assert_true(fx->config.transports[0].is_default);
        assert_false(fx->config.transports[1].is_default);
        assert_false(fx->config.transports[2].is_default);
}

static void test_transport_order(void **state)
{
        struct fixture *fx = *state;
        write_transport(fx, "a", "[Transport]\nKind=smtp\nServer=smtp://a\n");
        write_transport(fx, "b", "[Transport]\nKind=smtp\nServer=smtp://b\n");
        write_transport(fx, "c", "[Transport]\nKind=imap\nServer=imap://c\n");
        write_transport(fx, "d", "[Transport]\nKind=smtp\nServer=smtp://d\n");
        free(write_file(fx, "mailspool.conf", "[Spooler]\nTransportOrder=c  d\ta\n", 0644));
        load_ok(fx);
        static const char *const ids[] = {"c", "d", "a", "b"};
        assert_order(fx, ids, ELEMENTSOF(ids));
        /* The first outbound transport in that order, not in file-name order. */
        assert_false(find(fx, "c")->is_default);
        assert_true(find(fx, "d")->is_default);
        assert_false(find(fx, "a")->is_default);
}

static void test_explicit_default(void **state)
{
        struct fixture *fx = *state;
        write_transport(fx, "a", "[Transport]\nKind=smtp\nServer=smtp://a\n");
        write_transport(fx, "b", "[Transport]\nKind=smtp\nServer=smtp://b\nDefault=yes\n");
        load_ok(fx);
        assert_false(find(fx, "a")->is_default);
        assert_true(find(fx, "b")->is_default);

        /* Default=no keeps a transport out of the automatic choice. */
        write_transport(fx, "a", "[Transport]\nKind=smtp\nServer=smtp://a\nDefault=no\n");
        write_transport(fx, "b", "[Transport]\nKind=smtp\nServer=smtp://b\n");
        load_ok(fx);
        assert_false(find(fx, "a")->is_default);
        assert_true(find(fx, "b")->is_default);
}

static void test_two_defaults(void **state)
{
        struct fixture *fx = *state;
        write_transport(fx, "a", "[Transport]\nKind=smtp\nServer=smtp://a\nDefault=yes\n");
        write_transport(fx, "b", "[Transport]\nKind=maildir\n\nDefault=true\n");
        _cleanup_free_ char *suffix = NULL;
        assert_true(asprintf(&suffix,
                             ":4: Default: \"a\" (%s/transports.d/a.conf:4) is already the "
                             "default transport",
                             fx->config_dir) > 0);
        assert_error(fx, "transports.d/b.conf", suffix);
}

/* ---- mistakes in transports.d/<id>.conf ---- */

static void test_bad_values(void **state)
{
        struct fixture *fx = *state;
        static const char head[] = "[Transport]\nKind=smtp\nServer=smtp://h\n";
        static const struct {
                const char *line4;
                const char *suffix;
        } cases[] = {
            {"StartTLS=maybe", ":4: StartTLS: expected yes, no or required, got \"maybe\""},
            {"SentCopy=Sent",
             ":4: SentCopy: expected TRANSPORT:MAILBOX (an imap transport and its folder, as "
             "in:Sent), got \"Sent\""},
            {"SentCopy=in:", ":4: SentCopy: expected TRANSPORT:MAILBOX (an imap transport and its "
                             "folder, as in:Sent), got \"in:\""},
            {"SentCopy=a/b:Sent", ":4: SentCopy: expected TRANSPORT:MAILBOX (an imap transport "
                                  "and its folder, as in:Sent), got \"a/b:Sent\""},
            {"SentCopy=nosuch:Sent",
             ":4: SentCopy: unknown transport \"nosuch\" (there is no transports.d/nosuch.conf)"},
            {"StartTLS=YES", ":4: StartTLS: expected yes, no or required, got \"YES\""},
            {"Default=maybe", ":4: Default: expected yes or no, got \"maybe\""},
            {"Asynchronous=2", ":4: Asynchronous: expected yes or no, got \"2\""},
            {"SendMode=later", ":4: SendMode: expected immediate or on-demand, got \"later\""},
            {"PollInterval=-1",
             ":4: PollInterval: expected a number of seconds from 0 to 2147483647, got \"-1\""},
            {"PollInterval=2147483648",
             ":4: PollInterval: expected a number of seconds from 0 to 2147483647, got "
             "\"2147483648\""},
            {"PollInterval=", ":4: PollInterval: expected a number of seconds from 0 to "
                              "2147483647, got \"\""},
            {"PollInterval=0x10", ":4: PollInterval: expected a number of seconds from 0 to "
                                  "2147483647, got \"0x10\""},
            {"MaxConnections=0", ":4: MaxConnections: expected a number from 1 to 100, got \"0\""},
            {"MaxConnections=101",
             ":4: MaxConnections: expected a number from 1 to 100, got \"101\""},
            {"MaxConnections=4x",
             ":4: MaxConnections: expected a number from 1 to 100, got \"4x\""},
            {"Methods=validate settings",
             ":4: Methods: unknown method \"settings\"; expected validate, flush or password"},
            {"DisplayName=", ":4: DisplayName: must not be empty"},
            {"User=", ":4: User: must not be empty"},
            {"Maildir=", ":4: Maildir: expected a directory, got an empty value"},
            {"Colour=blue", ":4: Colour: unknown key in [Transport]"},
            {"kind=smtp", ":4: kind: unknown key in [Transport]"},
            {"Kind=imap", ":4: Kind: set twice (first on line 2)"},
            {"this is not a key", ":4: expected KEY=VALUE, a [Section] header or a comment"},
            {"[Transport", ":4: expected KEY=VALUE, a [Section] header or a comment"},
            {"  StartTLS=no",
             ":4: Server: continuation lines are not supported; remove the indentation"},
            {"[Spooler]\nStartTLS=no",
             ":5: StartTLS: in unknown section [Spooler]; expected [Transport]"},
            {"TLSPinnedKey=abc",
             ":4: TLSPinnedKey: expected sha256//BASE64 (the SHA-256 of the server's public key, "
             "44 characters of base64), got \"abc\""},
            {"TLSPinnedKey=sha256//short=",
             ":4: TLSPinnedKey: expected sha256//BASE64 (the SHA-256 of the server's public key, "
             "44 characters of base64), got \"sha256//short=\""},
            {"DisplayName=\xff", ":4: DisplayName: the value is not valid UTF-8"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *content = NULL;
                assert_true(asprintf(&content, "%s%s\n", head, cases[i].line4) > 0);
                assert_work_error(fx, content, cases[i].suffix);
        }
}

static void test_bad_kind_and_server(void **state)
{
        struct fixture *fx = *state;
        assert_work_error(fx, "[Transport]\nKind=uucp\n",
                          ":2: Kind: expected smtp, imap, pop3 or maildir, got \"uucp\"");
        assert_work_error(fx, "[Transport]\nKind=smtp\nServer=127.0.0.1:25\n",
                          ":3: Server: expected an smtp://, smtps://, imap://, imaps://, "
                          "pop3:// or pop3s:// URL with a host, got \"127.0.0.1:25\"");
        assert_work_error(fx, "[Transport]\nKind=smtp\nServer=smtp://\n",
                          ":3: Server: expected an smtp://, smtps://, imap://, imaps://, "
                          "pop3:// or pop3s:// URL with a host, got \"smtp://\"");
        assert_work_error(fx, "[Transport]\nKind=smtp\nServer=http://example.org\n",
                          ":3: Server: expected an smtp://, smtps://, imap://, imaps://, "
                          "pop3:// or pop3s:// URL with a host, got \"http://example.org\"");
        assert_work_error(fx, "[Transport]\nKind=smtp\nServer=imaps://h\n",
                          ":3: Server: \"imaps://h\" does not fit kind smtp; expected smtp:// "
                          "or smtps://");
        /* Kind after Server: still the Server line. */
        assert_work_error(fx, "[Transport]\nServer=smtps://h\nDisplayName=x\nKind=pop3\n",
                          ":2: Server: \"smtps://h\" does not fit kind pop3; expected pop3:// "
                          "or pop3s://");
        assert_work_error(fx, "[Transport]\nKind=maildir\nServer=smtp://h\n",
                          ":3: Server: Server is not used by kind maildir");
        assert_work_error(fx, "[Transport]\nPickup=/p\nKind=smtp\nServer=smtp://h\n",
                          ":2: Pickup: Pickup is not used by kind smtp");
        assert_work_error(fx, "[Transport]\nKind=maildir\nMethods=validate flush\n",
                          ":3: Methods: \"flush\" is not supported by kind maildir");
        assert_work_error(fx, "[Transport]\nKind=maildir\nMethods=password\n",
                          ":3: Methods: \"password\" is not supported by kind maildir");
        assert_work_error(fx, "[Transport]\nKind=imap\nServer=imap://h\nDefault=yes\n",
                          ":4: Default: kind imap cannot send; only an smtp or maildir "
                          "transport can be the default");
}

/* SentCopy names an imap transport, and only an smtp one has it. */
static void test_sent_copy(void **state)
{
        struct fixture *fx = *state;
        write_transport(fx, "in", "[Transport]\nKind=imap\nServer=imap://h\n");
        write_transport(fx, "work",
                        "[Transport]\nKind=smtp\nServer=smtp://h\nSentCopy=in:Sent Items\n");
        load_ok(fx);
        const struct transport_config *w = &fx->config.transports[1];
        assert_string_equal(w->id, "work");
        assert_string_equal(w->sent_copy_transport, "in");
        assert_string_equal(w->sent_copy_mailbox, "Sent Items");
        spool_config_clear(&fx->config);
        write_transport(fx, "work",
                        "[Transport]\nKind=smtp\nServer=smtp://h\nSentCopy=work:Sent\n");
        assert_error(fx, "transports.d/work.conf",
                     ":4: SentCopy: transport \"work\" is of kind smtp; the copy goes to an imap "
                     "transport");
        write_transport(fx, "work", "[Transport]\nKind=imap\nServer=imap://h\nSentCopy=in:Sent\n");
        assert_error(fx, "transports.d/work.conf",
                     ":4: SentCopy: SentCopy is for kind smtp, not imap");
}

/* Idle= is a boolean of imap transports. */
static void test_idle(void **state)
{
        struct fixture *fx = *state;
        write_transport(fx, "in", "[Transport]\nKind=imap\nServer=imap://h\nIdle=no\n");
        load_ok(fx);
        assert_false(find(fx, "in")->idle);
        spool_config_clear(&fx->config);
        write_transport(fx, "in", "[Transport]\nKind=imap\nServer=imap://h\nIdle=sometimes\n");
        assert_error(fx, "transports.d/in.conf", ":4: Idle: expected yes or no, got \"sometimes\"");
        write_transport(fx, "in", "[Transport]\nKind=pop3\nServer=pop3://h\nIdle=yes\n");
        assert_error(fx, "transports.d/in.conf", ":4: Idle: Idle is for kind imap, not pop3");
}

static void test_missing_keys(void **state)
{
        struct fixture *fx = *state;
        assert_work_error(fx, "[Transport]\nDisplayName=x\n", ": Kind: required key is missing");
        assert_work_error(fx, "", ": Kind: required key is missing");
        assert_work_error(fx, "[Transport]\nKind=smtp\n", ": Server: required key is missing");
        assert_work_error(fx, "[Transport]\nKind=pop3\n", ": Server: required key is missing");
        /* A problem on a line is shown before a missing key. */
        assert_work_error(fx, "[Transport]\nKind=smtp\nStartTLS=maybe\n",
                          ":3: StartTLS: expected yes, no or required, got \"maybe\"");
}

/* The first problem in the file is the one reported, also when it is found only
 * after the whole file has been read. */
static void test_first_error_wins(void **state)
{
        struct fixture *fx = *state;
        assert_work_error(fx, "[Transport]\nKind=smtp\nServer=smtp://h\nStartTLS=x\nSendMode=y\n",
                          ":4: StartTLS: expected yes, no or required, got \"x\"");
        assert_work_error(fx, "[Transport]\nServer=imap://h\nStartTLS=x\nKind=smtp\n",
                          ":2: Server: \"imap://h\" does not fit kind smtp; expected smtp:// "
                          "or smtps://");
        assert_work_error(fx, "[Transport]\nKind=smtp\nServer=smtp://h\nno equals sign\nA=b\n",
                          ":4: expected KEY=VALUE, a [Section] header or a comment");
        assert_work_error(fx, "Kind=smtp\n[Transport]\nServer=smtp://h\n",
                          ":1: Kind: outside of a section; expected [Transport] first");
}

/* libinih's buffer is 200 bytes: 198 characters, the newline and a NUL. */
#define LONGEST_LINE 198

static char *identity_line_file(size_t line_length, char **ret_identity)
{
        size_t n = line_length - (sizeof("Identity=") - 1);
        char *identity = malloc(n + 1);
        assert_non_null(identity);
        memset(identity, 'x', n);
        identity[n] = '\0';
        char *content;
        assert_true(asprintf(&content, "[Transport]\nKind=smtp\nIdentity=%s\nServer=smtp://h\n",
                             identity) > 0);
        *ret_identity = identity;
        return content;
}

static void test_long_line(void **state)
{
        struct fixture *fx = *state;
        _cleanup_free_ char *identity = NULL;
        _cleanup_free_ char *content = identity_line_file(300, &identity);
        assert_work_error(fx, content, ":3: line is longer than 198 characters");

        free(content);
        free(identity);
        content = identity_line_file(LONGEST_LINE + 1, &identity);
        assert_work_error(fx, content, ":3: line is longer than 198 characters");

        free(content);
        free(identity);
        content = identity_line_file(LONGEST_LINE, &identity);
        write_transport(fx, "work", content);
        load_ok(fx);
        assert_string_equal(find(fx, "work")->identity, identity);
}

static void test_password_file(void **state)
{
        struct fixture *fx = *state;
        static const char content[] =
            "[Transport]\nKind=smtp\nServer=smtps://h\nUser=alice\nPasswordFile=pw\n";
        _cleanup_free_ char *pw = write_file(fx, "pw", "secret\n", 0644);

        _cleanup_free_ char *suffix = NULL;
        assert_true(asprintf(&suffix,
                             ":5: PasswordFile: %s must not be readable or writable by group or "
                             "others (mode 0644; chmod 600 it)",
                             pw) > 0);
        assert_work_error(fx, content, suffix);

        assert_int_equal(chmod(pw, 0620), 0); /* writable by the group is no better */
        write_transport(fx, "work", content);
        assert_int_equal(load(fx), -EINVAL);
        assert_non_null(strstr(fx->error, "work.conf:5: PasswordFile: "));
        assert_non_null(strstr(fx->error, "(mode 0620;"));

        assert_int_equal(chmod(pw, 0600), 0);
        load_ok(fx);
        assert_string_equal(find(fx, "work")->password_file, pw);

        assert_int_equal(chmod(pw, 0400), 0);
        load_ok(fx);

        free(suffix);
        suffix = NULL;
        assert_int_equal(unlink(pw), 0);
        assert_true(asprintf(&suffix, ":5: PasswordFile: %s: No such file or directory", pw) > 0);
        assert_error(fx, "transports.d/work.conf", suffix);
}

/* Credentials never go out without TLS (mailspool.conf(5), StartTLS). */
static void test_tls_policy(void **state)
{
        struct fixture *fx = *state;
        static const struct {
                const char *lines;
                enum transport_tls tls;
                bool cleartext;
        } cases[] = {
            {"Server=smtp://h\n", TLS_OPTIONAL, false},
            {"Server=smtp://h\nStartTLS=no\n", TLS_NONE, false},
            {"Server=smtp://h\nUser=a\n", TLS_REQUIRED, false},
            {"Server=smtp://h\nUser=a\nStartTLS=yes\n", TLS_REQUIRED, false},
            {"Server=smtp://h\nUser=a\nStartTLS=no\n", TLS_NONE, true},
            {"Server=smtps://h\nUser=a\nStartTLS=no\n", TLS_IMPLICIT, false},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *content = NULL;
                assert_true(asprintf(&content, "[Transport]\nKind=smtp\n%s", cases[i].lines) > 0);
                write_transport(fx, "work", content);
                load_ok(fx);
                assert_int_equal(find(fx, "work")->tls, cases[i].tls);
                assert_int_equal(find(fx, "work")->cleartext_logon, cases[i].cleartext);
        }
        /* A client certificate needs its key. */
        _cleanup_free_ char *cert = write_file(fx, "client.pem", "x\n", 0644);
        write_transport(fx, "work",
                        "[Transport]\nKind=smtp\nServer=smtps://h\n"
                        "TLSClientCertificate=client.pem\n");
        assert_int_equal(load(fx), -EINVAL);
        assert_non_null(strstr(fx->error, ":4: TLSClientCertificate: TLSClientCertificate and "
                                          "TLSClientKey go together"));
}

/* Where secrets come from (mailspool.conf(5), "Accounts"): one source per
 * transport, an Auth that fits it, commands as argument vectors, and the
 * desktop's stores on a session bus only. */
static void test_secret_sources(void **state)
{
        struct fixture *fx = *state;
#define HEAD "[Transport]\nKind=imap\nServer=imaps://h\nUser=alice\n"
        write_transport(fx, "work", HEAD "PasswordCommand=pass show 'mail/my account'\n");
        load_ok(fx);
        const struct transport_config *c = find(fx, "work");
        assert_int_equal(c->secret, SECRET_PASSWORD_COMMAND);
        assert_string_equal(secret_kind_to_string(c->secret), "PasswordCommand");
        assert_int_equal(strv_length(c->secret_command), 3);
        assert_string_equal(c->secret_command[2], "mail/my account");
        assert_int_equal(c->command_uid, geteuid());
        assert_int_equal(c->auth, AUTH_PASSWORD);
        assert_int_equal(c->secret_timeout, CONFIG_DEFAULT_SECRET_TIMEOUT);

        write_transport(fx, "work", HEAD "TokenCommand=oauth-helper --imap\nSecretTimeout=5\n");
        load_ok(fx);
        c = find(fx, "work");
        assert_int_equal(c->secret, SECRET_TOKEN_COMMAND);
        assert_int_equal(c->auth, AUTH_OAUTH2); /* a token source implies it */
        assert_int_equal(c->secret_timeout, 5);

        write_transport(fx, "work", HEAD "SecretService=service mail \"user=alice smith\"\n");
        assert_int_equal(load(fx), -EINVAL);
        assert_non_null(strstr(fx->error, ":5: SecretService: expected attribute=value pairs, "
                                          "got \"service\""));
        write_transport(fx, "work", HEAD "SecretService=service=mail \"user=alice smith\"\n");
        load_ok(fx);
        c = find(fx, "work");
        assert_int_equal(c->secret, SECRET_SERVICE);
        assert_int_equal(strv_length(c->secret_attributes), 4);
        assert_string_equal(c->secret_attributes[3], "alice smith");
        /* The desktop's stores are not there for a system service. */
        assert_int_equal(load_for(fx, false), -EINVAL);
        assert_non_null(strstr(fx->error, ":5: SecretService: SecretService is the user's "
                                          "desktop and is read on the session bus only"));

        write_transport(fx, "work", HEAD "Auth=oauth2\nOnlineAccount=account_1700000000_0\n");
        load_ok(fx);
        c = find(fx, "work");
        assert_int_equal(c->secret, SECRET_ONLINE_ACCOUNT);
        assert_string_equal(c->online_account, "account_1700000000_0");
        assert_int_equal(c->auth, AUTH_OAUTH2);

        static const struct {
                const char *lines, *error;
        } bad[] = {
            {"PasswordCommand=helper 'open\n", ":5: PasswordCommand: a ' is not closed"},
            {"PasswordCommand=\n", ":5: PasswordCommand: no command"},
            {"PasswordCommand=a\nTokenCommand=b\n",
             ":6: TokenCommand: a transport has one secret source: PasswordCommand and "
             "TokenCommand both give one"},
            {"OnlineAccount=acc1\nSecretService=a=b\n",
             ":6: SecretService: a transport has one secret source: OnlineAccount and "
             "SecretService both give one"},
            {"Auth=password\nTokenCommand=b\n",
             ":5: Auth: TokenCommand gives an OAuth2 token: Auth=oauth2 or no Auth"},
            {"Auth=oauth2\nPasswordCommand=b\n",
             ":5: Auth: Auth=oauth2 takes its token from TokenCommand, not PasswordCommand"},
            {"Auth=oauth2\n", ":5: Auth: Auth=oauth2 needs a token source"},
            {"Auth=kerberos\n", ":5: Auth: expected password or oauth2, got \"kerberos\""},
            {"OnlineAccount=../acc\n", ":5: OnlineAccount: expected a GNOME Online Accounts id"},
            {"PasswordCommand=a\nSecretTimeout=0\n",
             ":6: SecretTimeout: expected a number of seconds from 1 to 600, got \"0\""},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *content = NULL;
                assert_true(asprintf(&content, HEAD "%s", bad[i].lines) > 0);
                write_transport(fx, "work", content);
                assert_int_equal(load(fx), -EINVAL);
                if (!strstr(fx->error, bad[i].error))
                        fail_msg("case %zu: expected ...%s..., got %s", i, bad[i].error, fx->error);
        }

        /* A secret from a source needs a user to log on as. */
        write_transport(fx, "work",
                        "[Transport]\nKind=imap\nServer=imaps://h\nPasswordCommand=a\n");
        assert_int_equal(load(fx), -EINVAL);
        assert_non_null(strstr(fx->error, ":4: PasswordCommand: a secret needs User="));

        /* A command runs as the file's owner: nobody else may write the file. */
        write_transport(fx, "work", HEAD "PasswordCommand=helper\n");
        _cleanup_free_ char *path = join(fx->config_dir, "transports.d/work.conf");
        assert_int_equal(chmod(path, 0664), 0);
        assert_int_equal(load(fx), -EINVAL);
        assert_non_null(strstr(fx->error, "must not be writable by group or others when it "
                                          "names a command (mode 0664)"));
#undef HEAD
}

static void test_bad_transport_id(void **state)
{
        struct fixture *fx = *state;
        write_transport(fx, "bad id", "[Transport]\nKind=maildir\n");
        assert_error(fx, "transports.d/bad id.conf",
                     ": \"bad id\" is not a valid transport id; use only letters, digits, '_', "
                     "'.' and '-'");
}

/* ---- mistakes in mailspool.conf ---- */

static void test_spooler_errors(void **state)
{
        struct fixture *fx = *state;
        write_transport(fx, "a", "[Transport]\nKind=maildir\n");
        static const struct {
                const char *content;
                const char *suffix;
        } cases[] = {
            {"[Spooler]\nAdminGroup=mail\nTransportOrder=a nosuch\n",
             ":3: TransportOrder: unknown transport \"nosuch\" (there is no "
             "transports.d/nosuch.conf)"},
            {"[Spooler]\nTransportOrder=a a\n", ":2: TransportOrder: \"a\" is listed twice"},
            {"[Spooler]\nMaxMessageSize=10MB\n",
             ":2: MaxMessageSize: expected a number of bytes from 1 to 18446744073709551615, got "
             "\"10MB\""},
            {"[Spooler]\nMaxMessageSize=-1\n",
             ":2: MaxMessageSize: expected a number of bytes from 1 to 18446744073709551615, got "
             "\"-1\""},
            {"[Spooler]\nMaxMessageSize=0\n",
             ":2: MaxMessageSize: expected a number of bytes from 1 to 18446744073709551615, got "
             "\"0\""},
            {"[Spooler]\nMaxMessageSize=18446744073709551616\n",
             ":2: MaxMessageSize: expected a number of bytes from 1 to 18446744073709551615, got "
             "\"18446744073709551616\""},
            {"[Spooler]\nAdminGroup=\n", ":2: AdminGroup: expected a group name, got \"\""},
            {"[Spooler]\nNotifications=some\n",
             ":2: Notifications: expected all, errors or none, got \"some\""},
            {"[Spooler]\n\n;comment\nAdmins=wheel\n", ":4: Admins: unknown key in [Spooler]"},
            {"[Transport]\nKind=smtp\n",
             ":2: Kind: in unknown section [Transport]; expected [Spooler]"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                free(write_file(fx, "mailspool.conf", cases[i].content, 0644));
                assert_error(fx, "mailspool.conf", cases[i].suffix);
        }
}

/* ---- I/O ---- */

static void test_io_errors(void **state)
{
        struct fixture *fx = *state;
        _cleanup_free_ char *expected = NULL;

        /* A config dir that is a file. */
        _cleanup_free_ char *file = join(fx->root, "plain");
        FILE *f = fopen(file, "we");
        assert_non_null(f);
        fclose(f);
        assert_int_equal(config_load(file, fx->state_dir, true, &fx->config, &fx->error), -ENOTDIR);
        assert_true(asprintf(&expected, "%s: %s", file, strerror(ENOTDIR)) > 0);
        assert_string_equal(fx->error, expected);

        /* A transport file that is a directory. */
        _cleanup_free_ char *dir = join(fx->config_dir, "transports.d/x.conf");
        assert_int_equal(mkdir_p(dir, 0755), 0);
        assert_error(fx, "transports.d/x.conf", ": not a regular file");
        assert_int_equal(rmdir(dir), 0);

        /* An unreadable transports.d: permissions mean nothing to root. */
        if (geteuid() == 0)
                return;
        write_transport(fx, "a", "[Transport]\nKind=maildir\n");
        _cleanup_free_ char *transports = join(fx->config_dir, "transports.d");
        assert_int_equal(chmod(transports, 0), 0);
        assert_int_equal(load(fx), -EACCES);
        free(expected);
        assert_true(asprintf(&expected, "%s: %s", transports, strerror(EACCES)) > 0);
        assert_string_equal(fx->error, expected);
}

/* ---- the small helpers ---- */

static void test_kind_helpers(void **state)
{
        (void) state;
        static const char *const names[] = {"smtp", "imap", "pop3", "maildir"};
        for (int k = 0; k < _TRANSPORT_KIND_MAX; k++) {
                assert_string_equal(transport_kind_to_string(k), names[k]);
                assert_int_equal(transport_kind_from_string(names[k]), k);
        }
        assert_null(transport_kind_to_string(_TRANSPORT_KIND_MAX));
        assert_int_equal(transport_kind_from_string("SMTP"), -EINVAL);
        assert_int_equal(transport_kind_from_string(""), -EINVAL);
        assert_int_equal(transport_kind_from_string(NULL), -EINVAL);

        assert_int_equal(transport_kind_methods(TRANSPORT_SMTP), 0xd);
        assert_int_equal(transport_kind_methods(TRANSPORT_IMAP), 0xd);
        assert_int_equal(transport_kind_methods(TRANSPORT_POP3), 0xd);
        assert_int_equal(transport_kind_methods(TRANSPORT_MAILDIR), 0x1);

        assert_true(transport_kind_is_outbound(TRANSPORT_SMTP));
        assert_false(transport_kind_is_outbound(TRANSPORT_IMAP));
        assert_false(transport_kind_is_outbound(TRANSPORT_POP3));
        assert_true(transport_kind_is_outbound(TRANSPORT_MAILDIR));
        assert_false(transport_kind_is_inbound(TRANSPORT_SMTP));
        assert_true(transport_kind_is_inbound(TRANSPORT_IMAP));
        assert_true(transport_kind_is_inbound(TRANSPORT_POP3));
        assert_true(transport_kind_is_inbound(TRANSPORT_MAILDIR));

        assert_null(spool_config_find(NULL, "a"));
        struct spool_config empty = {0};
        assert_null(spool_config_find(&empty, "a"));
        spool_config_clear(&empty);
        spool_config_clear(NULL);
}

/* A relative config dir still gives absolute paths. */
static void test_relative_dirs(void **state)
{
        struct fixture *fx = *state;
        free(write_file(fx, "pw", "x", 0600));
        write_transport(fx, "m", "[Transport]\nKind=maildir\nPasswordFile=pw\nMaildir=box\n");
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        assert_non_null(cwd);
        assert_int_equal(chdir(fx->root), 0);
        int r = config_load("etc", "state", true, &fx->config, &fx->error);
        assert_int_equal(chdir(cwd), 0);
        assert_int_equal(r, 0);
        /* The working directory is the real path, also if /tmp is a symlink. */
        _cleanup_free_ char *root = realpath(fx->root, NULL);
        assert_non_null(root);
        const struct transport_config *m = find(fx, "m");
        _cleanup_free_ char *maildir = NULL, *pw = NULL, *pickup = NULL;
        assert_true(asprintf(&maildir, "%s/etc/box", root) > 0);
        assert_true(asprintf(&pw, "%s/etc/pw", root) > 0);
        assert_true(asprintf(&pickup, "%s/state/pickup/m", root) > 0);
        assert_string_equal(m->maildir, maildir);
        assert_string_equal(m->password_file, pw);
        assert_string_equal(m->pickup, pickup);
        assert_string_equal(m->file, "etc/transports.d/m.conf");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
            T(test_missing_dir_gives_builtin),
            T(test_empty_dir_gives_builtin),
            T(test_spooler_file_without_transports),
            T(test_api_example),
            T(test_minimal_defaults),
            T(test_every_key_set),
            T(test_spooler_settings),
            T(test_file_name_order),
            T(test_transport_order),
            T(test_explicit_default),
            T(test_two_defaults),
            T(test_bad_values),
            T(test_bad_kind_and_server),
            T(test_missing_keys),
            T(test_idle),
            T(test_sent_copy),
            T(test_first_error_wins),
            T(test_long_line),
            T(test_password_file),
            T(test_tls_policy),
            T(test_secret_sources),
            T(test_bad_transport_id),
            T(test_spooler_errors),
            T(test_io_errors),
            T(test_kind_helpers),
            T(test_relative_dirs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
