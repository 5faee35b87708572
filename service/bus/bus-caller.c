#include "bus-caller.h"

#include <grp.h>
#include <pwd.h>

int bus_caller_uid(sd_bus_message *m, uid_t *ret)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_euid(creds, ret);
}

/* Whether the user uid belongs to gid in the user database (its primary
 * group or a supplementary one). The database, not the calling process's
 * groups: the bus vouches for the uid alone, and "add the user to the
 * group" is how an administrator grants the right. */
static bool user_in_group(uid_t uid, gid_t gid)
{
        struct passwd pw, *found = NULL;
        char buf[4096];
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || !found)
                return false;
        if (pw.pw_gid == gid)
                return true;
        int n = 64;
        for (int attempt = 0; attempt < 4; attempt++) {
                _cleanup_free_ gid_t *groups = calloc((size_t) n, sizeof(gid_t));
                if (!groups)
                        return false;
                int want = n;
                if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &want) >= 0) {
                        for (int i = 0; i < want; i++)
                                if (groups[i] == gid)
                                        return true;
                        return false;
                }
                n = want > n ? want : n * 2;
        }
        return false;
}

bool bus_caller_is_privileged(const struct spool *spool, bool system_bus, sd_bus_message *m)
{
        if (!system_bus)
                return true;
        uid_t uid;
        if (bus_caller_uid(m, &uid) < 0)
                return false;
        if (uid == 0)
                return true;
        return spool->has_admin_gid && user_in_group(uid, spool->admin_gid);
}
