/* Configuration: DIR/mailspool.conf and DIR/transports.d/<id>.conf, read with
 * libinih exactly as docs/bus-api.md ("Configuration files") says. */
#pragma once

#include "util.h"

enum transport_kind {
        TRANSPORT_SMTP,
        TRANSPORT_IMAP,
        TRANSPORT_POP3,
        TRANSPORT_MAILDIR,
        _TRANSPORT_KIND_MAX,
};
const char *transport_kind_to_string(enum transport_kind k); /* "smtp", ... */
int transport_kind_from_string(const char *s);               /* or -EINVAL */
/* ResourceMethods a kind supports: smtp, imap, pop3: VALIDATE_STATE |
 * CHANGE_PASSWORD | FLUSH_QUEUES; maildir: VALIDATE_STATE. */
uint32_t transport_kind_methods(enum transport_kind k);
bool transport_kind_is_outbound(enum transport_kind k); /* smtp, maildir */
bool transport_kind_is_inbound(enum transport_kind k);  /* imap, pop3, maildir */

enum starttls_mode {
        STARTTLS_YES,
        STARTTLS_NO,
        STARTTLS_REQUIRED,
};

/* What the connection to the server does about TLS, from the scheme,
 * StartTLS and whether the transport logs on (config.c). */
enum transport_tls {
        TLS_NONE,     /* plain: StartTLS=no */
        TLS_OPTIONAL, /* STARTTLS when the server offers it: anonymous use only */
        TLS_REQUIRED, /* STARTTLS, or no session */
        TLS_IMPLICIT, /* smtps://, imaps://, pop3s:// */
};

/* How a transport logs on (Auth=). */
enum auth_method {
        AUTH_PASSWORD, /* the secret is a password */
        AUTH_OAUTH2,   /* the secret is an OAuth2 bearer token: XOAUTH2 or OAUTHBEARER */
};

/* Where a transport's secret comes from: one key of the file, at most. */
enum secret_kind {
        SECRET_NONE,
        SECRET_PASSWORD_FILE,       /* PasswordFile= */
        SECRET_PASSWORD_CREDENTIAL, /* PasswordCredential= */
        SECRET_PASSWORD_COMMAND,    /* PasswordCommand= */
        SECRET_TOKEN_COMMAND,       /* TokenCommand= */
        SECRET_SERVICE,             /* SecretService= */
        SECRET_ONLINE_ACCOUNT,      /* OnlineAccount= */
        _SECRET_KIND_MAX,
};
/* The key's name, as ValidateState reports it: "PasswordCommand"; "" for none. */
const char *secret_kind_to_string(enum secret_kind k);
/* Whether the secret is fetched (a command, a bus call) and then kept
 * until it expires or is refused, rather than read from a file each time. */
bool secret_kind_is_fetched(enum secret_kind k);

/* What an imap or pop3 download does on the server (AfterDownload=). */
enum after_download {
        AFTER_KEEP,   /* leave every message and flag as it was */
        AFTER_SEEN,   /* IMAP: leave fetched messages \Seen */
        AFTER_DELETE, /* delete fetched messages once they are durable here */
};

enum send_mode {
        SEND_IMMEDIATE,
        SEND_ON_DEMAND,
};

struct transport_config {
        char *id;   /* file name without .conf */
        char *file; /* the file it came from; NULL for the built-in default */
        enum transport_kind kind;
        char *display_name;
        char *identity;      /* "" if none */
        char *server;        /* NULL for maildir */
        char *user;          /* NULL if none */
        char *password_file; /* absolute; NULL if none */
        /* STATE/secrets/<id>, where ChangePassword keeps a new password (the
         * daemon may not write beside the configuration); read before
         * password_file once it exists. NULL without a password_file. */
        char *stored_secret;
        enum auth_method auth;
        enum secret_kind secret;
        /* PasswordCommand or TokenCommand as an argument vector, run as
         * command_uid/command_gid (the owner of the file). */
        char **secret_command;
        uid_t command_uid;
        gid_t command_gid;
        /* Seconds a fetched secret (command, bus call) may take to come
         * (SecretTimeout). */
        uint32_t secret_timeout;
        /* SecretService: attribute, value, attribute, value, ... */
        char **secret_attributes;
        char *online_account; /* OnlineAccount: a GNOME Online Accounts id */
        enum starttls_mode starttls;
        /* Credentials never go out without TLS: with User on a plain URL,
         * STARTTLS is required unless StartTLS=no is written out, and then
         * cleartext_logon is set (warned about at every logon). */
        enum transport_tls tls;
        bool cleartext_logon;
        /* Trust: a CA bundle in place of the system store; or the server's
         * pinned public key ("sha256//BASE64[;...]"), which then is the
         * whole of the trust (a self-signed server); a client certificate
         * and its key. All absolute, NULL if not set. */
        char *tls_trust_file;
        char *tls_pinned_key;
        char *tls_client_certificate;
        char *tls_client_key;
        /* AuthMechanisms as libcurl's login options ("AUTH=PLAIN;AUTH=LOGIN");
         * NULL: whatever the server offers that libcurl knows. */
        char *login_options;
        bool is_default; /* the default outbound transport, explicit or chosen */
        /* SendDelay: seconds a new message waits as "scheduled" (the undo
         * window); 0: none. */
        uint32_t send_delay;
        enum send_mode send_mode;
        uint32_t poll_interval; /* seconds */
        bool asynchronous;
        uint32_t methods; /* ResourceMethods bits, narrowed by Methods= */
        uint32_t max_connections;
        enum after_download after_download;
        char *mailbox; /* IMAP: the mailbox downloaded (Mailbox=); "INBOX" */
        bool idle;     /* IMAP: wait for new mail with IDLE where offered (Idle=) */
        /* SMTP: where a sent message is copied (SentCopy=in:Sent): an imap
         * transport's id and its mailbox; NULL: no copy. */
        char *sent_copy_transport, *sent_copy_mailbox;
        uint32_t delete_after; /* POP3: days a fetched message stays on the server; 0: always */
        char *maildir;         /* absolute */
        char *pickup;          /* absolute; maildir kind only, else NULL */
};

