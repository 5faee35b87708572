/* Importing GNOME Online Accounts mail accounts (see ctl-import.h). Only
 * what the accounts' Mail interface says is used: servers, user names, TLS
 * and whether the account is OAuth2-based; the secret stays with GOA, which
 * the daemon asks at each logon (OnlineAccount=). */
#include "ctl-import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "ctl-output.h"

#define GOA_NAME          "org.gnome.OnlineAccounts"
#define GOA_PATH          "/org/gnome/OnlineAccounts"
#define GOA_ACCOUNTS_PATH "/org/gnome/OnlineAccounts/Accounts/"
#define GOA_ACCOUNT       "org.gnome.OnlineAccounts.Account"
#define GOA_MAIL          "org.gnome.OnlineAccounts.Mail"
#define GOA_OAUTH2_BASED  "org.gnome.OnlineAccounts.OAuth2Based"

/* The parts of one account we use: what its Account and Mail interfaces say. */
struct account {
        /* First, so that no field we look up by offset is at offset 0. */
        bool has_mail, oauth2, mail_disabled;
        char *id, *email, *name;
        bool imap_supported, imap_ssl, imap_tls, imap_accept_ssl_errors;
        char *imap_host, *imap_user;
        bool smtp_supported, smtp_ssl, smtp_tls, smtp_auth, smtp_accept_ssl_errors;
        char *smtp_host, *smtp_user;
};

static void account_clear(struct account *a)
{
        free(a->id);
        free(a->email);
        free(a->name);
        free(a->imap_host);
        free(a->imap_user);
        free(a->smtp_host);
        free(a->smtp_user);
        *a = (struct account){0};
}

static const struct {
        const char *name;
        size_t string; /* offset of a char * in struct account, or 0 */
        size_t boolean;
} mail_properties[] = {
    {"EmailAddress", offsetof(struct account, email), 0},
    {"Name", offsetof(struct account, name), 0},
    {"ImapSupported", 0, offsetof(struct account, imap_supported)},
    {"ImapHost", offsetof(struct account, imap_host), 0},
    {"ImapUserName", offsetof(struct account, imap_user), 0},
    {"ImapUseSsl", 0, offsetof(struct account, imap_ssl)},
    {"ImapUseTls", 0, offsetof(struct account, imap_tls)},
    {"ImapAcceptSslErrors", 0, offsetof(struct account, imap_accept_ssl_errors)},
    {"SmtpSupported", 0, offsetof(struct account, smtp_supported)},
    {"SmtpHost", offsetof(struct account, smtp_host), 0},
    {"SmtpUserName", offsetof(struct account, smtp_user), 0},
    {"SmtpUseAuth", 0, offsetof(struct account, smtp_auth)},
    {"SmtpUseSsl", 0, offsetof(struct account, smtp_ssl)},
    {"SmtpUseTls", 0, offsetof(struct account, smtp_tls)},
    {"SmtpAcceptSslErrors", 0, offsetof(struct account, smtp_accept_ssl_errors)},
};

/* One property of a{sv}: the Mail ones we know, Account's Id and
 * MailDisabled; the rest skipped. */
static int read_property(sd_bus_message *m, const char *iface, struct account *a)
{
        const char *name;
        int r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        char type;
        const char *contents;
        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        size_t string = 0, boolean = 0;
        if (strcmp(iface, GOA_MAIL) == 0) {
                for (size_t i = 0; i < sizeof(mail_properties) / sizeof(mail_properties[0]); i++)
                        if (strcmp(name, mail_properties[i].name) == 0) {
                                string = mail_properties[i].string;
                                boolean = mail_properties[i].boolean;
                        }
        } else if (strcmp(name, "Id") == 0)
                string = offsetof(struct account, id);
        else if (strcmp(name, "MailDisabled") == 0)
                boolean = offsetof(struct account, mail_disabled);
        if (string && strcmp(contents, "s") == 0) {
                const char *s;
                r = sd_bus_message_read(m, "v", "s", &s);
                char **field = (char **) ((char *) a + string);
                free(*field);
                *field = r < 0 ? NULL : strdup(s);
                return r < 0 ? r : *field ? 0 : -ENOMEM;
        }
        if (boolean && strcmp(contents, "b") == 0) {
                int b;
                r = sd_bus_message_read(m, "v", "b", &b);
                *(bool *) ((char *) a + boolean) = b;
                return r;
        }
        return sd_bus_message_skip(m, "v");
}

