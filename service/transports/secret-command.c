/* Running a program for a secret (see secret-command.h). */
#include "secret-command.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>

#include "log.h"

struct secret_command {
        pid_t pid;
        int fd; /* its stdout; -1 once read to the end */
        sd_event_source *io, *child, *timer;
        char *output;
        size_t size;
        uint64_t timeout_usec;
        bool exited;
        int exit_code; /* si_code of waitid: CLD_EXITED, CLD_KILLED, ... */
        int exit_status;
        secret_command_done_t done;
        void *userdata;
};

struct secret_command *secret_command_free(struct secret_command *c)
{
        if (!c)
                return NULL;
        /* The program's session may outlive it: killed as a whole while
         * the program is not reaped yet (its pid is then still ours). */
        if (c->pid > 0 && !c->exited)
                (void) kill(-c->pid, SIGKILL);
        sd_event_source_unref(c->io);
        sd_event_source_unref(c->timer);
        /* Owned: freeing the source kills and reaps a program still running. */
        sd_event_source_unref(c->child);
        if (c->fd >= 0)
                close(c->fd);
        if (c->output) {
                explicit_bzero(c->output, c->size);
                free(c->output);
        }
        free(c);
        return NULL;
}

/* Reports once and stops listening; the owner frees us. */
static void finish(struct secret_command *c, const char *error)
{
        secret_command_done_t done = c->done;
        c->done = NULL;
        sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
        sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        if (done)
                done(c->userdata, error ? NULL : c->output, error ? 0 : c->size, error);
}

static void maybe_finish(struct secret_command *c)
{
        if (!c->exited || c->fd >= 0)
                return;
        _cleanup_free_ char *text = NULL;
        if (c->exit_code == CLD_EXITED && c->exit_status == 0)
                finish(c, NULL);
        else if (c->exit_code == CLD_EXITED && c->exit_status == 127)
                finish(c, "could not be started (not found, or not executable)");
        else if (c->exit_code == CLD_EXITED)
                finish(c, asprintf(&text, "exited with status %d", c->exit_status) < 0 ? "failed"
                                                                                       : text);
        else
                finish(c, asprintf(&text, "killed by signal %d", c->exit_status) < 0 ? "failed"
                                                                                     : text);
}

static int io_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct secret_command *c = userdata;
        for (;;) {
                char buf[4096];
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0)
                        break; /* the end, or an error: what was read is all */
                if (c->size + (size_t) n > SECRET_COMMAND_MAX_OUTPUT) {
                        explicit_bzero(buf, sizeof(buf));
                        finish(c, "printed more than 64 KiB");
                        return 0;
                }
                memcpy(c->output + c->size, buf, (size_t) n);
                c->size += (size_t) n;
                c->output[c->size] = '\0';
                explicit_bzero(buf, (size_t) n);
        }
        c->io = sd_event_source_disable_unref(c->io);
        close(c->fd);
        c->fd = -1;
        maybe_finish(c);
        return 0;
}

static int child_cb(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        struct secret_command *c = userdata;
        c->exited = true;
        c->exit_code = si->si_code;
        c->exit_status = si->si_status;
        maybe_finish(c);
        return 0;
}

static int timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct secret_command *c = userdata;
        _cleanup_free_ char *text = NULL;
        if (!c->exited)
                (void) kill(-c->pid, SIGKILL);
        finish(c, asprintf(&text, "no answer within %" PRIu64 " s: stopped",
                           c->timeout_usec / USEC_PER_SEC) < 0
                      ? "no answer in time: stopped"
                      : text);
        return 0;
}

/* In the child, between fork() and exec: only async-signal-safe calls. */
_Noreturn static void exec_child(char *const *argv, int out, uid_t uid, gid_t gid)
{
        sigset_t none;
        sigemptyset(&none);
        /* The daemon blocks the signals its loop handles and ignores SIGPIPE;
         * the program starts with neither. */
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (setsid() < 0)
                _exit(126);
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0)
                _exit(126);
        if (close_range(3, ~0U, 0) < 0)
                _exit(126);
        if (geteuid() == 0 && (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0))
                _exit(126);
        if (geteuid() != uid)
                _exit(126);
        execvp(argv[0], argv);
        _exit(127);
}

int secret_command_start(sd_event *event, char *const *argv, uid_t uid, gid_t gid,
                         uint64_t timeout_usec, secret_command_done_t done, void *userdata,
                         struct secret_command **ret)
{
        struct secret_command *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (struct secret_command){
            .fd = -1,
            .timeout_usec = timeout_usec,
            .done = done,
            .userdata = userdata,
        };
        c->output = malloc(SECRET_COMMAND_MAX_OUTPUT + 1);
        int pipefd[2];
        if (!c->output || pipe2(pipefd, O_CLOEXEC) < 0) {
                int r = c->output ? -errno : -ENOMEM;
                secret_command_free(c);
                return r;
        }
        c->output[0] = '\0';
        c->fd = pipefd[0];
        c->pid = fork();
        if (c->pid == 0)
                exec_child(argv, pipefd[1], uid, gid);
        int r = c->pid < 0 ? -errno : 0;
        close(pipefd[1]);
        if (r >= 0)
                r = fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_add_child(event, &c->child, c->pid, WEXITED, child_cb, c);
        if (r >= 0)
                r = sd_event_source_set_child_process_own(c->child, true);
        if (r >= 0)
                r = sd_event_add_io(event, &c->io, c->fd, EPOLLIN, io_cb, c);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &c->timer, CLOCK_MONOTONIC, timeout_usec, 0,
                                               timer_cb, c);
        if (r < 0) {
                log_error("cannot run %s: %s", argv[0], strerror(-r));
                secret_command_free(c);
                return r;
        }
        *ret = c;
        return 0;
}