/* What a desktop is shown (Notifications=). */
enum notifications {
        NOTIFICATIONS_ALL,    /* a flush's progress and end */
        NOTIFICATIONS_ERRORS, /* only the end of a flush that did not send everything */
        NOTIFICATIONS_NONE,
};

struct spool_config {
        char *admin_group; /* NULL if none */
        uint64_t max_message_size;
        /* Seconds a message handed over as a pipe or socket may take to
         * arrive whole (SubmitTimeout). */
        uint32_t submit_timeout;
        /* What one uid may have waiting to be sent (UserQueueMessages,
         * UserQueueSize), and the free space below which only root and the
         * admin group may submit (DiskReserve); CONFIG_FROM_DISK: a share of
         * the state file system (quota.c). */
        uint64_t user_queue_messages;
        uint64_t user_queue_size;
        uint64_t disk_reserve;
        /* Seconds a message may wait before it fails as not delivered
         * (QueueLifetime), and before its owner hears it is delayed
         * (DelayWarningTime; 0: never). UncertainDelivery=hold: a message
         * that may have been delivered is held rather than sent again. */
        uint32_t queue_lifetime;
        uint32_t delay_warning_time;
        bool uncertain_hold;
        /* MailDomain: of the From, sender and Message-ID the spooler makes
         * for a local submission that lacks them; NULL: the machine's (the
         * spool finds it). */
        char *mail_domain;
        enum notifications notifications;
        /* In TransportOrder: the order given, then (if TransportOrder is not
         * set) file-name order. */
        struct transport_config *transports;
        size_t n_transports;
        bool builtin; /* no config dir: the one built-in maildir transport */
};

#define CONFIG_DEFAULT_MAX_MESSAGE_SIZE UINT64_C(52428800)
/* Two minutes: a mail program pipes a message in well under a second, and a
 * script that generates one has that long. */
#define CONFIG_DEFAULT_SUBMIT_TIMEOUT 120
#define MAX_SUBMIT_TIMEOUT            86400
/* Ten thousand: no desktop has that many waiting; a runaway script soon does. */
#define CONFIG_DEFAULT_USER_QUEUE_MESSAGES 10000
/* Five days, as Postfix's maximal_queue_lifetime; four hours, as its
 * delay_warning_time. */
#define CONFIG_DEFAULT_QUEUE_LIFETIME     (5 * 86400)
#define CONFIG_DEFAULT_DELAY_WARNING_TIME (4 * 3600)
#define MAX_QUEUE_LIFETIME                (366 * 86400)
/* A day: an undo window longer than that is a schedule, which DeferredUntil says. */
#define MAX_SEND_DELAY              86400
#define CONFIG_FROM_DISK            UINT64_MAX
#define CONFIG_BUILTIN_TRANSPORT_ID "local"
/* Half a minute: a keyring or a token helper answers in well under a
 * second; a command that waits for a person does not belong here. */
#define CONFIG_DEFAULT_SECRET_TIMEOUT 30
#define MAX_SECRET_TIMEOUT            600

/* Reads config_dir (relative paths in it resolve against config_dir; default
 * Maildir and Pickup against state_dir). A missing config_dir gives the
 * built-in default. session: the daemon serves a session bus, where the
 * user's Secret Service and Online Accounts are (SecretService= and
 * OnlineAccount= are refused otherwise). On error returns a negative errno and, in *ret_error,
 * "FILE:LINE: KEY: what is wrong" (or "FILE: what is wrong" where no line
 * applies). */
int config_load(const char *config_dir, const char *state_dir, bool session,
                struct spool_config *ret, char **ret_error);
void spool_config_clear(struct spool_config *c);
const struct transport_config *spool_config_find(const struct spool_config *c, const char *id);
/* Whether two transports' configurations say the same in every key (a
 * reload keeps such a transport as it is). */
bool transport_config_equal(const struct transport_config *a, const struct transport_config *b);
