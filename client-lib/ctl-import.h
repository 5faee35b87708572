/* mailspoolctl import-accounts: transports made from the calling user's
 * GNOME Online Accounts mail accounts. */
#pragma once

#include <stdio.h>

/* Asks goa-daemon on the session bus for every mail account and writes, for
 * each, CONFIG_DIR/transports.d/goa-<id>-in.conf (imap) and
 * goa-<id>-out.conf (smtp), sharing the account's address as Identity and
 * taking their secret from OnlineAccount=<id>; files of that name are
 * replaced. Says what it wrote (and anything it could not carry over) on
 * out. Returns how many files were written, or a negative errno with a
 * sentence on stderr. */
int ctl_import_accounts(const char *config_dir, FILE *out);
