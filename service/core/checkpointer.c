/* The store's checkpointer (see checkpointer.h).
 *
 * Copying the WAL into the database file (a checkpoint: reading the WAL's
 * pages, writing them, an fsync of each file) took 5 to 10 ms per 1000
 * pages, and SQLite does it in the commit that fills the WAL, so on the
 * loop: during a flush, every fiftieth message or so held up every bus call.
 * The checkpointer does it on a thread and a connection of its own instead,
 * and every commit finds the WAL as it was. It changes no durability: a
 * commit is durable by its own fsync (synchronous=FULL) or by the next one;
 * a checkpoint only moves what is already committed, and syncs the WAL
 * before and the file after, as SQLite's own does.
 *
 * The WAL starts over (its pages are reused from the start) only when a
 * write begins with every page copied, which a thread copying beside a
 * stream of commits never leaves behind. Copying the rest on the loop cost
 * the two fsyncs every time, 2 to 4 ms of a stalled loop a dozen times per
 * flush of 10 000 messages. So once the WAL is long, the checkpointer asks
 * the writers that can wait to hold off (checkpointer_waiting()); with no
 * commit during one of its passes, that pass copies everything, and the
 * next commit starts the WAL over. The loop only copies itself when the
 * writers did not let a pass finish within CHECKPOINT_WAIT_MAX_USEC. */
#include "checkpointer.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>

#include "log.h"
#include "util.h"

/* New WAL pages that wake the thread (SQLite's own threshold). */
#define CHECKPOINT_PAGES 1000
/* Past this length the WAL waits to start over. */
#define CHECKPOINT_RESTART_PAGES 8000
/* A pass takes a few milliseconds (two fsyncs); writers that cannot wait
 * (submissions, downloads) may keep it from ever finding the WAL still, and
 * past this the loop copies what is left itself. */
#define CHECKPOINT_WAIT_MAX_USEC (50 * USEC_PER_MSEC)

struct checkpointer {
        sqlite3 *db;      /* its own connection, used by the thread alone */
        sqlite3 *loop_db; /* the loop's connection, whose commits these are */
        int fd;           /* eventfd: a pass ended while the WAL waits */
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        /* Under lock. waiting is written by the loop alone, so the loop
         * reads it without the lock. pass_pages and pass_copied are what the
         * last pass found in the WAL and copied (-1 if it failed). */
        bool wanted, running, stop, waiting;
        int pass_pages, pass_copied;
        /* The loop's own, outside the lock: the WAL's length at its last
         * commit, the pages written since the thread was last woken, the
         * length at which it waits next, and when it began to wait. */
        int wal_pages, appended, wait_pages;
        uint64_t waiting_since;
};

static void *checkpointer_run(void *userdata)
{
        struct checkpointer *c = userdata;
        pthread_mutex_lock(&c->lock);
        for (;;) {
                while (!c->wanted && !c->stop)
                        pthread_cond_wait(&c->wake, &c->lock);
                if (c->stop)
                        break;
                c->wanted = false;
                c->running = true;
                pthread_mutex_unlock(&c->lock);
                /* PASSIVE: copies what no reader needs from the WAL and
                 * never waits for the loop's connection, nor makes it wait. */
                int pages = -1, copied = -1;
                int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &pages,
                                                   &copied);
                if (rc != SQLITE_OK && rc != SQLITE_BUSY)
                        log_warning("store: checkpoint failed: %s", sqlite3_errstr(rc));
                pthread_mutex_lock(&c->lock);
                c->running = false;
                c->pass_pages = rc == SQLITE_OK ? pages : -1;
                c->pass_copied = rc == SQLITE_OK ? copied : -1;
                if (c->waiting)
                        (void) eventfd_write(c->fd, 1);
        }
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

/* Under lock. */
static void wake_thread(struct checkpointer *c)
{
        c->wanted = true;
        c->appended = 0;
        pthread_cond_signal(&c->wake);
}

/* Under lock. Unless all of the WAL was copied, a reader of another
 * connection (a backup, an sqlite3 shell) holds pages back, and holding
 * writers off would not help: the next wait begins a thousand pages later. */
static void end_wait(struct checkpointer *c, bool all_copied)
{
        if (!all_copied)
                c->wait_pages = c->wal_pages + CHECKPOINT_PAGES;
        c->waiting = false;
}

