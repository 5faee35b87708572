/* The connection, the error of the last call, the object names, and the
 * reading and writing of values that more than one call shares. */
#include <stdio.h>

#include "internal.h"

/* The daemon's named errors as errno values (see mailspool.h). */
static const sd_bus_error_map mailspool_errors[] = {
    SD_BUS_ERROR_MAP(MAILSPOOL_ERROR_BUSY, EBUSY),
    SD_BUS_ERROR_MAP(MAILSPOOL_ERROR_NO_SUPPORT, EOPNOTSUPP),
    SD_BUS_ERROR_MAP(MAILSPOOL_ERROR_NOT_FOUND, ENOENT),
    SD_BUS_ERROR_MAP(MAILSPOOL_ERROR_LOGON_FAILED, EKEYREJECTED),
    SD_BUS_ERROR_MAP(MAILSPOOL_ERROR_NETWORK_ERROR, EHOSTUNREACH),
    SD_BUS_ERROR_MAP(MAILSPOOL_ERROR_CANCELLED, ECANCELED),
    SD_BUS_ERROR_MAP(MAILSPOOL_ERROR_NOT_QUEUED, EALREADY),
    SD_BUS_ERROR_MAP(MAILSPOOL_ERROR_TIMEOUT, ETIMEDOUT),
    SD_BUS_ERROR_MAP(MAILSPOOL_ERROR_QUOTA_EXCEEDED, EDQUOT),
    SD_BUS_ERROR_MAP(MAILSPOOL_ERROR_DISK_FULL, ENOSPC),
    SD_BUS_ERROR_MAP_END,
};

MS_EXPORT int mailspool_open(enum mailspool_bus bus, mailspool **ret)
{
        if (!ret)
                return -EINVAL;
        if (bus == MAILSPOOL_BUS_DEFAULT) {
                const char *e = getenv("MAILSPOOL_BUS");
                if (e && (strcmp(e, "session") == 0 || strcmp(e, "user") == 0))
                        bus = MAILSPOOL_BUS_SESSION;
                else if (!e || !*e || strcmp(e, "system") == 0)
                        bus = MAILSPOOL_BUS_SYSTEM;
                else
                        return -EINVAL;
        }
        /* Once per process; adding the same table again is harmless. */
        int r = sd_bus_error_add_map(mailspool_errors);
        if (r < 0)
                return r;

        mailspool *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->error = SD_BUS_ERROR_NULL;
        r = bus == MAILSPOOL_BUS_SESSION ? sd_bus_open_user(&m->bus) : sd_bus_open_system(&m->bus);
        if (r < 0) {
                free(m);
                return r;
        }
        *ret = m;
        return 0;
}

MS_EXPORT void mailspool_close(mailspool *m)
{
        if (!m)
                return;
        sd_bus_error_free(&m->error);
        sd_bus_flush_close_unref(m->bus);
        free(m);
}

MS_EXPORT const char *mailspool_error_name(const mailspool *m)
{
        return m && sd_bus_error_is_set(&m->error) ? m->error.name : NULL;
}

MS_EXPORT const char *mailspool_error_message(const mailspool *m)
{
        return m && sd_bus_error_is_set(&m->error) ? m->error.message : NULL;
}

void ms_error_reset(mailspool *m)
{
        sd_bus_error_free(&m->error);
        m->error = SD_BUS_ERROR_NULL;
}

int ms_fail(mailspool *m, int r)
{
        if (sd_bus_error_is_set(&m->error))
                return -sd_bus_error_get_errno(&m->error);
        return r < 0 ? r : -EIO;
}

MS_EXPORT int mailspool_transport_path(const char *id, char **ret_path)
{
        if (!id || !*id || !ret_path)
                return -EINVAL;
        return sd_bus_path_encode(MAILSPOOL_TRANSPORT_PREFIX, id, ret_path);
}

MS_EXPORT int mailspool_transport_id(const char *path, char **ret_id)
{
        if (!path || !ret_id)
                return -EINVAL;
        int r = sd_bus_path_decode(path, MAILSPOOL_TRANSPORT_PREFIX, ret_id);
        return r < 0 ? r : r == 0 ? -EINVAL : 0;
}

int ms_status_path(const char *transport, char **ret)
{
        if (!transport) {
                *ret = strdup(MAILSPOOL_SPOOLER_PATH);
                return *ret ? 0 : -ENOMEM;
        }
        return mailspool_transport_path(transport, ret);
}

char *ms_transport_id(const char *path)
{
        char *id = NULL;
        if (path && sd_bus_path_decode(path, MAILSPOOL_TRANSPORT_PREFIX, &id) > 0)
                return id;
        return strdup("");
}

int ms_read_string(sd_bus_message *reply, char type, char **ret)
{
        const char *s;
        int r = sd_bus_message_read_basic(reply, type, &s);
        if (r < 0)
                return r;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int ms_read_variant(sd_bus_message *reply, char type, void *field)
{
        const char sig[2] = {type, '\0'};
        if (type == 'b') {
                /* sd-bus reads a boolean as an int. */
                int b;
                int r = sd_bus_message_read(reply, "v", sig, &b);
                if (r >= 0)
                        *(bool *) field = b;
                return r;
        }
        if (type != 's' && type != 'o' && type != 'g')
                return sd_bus_message_read(reply, "v", sig, field);
        const char *s;
        int r = sd_bus_message_read(reply, "v", sig, &s);
        if (r < 0)
                return r;
        char **copy = field;
        free(*copy);
        *copy = strdup(s);
        return *copy ? 0 : -ENOMEM;
}

int ms_read_variant_strv(sd_bus_message *reply, const char *contents, char ***ret)
{
        char **strv = NULL;
        int r = sd_bus_message_enter_container(reply, 'v', contents);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &strv);
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0) {
                ms_strv_free(strv);
                return r;
        }
        ms_strv_free(*ret);
        *ret = strv;
        return 0;
}

void ms_strv_free(char **strv)
{
        for (char **p = strv; p && *p; p++)
                free(*p);
        free(strv);
}

int ms_read_dict(sd_bus_message *reply, ms_read_value_fn read_value, void *userdata)
{
        int r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r <= 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;
                r = sd_bus_message_read_basic(reply, 's', &key);
                if (r >= 0)
                        r = read_value(reply, key, userdata);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        return r < 0 ? r : 1;
}

int ms_append_transport(sd_bus_message *call, const char *transport)
{
        _cleanup_free_ char *path = NULL;
        int r = mailspool_transport_path(transport, &path);
        if (r < 0)
                return r;
        return sd_bus_message_append(call, "{sv}", "Transport", "o", path);
}