/* One object of GetManagedObjects: oa{sa{sv}}, positioned at the o. */
static int read_account(sd_bus_message *m, struct account *a)
{
        int r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                const char *iface;
                r = sd_bus_message_read(m, "s", &iface);
                if (r < 0)
                        break;
                if (strcmp(iface, GOA_MAIL) == 0)
                        a->has_mail = true;
                if (strcmp(iface, GOA_OAUTH2_BASED) == 0)
                        a->oauth2 = true;
                r = sd_bus_message_enter_container(m, 'a', "{sv}");
                while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                        r = read_property(m, iface, a);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

/* "host" or "host:port" as GOA keeps it, into a URL of scheme. */
static char *server_url(const char *scheme, const char *host)
{
        char *url;
        return asprintf(&url, "%s://%s", scheme, host) < 0 ? NULL : url;
}

/* Writes path atomically: a temporary file beside it, then rename. */
static int write_file(const char *path, const char *text)
{
        char *tmp;
        if (asprintf(&tmp, "%s.new", path) < 0)
                return -ENOMEM;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int r = fd < 0 ? -errno : 0;
        size_t n = strlen(text);
        if (r >= 0 && write(fd, text, n) != (ssize_t) n)
                r = -EIO;
        if (fd >= 0 && close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        free(tmp);
        return r;
}

/* One transport file for one direction of an account. */
static int write_transport(const char *dir, const struct account *a, bool in, FILE *out)
{
        const char *host = in ? a->imap_host : a->smtp_host;
        bool ssl = in ? a->imap_ssl : a->smtp_ssl, tls = in ? a->imap_tls : a->smtp_tls;
        const char *user = in ? a->imap_user : a->smtp_auth ? a->smtp_user : NULL;
        const char *scheme = in ? (ssl ? "imaps" : "imap") : (ssl ? "smtps" : "smtp");
        char *url = server_url(scheme, host), *path = NULL, *text = NULL;
        int r = -ENOMEM;
        if (!url || asprintf(&path, "%s/goa-%s-%s.conf", dir, a->id, in ? "in" : "out") < 0)
                goto done;
        /* With a user, STARTTLS is required anyway; only "neither" must be
         * written out, and is then warned about at every logon. */
        const char *starttls = ssl || tls || !user ? "" : "StartTLS=no\n";
        bool logs_on = user && user[0];
        if (asprintf(&text,
                     "# Made by mailspoolctl import-accounts from GNOME Online Accounts\n"
                     "# account %s; the secret stays there.\n"
                     "[Transport]\n"
                     "Kind=%s\n"
                     "DisplayName=%s (%s)\n"
                     "Identity=%s\n"
                     "Server=%s\n"
                     "%s%s%s%s%s%s%s",
                     a->id, in ? "imap" : "smtp", a->name && a->name[0] ? a->name : a->email,
                     in ? "incoming" : "outgoing", a->email ? a->email : "", url, starttls,
                     logs_on ? "User=" : "", logs_on ? user : "", logs_on ? "\n" : "",
                     logs_on ? "OnlineAccount=" : "", logs_on ? a->id : "",
                     logs_on ? (a->oauth2 ? "\nAuth=oauth2\n" : "\n") : "") < 0) {
                text = NULL;
                goto done;
        }
        r = write_file(path, text);
        if (r < 0) {
                fprintf(stderr, "mailspoolctl: cannot write %s: %s\n", path, strerror(-r));
                goto done;
        }
        fprintf(out, "%s: ", path);
        print_text(out, url);
        fprintf(out, "%s\n", in && a->oauth2 ? " (OAuth2)" : "");
        if (in ? a->imap_accept_ssl_errors : a->smtp_accept_ssl_errors)
                fprintf(out, "  note: the account accepts any certificate; mailspool does not: pin "
                             "the server's key with TLSPinnedKey= in that file\n");
        if (!ssl && !tls && logs_on)
                fprintf(out, "  note: the account logs on without TLS (StartTLS=no)\n");
done:
        free(url);
        free(path);
        free(text);
        return r;
}

static int mkdir_parents(const char *dir)
{
        char *copy = strdup(dir);
        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        (void) mkdir(copy, 0700);
                        *p = '/';
                }
        int r = mkdir(copy, 0700) < 0 && errno != EEXIST ? -errno : 0;
        free(copy);
        return r;
}

/* Only ids that make a transport id and an OnlineAccount= value as they are. */
static bool account_id_is_valid(const char *id)
{
        if (!id || !*id)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        return true;
}

int ctl_import_accounts(const char *config_dir, FILE *out)
{
        sd_bus *bus = NULL;
        sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char *dir = NULL;
        int written = 0;

        int r = sd_bus_open_user(&bus);
        if (r < 0) {
                fprintf(stderr, "mailspoolctl: no session bus: %s\n", strerror(-r));
                goto done;
        }
        r = sd_bus_call_method(bus, GOA_NAME, GOA_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &error, &reply, "");
        if (r < 0) {
                fprintf(stderr, "mailspoolctl: cannot ask GNOME Online Accounts: %s\n",
                        error.message ? error.message : strerror(-r));
                goto done;
        }
        if (asprintf(&dir, "%s/transports.d", config_dir) < 0 || (r = mkdir_parents(dir)) < 0) {
                r = dir ? r : -ENOMEM;
                fprintf(stderr, "mailspoolctl: cannot create %s: %s\n", dir ? dir : config_dir,
                        strerror(-r));
                goto done;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                const char *path;
                struct account a = {0};
                r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0)
                        r = read_account(reply, &a);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                bool mail = r >= 0 &&
                            strncmp(path, GOA_ACCOUNTS_PATH, strlen(GOA_ACCOUNTS_PATH)) == 0 &&
                            a.has_mail && !a.mail_disabled;
                if (mail && !account_id_is_valid(a.id)) {
                        fprintf(out, "%s: skipped, its id cannot name a transport\n", path);
                        mail = false;
                }
                for (int in = 1; mail && in >= 0; in--) {
                        bool supported = in ? a.imap_supported && a.imap_host && a.imap_host[0]
                                            : a.smtp_supported && a.smtp_host && a.smtp_host[0];
                        if (supported && write_transport(dir, &a, in, out) >= 0)
                                written++;
                }
                account_clear(&a);
        }
        if (r < 0)
                fprintf(stderr, "mailspoolctl: cannot read what GNOME Online Accounts sent: %s\n",
                        strerror(-r));
        else if (written == 0)
                fprintf(out, "no mail account in GNOME Online Accounts\n");
done:
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        free(dir);
        return r < 0 ? r : written;
}