static bool wait_overdue(const struct checkpointer *c)
{
        return now_monotonic_usec() - c->waiting_since >= CHECKPOINT_WAIT_MAX_USEC;
}

/* Without the lock, with the thread idle: the loop copies what is left,
 * which ends the wait. The eventfd tells whoever held off. */
static void copy_on_loop(struct checkpointer *c)
{
        int pages = 0, copied = 0;
        int rc =
            sqlite3_wal_checkpoint_v2(c->loop_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &pages, &copied);
        pthread_mutex_lock(&c->lock);
        end_wait(c, rc == SQLITE_OK && copied == pages);
        pthread_mutex_unlock(&c->lock);
        (void) eventfd_write(c->fd, 1);
}

/* SQLite calls this after each commit of the loop's connection, with the
 * pages the WAL holds now. */
static int checkpointer_wal_hook(void *userdata, sqlite3 *db, const char *name, int pages)
{
        struct checkpointer *c = userdata;
        /* Shorter than at the last commit: the WAL started over. */
        if (pages < c->wal_pages)
                c->wait_pages = CHECKPOINT_RESTART_PAGES;
        c->appended += pages >= c->wal_pages ? pages - c->wal_pages : pages;
        c->wal_pages = pages;

        bool copy_here = false;
        pthread_mutex_lock(&c->lock);
        bool idle = !c->running && !c->wanted;
        if (!c->waiting && pages >= c->wait_pages) {
                c->waiting = true;
                c->waiting_since = now_monotonic_usec();
                /* A pass under way tells the loop when it ends. */
                if (idle)
                        wake_thread(c);
        } else if (!c->waiting && idle && c->appended >= CHECKPOINT_PAGES)
                wake_thread(c);
        else if (c->waiting && idle)
                copy_here = wait_overdue(c);
        pthread_mutex_unlock(&c->lock);

        if (copy_here)
                copy_on_loop(c);
        return SQLITE_OK;
}

bool checkpointer_waiting(const struct checkpointer *c)
{
        return c && c->waiting;
}

int checkpointer_fd(const struct checkpointer *c)
{
        return c ? c->fd : -EBADF;
}

bool checkpointer_check(struct checkpointer *c)
{
        if (!c)
                return true;
        eventfd_t n;
        (void) eventfd_read(c->fd, &n);

        bool copy_here = false;
        pthread_mutex_lock(&c->lock);
        /* A pass under way tells the loop again when it ends. */
        if (c->waiting && !c->running && !c->wanted) {
                /* No commit since the pass began: it copied all it could. */
                if (c->pass_pages >= 0 && c->pass_pages == c->wal_pages)
                        end_wait(c, c->pass_copied == c->pass_pages);
                else if (wait_overdue(c))
                        copy_here = true;
                else
                        wake_thread(c);
        }
        pthread_mutex_unlock(&c->lock);

        if (copy_here)
                copy_on_loop(c);
        return !c->waiting;
}

void checkpointer_free(struct checkpointer *c)
{
        if (!c)
                return;
        pthread_mutex_lock(&c->lock);
        c->stop = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        sqlite3_close(c->db);
        sqlite3_wal_hook(c->loop_db, NULL, NULL);
        close(c->fd);
        free(c);
}

struct checkpointer *checkpointer_start(const char *path, sqlite3 *db)
{
        if (!sqlite3_threadsafe())
                return NULL;
        struct checkpointer *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->loop_db = db;
        c->pass_pages = c->pass_copied = -1;
        c->wait_pages = CHECKPOINT_RESTART_PAGES;
        c->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        int rc = c->fd >= 0 ? sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE, NULL)
                            : SQLITE_CANTOPEN;
        /* FULL, as the loop's connection: the WAL is synced before it is
         * copied and the file after. */
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(c->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                sqlite3_close(c->db);
                if (c->fd >= 0)
                        close(c->fd);
                free(c);
                return NULL;
        }
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->wake, NULL);
        /* No signal for the thread: the daemon reads its signals from a
         * signalfd, which only works while no thread takes them. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = pthread_create(&c->thread, NULL, checkpointer_run, c);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                pthread_cond_destroy(&c->wake);
                pthread_mutex_destroy(&c->lock);
                sqlite3_close(c->db);
                close(c->fd);
                free(c);
                return NULL;
        }
        /* Replacing the WAL hook turns SQLite's own checkpoints off. */
        sqlite3_wal_hook(db, checkpointer_wal_hook, c);
        return c;
}
