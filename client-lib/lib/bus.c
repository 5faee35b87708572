/* The connection, the error of the last call, and the object names. */
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
