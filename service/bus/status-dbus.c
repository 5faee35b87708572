/* The org.mailspool.Spool1.Status interface (MAPI's IMAPIStatus), one vtable
 * for the spooler and every transport. */
#include <fcntl.h>
#include <sys/stat.h>

#include "bus-error.h"
#include "flush-flags.h"
#include "flush.h"
#include "log.h"
#include "mailspool-bus.h"
#include "transport.h"

static uint32_t status_methods(const struct status_object *o)
{
        return o->t ? transport_resource_methods(o->t)
                    : MAILSPOOL_STATUS_VALIDATE_STATE | MAILSPOOL_STATUS_FLUSH_QUEUES;
}

static const char *status_name(const struct status_object *o)
{
        return o->t ? o->t->config->id : "spooler";
}

static int no_support(sd_bus_error *error, const struct status_object *o, const char *method,
                      uint32_t bit)
{
        return bus_error_mapi(error, MAPI_E_NO_SUPPORT,
                              "%s \"%s\" does not offer %s (ResourceMethods 0x%X lacks 0x%X)",
                              o->t ? "transport" : "the", status_name(o), method, status_methods(o),
                              bit);
}

static int get_u32(sd_bus *bus, const char *path, const char *iface, const char *property,
                   sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct status_object *o = userdata;
        const struct transport *t = o->t;
        uint32_t v;

        if (streq(property, "ResourceType"))
                v = t ? MAILSPOOL_RESOURCE_TRANSPORT : MAILSPOOL_RESOURCE_SPOOLER;
        else if (streq(property, "ResourceMethods"))
                v = status_methods(o);
        else if (streq(property, "ResourceFlags"))
                v = t ? transport_resource_flags(t) : 0;
        else
                v = t ? t->status_code : o->d->status_code;
        return sd_bus_message_append(reply, "u", v);
}

static int get_string(sd_bus *bus, const char *path, const char *iface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct status_object *o = userdata;
        const struct transport *t = o->t;
        const char *v;

        if (streq(property, "DisplayName"))
                v = t ? t->config->display_name : "Mail spooler";
        else if (streq(property, "ProviderDisplay"))
                v = t ? t->ops->provider_display : "Spooler";
        else if (streq(property, "IdentityDisplay"))
                v = t ? t->config->identity : "";
        else
                v = t ? t->status_string : o->d->status_string;
        return sd_bus_message_append(reply, "s", strempty(v));
}

static int method_flush_queues(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct status_object *o = userdata;
        const char *target;
        uint32_t flags;

        int r = sd_bus_message_read(m, "ou", &target, &flags);
        if (r < 0)
                return r;
        if (!(status_methods(o) & MAILSPOOL_STATUS_FLUSH_QUEUES))
                return bus_error_mapi(
                    error, MAPI_E_NO_SUPPORT,
                    "transport \"%s\" does not flush itself (ResourceMethods 0x%X lacks "
                    "STATUS_FLUSH_QUEUES); ask the spooler to flush it with this transport as "
                    "target",
                    status_name(o), status_methods(o));
        return flush_queues_call(o->d, o->t, m, target, flags, error);
}

static int spooler_validate(struct daemon *d, uint32_t flags, sd_bus_error *error)
{
        if (flags & MAILSPOOL_VALIDATE_HEADER_CACHE_FLAGS)
                return bus_error_mapi(error, MAPI_E_NO_SUPPORT,
                                      "the spooler has no remote header cache");
        if (flags & MAILSPOOL_VALIDATE_CONFIG_CHANGED) {
                _cleanup_free_ char *text = NULL;
                int r = daemon_reload(d, &text);
                if (r == -EBUSY)
                        return bus_error_mapi(error, MAPI_E_BUSY,
                                              "the configuration cannot be re-read while a flush "
                                              "runs or mail is in transit; try again when it ends");
                if (r < 0)
                        return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                              "the configuration was not changed: %s",
                                              text ? text : strerror(-r));
        }
        /* FORCE_XP_* on the spooler applies to every transport. */
        for (size_t i = 0; i < d->n_transports; i++)
                if (flags & (MAILSPOOL_VALIDATE_FORCE_CONNECT | MAILSPOOL_VALIDATE_FORCE_DISCONNECT)) {
                        int r = transport_validate(d->transports[i],
                                                   flags & (MAILSPOOL_VALIDATE_FORCE_CONNECT | MAILSPOOL_VALIDATE_FORCE_DISCONNECT),
                                                   NULL, NULL);
                        if (r < 0)
                                log_warning("transport \"%s\" did not validate",
                                            d->transports[i]->config->id);
                }
        return 0;
}

static int method_validate_state(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct status_object *o = userdata;
        enum mapi_error code;
        const char *text;
        uint32_t flags;

        int r = sd_bus_message_read(m, "u", &flags);
        if (r < 0)
                return r;
        if (!(status_methods(o) & MAILSPOOL_STATUS_VALIDATE_STATE))
                return no_support(error, o, "ValidateState", MAILSPOOL_STATUS_VALIDATE_STATE);
        if (validate_flags_check(flags, !o->t, &code, &text) < 0)
                return bus_error_mapi(error, code, "%s", text);
        if ((flags & (MAILSPOOL_VALIDATE_FORCE_CONNECT | MAILSPOOL_VALIDATE_FORCE_DISCONNECT | MAILSPOOL_VALIDATE_CONFIG_CHANGED)) &&
            !bus_caller_is_privileged(o->d, m))
                return bus_error_mapi(error, MAPI_E_NO_ACCESS,
                                      "only root or the admin group may connect, disconnect or "
                                      "reconfigure transports");

        r = o->t ? transport_validate(o->t, flags, m, error) : spooler_validate(o->d, flags, error);
        if (r != 0)
                return r; /* an error, or the transport replies when its check ends */
        return sd_bus_reply_method_return(m, NULL);
}

static int method_settings_dialog(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        return bus_error_mapi(error, MAPI_E_NO_SUPPORT,
                              "a system service has no settings dialog; edit the configuration "
                              "files and call ValidateState with CONFIG_CHANGED");
}

/* Reads the secret file, without a trailing newline. */
static int read_secret(const char *path, char **ret)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        char buf[4096];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        if (ferror(f))
                return -EIO;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        *ret = strndup(buf, n);
        return *ret ? 0 : -ENOMEM;
}

/* Replaces the secret file durably: a 0600 temporary file, fsync, rename. */
static int write_secret(const char *path, const char *secret)
{
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.new", path) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        size_t len = strlen(secret);
        if (write(fd, secret, len) != (ssize_t) len || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
                int r = -errno;
                unlink(tmp);
                return r ? r : -EIO;
        }
        if (rename(tmp, path) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

static int method_change_password(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct status_object *o = userdata;
        const char *old_secret, *new_secret;
        uint32_t flags;

        int r = sd_bus_message_read(m, "ssu", &old_secret, &new_secret, &flags);
        if (r < 0)
                return r;
        if (!(status_methods(o) & MAILSPOOL_STATUS_CHANGE_PASSWORD))
                return no_support(error, o, "ChangePassword", MAILSPOOL_STATUS_CHANGE_PASSWORD);
        if (flags != 0)
                return bus_error_mapi(error, MAPI_E_UNKNOWN_FLAGS,
                                      "ChangePassword takes no flags, got 0x%X", flags);
        if (!bus_caller_is_privileged(o->d, m))
                return bus_error_mapi(error, MAPI_E_NO_ACCESS,
                                      "only root or the admin group may change a password");
        const char *file = o->t->config->password_file;
        if (!file)
                return bus_error_mapi(error, MAPI_E_NO_SUPPORT,
                                      "transport \"%s\" has no PasswordFile to change",
                                      o->t->config->id);
        if (strchr(new_secret, '\n') || !new_secret[0])
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "the new password must be one non-empty line");

        _cleanup_free_ char *current = NULL;
        r = read_secret(file, &current);
        if (r < 0)
                return bus_error_mapi(error, MAPI_E_CALL_FAILED, "cannot read %s: %s", file,
                                      strerror(-r));
        if (!streq(current, old_secret))
                return bus_error_mapi(error, MAPI_E_LOGON_FAILED,
                                      "the old password of transport \"%s\" is not right",
                                      o->t->config->id);
        r = write_secret(file, new_secret);
        if (r < 0)
                return bus_error_mapi(error, MAPI_E_DISK_ERROR, "cannot write %s: %s", file,
                                      strerror(-r));
        log_notice("transport \"%s\": password changed", o->t->config->id);
        return sd_bus_reply_method_return(m, NULL);
}

#define PROP_CHANGING SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define METHOD_FLAGS  SD_BUS_VTABLE_UNPRIVILEGED

const sd_bus_vtable status_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("ResourceType", "u", get_u32, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("DisplayName", "s", get_string, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("ProviderDisplay", "s", get_string, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("ResourceMethods", "u", get_u32, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("ResourceFlags", "u", get_u32, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("StatusCode", "u", get_u32, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("StatusString", "s", get_string, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("IdentityDisplay", "s", get_string, 0, PROP_CHANGING),
    SD_BUS_METHOD_WITH_NAMES("FlushQueues", "ou",
                             SD_BUS_PARAM(target_transport) SD_BUS_PARAM(flags), "a{sv}",
                             SD_BUS_PARAM(summary), method_flush_queues, METHOD_FLAGS),
    SD_BUS_METHOD_WITH_NAMES("ValidateState", "u", SD_BUS_PARAM(flags), "", "",
                             method_validate_state, METHOD_FLAGS),
    SD_BUS_METHOD_WITH_NAMES("SettingsDialog", "u", SD_BUS_PARAM(flags), "", "",
                             method_settings_dialog, METHOD_FLAGS),
    SD_BUS_METHOD_WITH_NAMES("ChangePassword", "ssu",
                             SD_BUS_PARAM(old_password) SD_BUS_PARAM(new_password)
                                 SD_BUS_PARAM(flags),
                             "", "", method_change_password, METHOD_FLAGS),
    SD_BUS_SIGNAL_WITH_NAMES(
        "FlushProgress", "ouus",
        SD_BUS_PARAM(transport) SD_BUS_PARAM(done) SD_BUS_PARAM(total) SD_BUS_PARAM(text), 0),
    SD_BUS_SIGNAL_WITH_NAMES("FlushFinished", "oua{sv}",
                             SD_BUS_PARAM(target) SD_BUS_PARAM(flags) SD_BUS_PARAM(summary), 0),
    SD_BUS_VTABLE_END,
};
