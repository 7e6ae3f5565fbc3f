/*
 * bench.c: the C baseline of ipc-bench.
 *
 * The same loops as the Rust side (src/channel.rs, src/peer.rs), written as Stevens writes his
 * measurement programs in UNP vol. 2 (bw_pipe, bw_svmsg, lat_pipe, lat_svmsg) and lmbench its
 * lat_pipe and bw_pipe: set up, fork a peer, time only the data path. build.rs compiles it with -O2
 * into an executable that ipc-bench runs as a coprocess, in the same invocation, so every Rust
 * figure has a C figure beside it:
 *
 *   ipc-bench-c KEY CPUS     KEY: "private" (IPC_PRIVATE) or a number; created IPC_CREAT|IPC_EXCL
 *                            CPUS: where each peer runs, e.g. "1" or "1,2", or "any"
 *
 * It is driven through standard input, one command per line, and answers one line each:
 *
 *   setup lat|bw|calls MECH SIZE DS DR US UR   ready
 *                            make the objects, fork the peer (none for calls: one process sends to
 *                            itself); MECH as in the Rust side; DS..UR: where the Rust side's SysV
 *                            message texts sit in their pages (down send/receive, up send/receive)
 *   run COUNT VERIFY         ns N cs S    one timed run of COUNT round trips or messages: N ns,
 *                                         S context switches of both processes
 *   end                      done         stop the peer, remove the objects
 *   (end of input)                        exit 0
 *
 * A failure answers "error CALL: ENAME (text)" and exits 1, after removing what it made. SIGINT,
 * SIGTERM and SIGHUP remove everything too (the handler makes only async-signal-safe calls).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Must match src/channel.rs. */
#define RING_SLOTS 8 /* slots of the shared-memory ring in the bandwidth test */
#define STAMP_BYTES 8 /* each message starts with its sequence number */

enum mech { PIPE, FIFO, SVMSG, SVSHM, SOCKETPAIR, MQUEUE, MEMCPY };
static const char *mech_names[] = {"pipe", "fifo", "svmsg", "svshm", "socketpair", "mqueue", "memcpy"};

/* semctl's fourth argument: the caller must declare it (man 2 semctl). */
union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

/* ---- What exists now, for the clean-up (read by the signal handler) ---- */
static pid_t owner;                  /* this process: the peer inherits the variables, not the duty */
static volatile pid_t peer = -1;
static volatile int msqid = -1, shmid = -1, semid = -1;
static char dir[PATH_MAX], fifo_path[2][PATH_MAX + 16];
static volatile int have_dir, nfifos;
static key_t key = IPC_PRIVATE;
static cpu_set_t peer_cpus;            /* where the peer runs, when peer_pinned */
static int peer_pinned;
static int error_fd = STDOUT_FILENO; /* where "error ..." lines go: our stdout, or the peer's ack pipe */

static void clean_up(void) {
    if (getpid() != owner)
        return;
    if (peer > 0) {
        kill(peer, SIGTERM);
        waitpid(peer, NULL, 0);
        peer = -1;
    }
    if (msqid != -1) msgctl(msqid, IPC_RMID, NULL);
    if (shmid != -1) shmctl(shmid, IPC_RMID, NULL);
    if (semid != -1) semctl(semid, 0, IPC_RMID);
    msqid = shmid = semid = -1;
    for (int i = 0; i < nfifos; i++) unlink(fifo_path[i]);
    nfifos = 0;
    if (have_dir) rmdir(dir);
    have_dir = 0;
}

/* Block SIGINT, SIGTERM and SIGHUP (the handler's signals) until sigprocmask(SIG_SETMASK, before). */
static void hold_signals(sigset_t *before) {
    sigset_t held;
    sigemptyset(&held);
    sigaddset(&held, SIGINT);
    sigaddset(&held, SIGTERM);
    sigaddset(&held, SIGHUP);
    sigprocmask(SIG_BLOCK, &held, before);
}

static void on_signal(int sig) {
    clean_up();
    signal(sig, SIG_DFL);
    raise(sig); /* die of the same signal, so our parent sees the truth */
}

/* Report a failure as one line and end: "error CALL: ENAME (text)". */
static void fail_errno(const char *fmt, ...) {
    int err = errno;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 100, fmt, ap);
    va_end(ap);
    const char *name = strerrorname_np(err);
    snprintf(line + n, sizeof line - n, ": %s (%s)\n", name ? name : "E?", strerror(err));
    dprintf(error_fd, "error %s", line);
    if (getpid() != owner)
        _exit(1);
    clean_up();
    exit(1);
}

/* A failure that is not a system call's: "error TEXT". */
static void fail(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    dprintf(error_fd, "error %s\n", line);
    if (getpid() != owner)
        _exit(1);
    clean_up();
    exit(1);
}

static const char *key_text(void) {
    static char text[32];
    if (key == IPC_PRIVATE)
        return "IPC_PRIVATE";
    snprintf(text, sizeof text, "%#x", (unsigned)key);
    return text;
}

static void write_all(int fd, const void *buf, size_t len, const char *what) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n == -1)
            fail_errno("write(%s)", what);
        p += n;
        len -= (size_t)n;
    }
}

static void read_all(int fd, void *buf, size_t len, const char *what) {
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n == -1)
            fail_errno("read(%s)", what);
        if (n == 0)
            fail("read(%s): end of file: the other process has gone", what);
        p += n;
        len -= (size_t)n;
    }
}

static uint8_t pattern(size_t i) { return (uint8_t)(i % 251); }

/* The first min(8, size) bytes of a message carry its sequence number (little-endian). */
static void put_stamp(char *msg, size_t size, uint64_t seq) {
    memcpy(msg, &seq, size < STAMP_BYTES ? size : STAMP_BYTES);
}
static uint64_t get_stamp(const char *msg, size_t size) {
    uint64_t seq = 0;
    memcpy(&seq, msg, size < STAMP_BYTES ? size : STAMP_BYTES);
    return seq;
}
static uint64_t stamp_mask(size_t size) {
    return size >= STAMP_BYTES ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

/* Context switches of this process so far, voluntary (it waited) and involuntary (preempted). */
static uint64_t switches(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) == -1)
        fail_errno("getrusage(RUSAGE_SELF)");
    return (uint64_t)usage.ru_nvcsw + (uint64_t)usage.ru_nivcsw;
}

static void sem_add(int num, int delta) {
    struct sembuf op = {(unsigned short)num, (short)delta, 0};
    if (semop(semid, &op, 1) == -1)
        fail_errno("semop(semid=%d, [%d%+d])", semid, num, delta);
}

/* ---- A channel: one direction of one mechanism ---- */
struct msg { long mtype; char mtext[]; };

struct chan {
    enum mech mech;
    size_t size;
    int fd;            /* pipe, FIFO, socketpair: the end this side uses */
    long mtype;        /* SysV queue: this direction's type */
    struct msg *mb;    /* SysV queue: this side's message buffer, inside mb_alloc */
    char *mb_alloc;
    char *ring;        /* SysV shm: this direction's slots */
    int slots, next, sem_empty, sem_full, flow;
    mqd_t mq;          /* POSIX queue */
    char *buf;         /* this side's message: the pattern it sends, or where it receives */
};

/* Send and receive, one pair of functions per kind of channel. */
static void send_stream(struct chan *c, uint64_t seq) {
    put_stamp(c->buf, c->size, seq);
    write_all(c->fd, c->buf, c->size, mech_names[c->mech]);
}

static const char *recv_stream(struct chan *c) {
    read_all(c->fd, c->buf, c->size, mech_names[c->mech]);
    return c->buf;
}

static void send_svmsg(struct chan *c, uint64_t seq) {
    c->mb->mtype = c->mtype;
    put_stamp(c->mb->mtext, c->size, seq);
    if (msgsnd(msqid, c->mb, c->size, 0) == -1)
        fail_errno("msgsnd(msqid=%d, mtype=%ld, %zu bytes)", msqid, c->mtype, c->size);
}

static const char *recv_svmsg(struct chan *c) {
    ssize_t n = msgrcv(msqid, c->mb, c->size, c->mtype, 0);
    if (n == -1)
        fail_errno("msgrcv(msqid=%d, msgtyp=%ld, max %zu bytes)", msqid, c->mtype, c->size);
    if ((size_t)n != c->size)
        fail("msgrcv: a message of %zd bytes, expected %zu", n, c->size);
    return c->mb->mtext;
}

static void send_shm(struct chan *c, uint64_t seq) {
    put_stamp(c->buf, c->size, seq);
    if (c->flow)
        sem_add(c->sem_empty, -1); /* wait for a free slot */
    memcpy(c->ring + (size_t)c->next * c->size, c->buf, c->size);
    sem_add(c->sem_full, +1); /* one more message to read */
    c->next = (c->next + 1) % c->slots;
}

static const char *recv_shm(struct chan *c) {
    sem_add(c->sem_full, -1); /* wait for a message */
    memcpy(c->buf, c->ring + (size_t)c->next * c->size, c->size);
    if (c->flow)
        sem_add(c->sem_empty, +1); /* its slot is free again */
    c->next = (c->next + 1) % c->slots;
    return c->buf;
}

static void send_mq(struct chan *c, uint64_t seq) {
    put_stamp(c->buf, c->size, seq);
    if (mq_send(c->mq, c->buf, c->size, 0) == -1)
        fail_errno("mq_send(%zu bytes)", c->size);
}

static const char *recv_mq(struct chan *c) {
    ssize_t n = mq_receive(c->mq, c->buf, c->size, NULL);
    if (n == -1)
        fail_errno("mq_receive(max %zu bytes)", c->size);
    if ((size_t)n != c->size)
        fail("mq_receive: a message of %zd bytes, expected %zu", n, c->size);
    return c->buf;
}

/* LOOP(send, recv) once per kind of channel, chosen by m.mech: each timed loop is compiled with
   one kind's calls and chooses nothing per message, as on the Rust side (with_end! in
   src/channel.rs). A loop that chooses per message ran measurably slower where two processes
   share a CPU (see the book's "Tight loops"). */
#define PER_KIND(LOOP)                                                   \
    switch (m.mech) {                                                    \
    case PIPE: case FIFO: case SOCKETPAIR: LOOP(send_stream, recv_stream); break; \
    case SVMSG: LOOP(send_svmsg, recv_svmsg); break;                      \
    case SVSHM: LOOP(send_shm, recv_shm); break;                          \
    case MQUEUE: LOOP(send_mq, recv_mq); break;                           \
    case MEMCPY: break;                                                  \
    }

/* Latency and calls: send, wait for the answer, check its number. */
#define ROUND_TRIPS(send, recv)                                                           \
    for (uint64_t i = 0; i < count; i++) {                                                \
        send(&m.down, i);                                                                 \
        uint64_t back = get_stamp(recv(&m.up), m.size);                                   \
        if (back != (i & mask))                                                           \
            fail("message %llu came back as %llu", (unsigned long long)i, (unsigned long long)back); \
    }

/* The latency peer: every message straight back, with its number. */
#define ECHO(send, recv)                                                                  \
    for (uint64_t i = 0; i < cmd.count; i++)                                              \
        send(&m.up, get_stamp(recv(&m.down), m.size));

/* Bandwidth: the writer's messages, and the reader's (checked in check_all). */
#define SEND_ALL(send, recv)                                                              \
    for (uint64_t i = 0; i < count; i++)                                                  \
        send(&m.down, i);
#define RECEIVE_ALL(send, recv)                                                           \
    for (uint64_t i = 0; i < cmd.count; i++)                                              \
        recv(&m.down);
#define CHECK_ALL(send, recv)                                                             \
    for (uint64_t i = 0; i < cmd.count; i++)                                              \
        check(recv(&m.down), i, bad, sizeof bad);

/* ---- One measurement's state ---- */
static struct {
    int lat;                 /* 1: ping-pong latency, 0: one-way bandwidth or calls */
    int calls;               /* 1: one process sends to itself, no peer */
    enum mech mech;
    size_t size;
    size_t text_offset[4];   /* SysV queue: where the Rust side's mtexts sit in their pages */
    int nchan;               /* 2 for latency (down and up), 1 for bandwidth (down) */
    struct chan down, up;    /* this side's ends */
    int ctl[2], ack[2];      /* parent -> peer: run commands; peer -> parent: "ok" or "error" */
    int pipes[2][2], sv[2];
    mqd_t mq[2];
    char *shm;
    char *ref;               /* the pattern, to check received messages against */
    char *src, *dst;         /* memcpy: two areas of size + PLACES pages */
    uint64_t runs;           /* memcpy: runs so far, to pick each run's pages */
} m;

/* memcpy copies between a different pair of pages in every run, the same pairs as the Rust
 * side (src/peer.rs), in areas at the same fixed addresses: how fast one copy goes depends on
 * where its two buffers lie, and one lucky or unlucky place must not decide a figure. */
#define PLACES 16
static const uintptr_t areas[2] = {0x600000000000, 0x612345678000}; /* Memcpy's AREAS */
static size_t area_len;
static size_t place(uint64_t run, int target) {
    return 4096 * (size_t)(target ? (run * 7 + 3) % PLACES : run % PLACES);
}

struct command { uint64_t count, verify; };

static void fill_pattern(char *buf, size_t size) {
    for (size_t i = 0; i < size; i++) buf[i] = (char)pattern(i);
}

/* Every buffer starts on a page boundary, as on the Rust side (src/channel.rs, AlignedBuf): on
   some CPUs memcpy (and the kernel's copies) run many times slower when source and destination
   are misaligned relative to each other, and both sides must pay the same. */
static char *alloc_aligned(size_t size) {
    void *buf;
    int err = posix_memalign(&buf, 4096, (size + 4095) / 4096 * 4096 + 4096);
    if (err != 0) {
        errno = err;
        fail_errno("posix_memalign(%zu)", size);
    }
    return buf;
}

static char *alloc_buf(size_t size) {
    char *buf = alloc_aligned(size);
    fill_pattern(buf, size);
    return buf;
}

/* A memcpy area filled with the pattern: at addr if nothing is mapped there, else anywhere. */
static char *area_at(uintptr_t addr, size_t len) {
    char *area = mmap((void *)addr, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (area == MAP_FAILED || (uintptr_t)area != addr) {
        if (area != MAP_FAILED)
            munmap(area, len); /* a kernel before 4.17 took the address as a hint */
        area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED)
            fail_errno("mmap(%zu bytes)", len);
    }
    fill_pattern(area, len);
    return area;
}

/* Give channel k's end for this side: is_sender says which end. */
static void make_end(struct chan *c, int k, int is_sender) {
    memset(c, 0, sizeof *c);
    c->mech = m.mech;
    c->size = m.size;
    c->buf = alloc_buf(m.size);
    switch (m.mech) {
    case PIPE:
        c->fd = m.pipes[k][is_sender ? 1 : 0];
        break;
    case FIFO:
        /* open() of a FIFO waits for the other end: both sides open down first, then up. */
        c->fd = open(fifo_path[k], is_sender ? O_WRONLY : O_RDONLY);
        if (c->fd == -1)
            fail_errno("open(%s)", fifo_path[k]);
        break;
    case SOCKETPAIR:
        /* One socketpair carries both directions: the parent holds sv[0], the peer sv[1]. */
        c->fd = m.sv[(k == 0) == is_sender ? 0 : 1];
        break;
    case SVMSG:
        c->mtype = k + 1; /* one queue, two types, as in Stevens' lat_svmsg */
        /* mtext at the same offset in its page as the Rust side's MsgBuf text, for the reason
           given at alloc_aligned. */
        c->mb_alloc = alloc_aligned(m.size + 4096);
        c->mb = (struct msg *)(c->mb_alloc + (m.text_offset[2 * k + !is_sender] + 4096 - sizeof(long)) % 4096);
        fill_pattern(c->mb->mtext, m.size);
        break;
    case SVSHM:
        c->flow = !m.lat;
        c->slots = m.lat ? 1 : RING_SLOTS;
        c->ring = m.shm + (size_t)k * c->slots * m.size;
        c->sem_empty = 2 * k;
        c->sem_full = 2 * k + 1;
        break;
    case MQUEUE:
        c->mq = m.mq[k];
        break;
    case MEMCPY:
        break;
    }
}

/* Message i as received: its number, then every byte after it; the first problem goes into bad. */
static void check(const char *msg, uint64_t i, char *bad, size_t len) {
    if (bad[0])
        return;
    if (get_stamp(msg, m.size) != i) {
        snprintf(bad, len, "error message %llu arrived as number %llu\n", (unsigned long long)i,
                 (unsigned long long)get_stamp(msg, m.size));
    } else if (memcmp(msg + STAMP_BYTES, m.ref + STAMP_BYTES, m.size - STAMP_BYTES) != 0) {
        size_t at = STAMP_BYTES;
        while (msg[at] == m.ref[at]) at++;
        snprintf(bad, len, "error message %llu differs at byte %zu: expected %#04x, got %#04x\n",
                 (unsigned long long)i, at, (uint8_t)m.ref[at], (uint8_t)msg[at]);
    }
}

static void peer_loop(void) {
    struct command cmd;
    for (;;) {
        read_all(m.ctl[0], &cmd, sizeof cmd, "control pipe");
        if (cmd.count == 0)
            _exit(0);
        uint64_t at_start = switches();
        char ok[40];
        if (m.lat) {
            PER_KIND(ECHO)
            snprintf(ok, sizeof ok, "ok %llu\n", (unsigned long long)(switches() - at_start));
            write_all(m.ack[1], ok, strlen(ok), "ack pipe");
            continue;
        }
        /* Drain: every message is read; with VERIFY each byte is checked. A bad message is
           reported after the run, so the writer is never left blocked on a full queue. */
        char bad[200] = "";
        if (cmd.verify) {
            PER_KIND(CHECK_ALL)
        } else {
            PER_KIND(RECEIVE_ALL)
        }
        snprintf(ok, sizeof ok, "ok %llu\n", (unsigned long long)(switches() - at_start));
        if (bad[0])
            write_all(m.ack[1], bad, strlen(bad), "ack pipe");
        else
            write_all(m.ack[1], ok, strlen(ok), "ack pipe");
    }
}

static void setup(int lat, int calls, enum mech mech, size_t size, const unsigned long long offsets[4]) {
    memset(&m, 0, sizeof m);
    for (int i = 0; i < 4; i++)
        m.text_offset[i] = offsets[i] % 4096;
    m.lat = lat;
    m.calls = calls;
    m.mech = mech;
    m.size = size;
    m.nchan = lat ? 2 : 1;
    m.ref = alloc_buf(size);
    if (mech == MEMCPY) {
        area_len = size + PLACES * 4096;
        m.src = area_at(areas[0], area_len);
        m.dst = area_at(areas[1], area_len);
        m.runs = 0;
        return;
    }
    if (size < STAMP_BYTES && !lat)
        fail("a bandwidth message must hold its %d-byte stamp", STAMP_BYTES);
    if (calls && mech == FIFO)
        fail("a FIFO cannot be opened at both ends by one process (use pipe)");
    if (!calls && (pipe(m.ctl) == -1 || pipe(m.ack) == -1))
        fail_errno("pipe()");
    /* Signals wait while the objects are made: one between a call's return and the variable the
       handler reads (have_dir, msqid, ...) would leave that object behind. */
    sigset_t before;
    hold_signals(&before);
    switch (mech) {
    case PIPE:
        for (int k = 0; k < m.nchan; k++)
            if (pipe(m.pipes[k]) == -1)
                fail_errno("pipe()");
        break;
    case FIFO: {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/ipc-bench-c.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(dir) == NULL)
            fail_errno("mkdtemp(%s)", dir);
        have_dir = 1;
        for (int k = 0; k < m.nchan; k++) {
            snprintf(fifo_path[k], sizeof fifo_path[k], "%s/%s", dir, k == 0 ? "down" : "up");
            nfifos = k + 1; /* before it exists: a signal just after mkfifo must not leave it */
            if (mkfifo(fifo_path[k], 0600) == -1)
                fail_errno("mkfifo(%s)", fifo_path[k]);
        }
        break;
    }
    case SVMSG:
        msqid = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
        if (msqid == -1)
            fail_errno("msgget(key=%s)", key_text());
        break;
    case SVSHM: {
        int slots = lat ? 1 : RING_SLOTS;
        size_t bytes = (size_t)m.nchan * slots * size;
        shmid = shmget(key, bytes, IPC_CREAT | IPC_EXCL | 0600);
        if (shmid == -1)
            fail_errno("shmget(key=%s, size=%zu)", key_text(), bytes);
        m.shm = shmat(shmid, NULL, 0);
        if (m.shm == (void *)-1)
            fail_errno("shmat(shmid=%d)", shmid);
        /* Per channel k: member 2k counts empty slots, 2k+1 full ones. */
        semid = semget(key, 2 * m.nchan, IPC_CREAT | IPC_EXCL | 0600);
        if (semid == -1)
            fail_errno("semget(key=%s, nsems=%d)", key_text(), 2 * m.nchan);
        unsigned short values[4] = {0};
        for (int k = 0; k < m.nchan; k++) values[2 * k] = (unsigned short)slots;
        union semun arg = {.array = values};
        if (semctl(semid, 0, SETALL, arg) == -1)
            fail_errno("semctl(semid=%d, SETALL)", semid);
        break;
    }
    case SOCKETPAIR:
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, m.sv) == -1)
            fail_errno("socketpair(AF_UNIX, SOCK_STREAM)");
        break;
    case MQUEUE: {
        long maxmsg = 10;
        FILE *f = fopen("/proc/sys/fs/mqueue/msg_max", "r");
        if (f != NULL) {
            long limit;
            if (fscanf(f, "%ld", &limit) == 1 && limit < maxmsg) maxmsg = limit;
            fclose(f);
        }
        for (int k = 0; k < m.nchan; k++) {
            char name[64];
            snprintf(name, sizeof name, "/ipc-bench-c.%d.%d", (int)getpid(), k);
            struct mq_attr attr = {.mq_maxmsg = maxmsg, .mq_msgsize = (long)size};
            m.mq[k] = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
            if (m.mq[k] == (mqd_t)-1)
                fail_errno("mq_open(%s, maxmsg=%ld, msgsize=%zu)", name, maxmsg, size);
            /* The descriptor is all the peer needs (fork copies it): remove the name now, so
               nothing is left behind whatever happens next. */
            if (mq_unlink(name) == -1)
                fail_errno("mq_unlink(%s)", name);
        }
        break;
    }
    case MEMCPY:
        break;
    }
    sigprocmask(SIG_SETMASK, &before, NULL);

    if (calls) {
        /* Both ends of channel 0 in this process: down sends, up receives. */
        make_end(&m.down, 0, 1);
        make_end(&m.up, 0, 0);
        return;
    }

    /* Signals wait until `peer` is set: a SIGTERM between fork and that line would leave the
       peer running, blocked in open() on a FIFO forever. */
    hold_signals(&before);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == -1)
        fail_errno("fork()");
    if (pid == 0) {
        /* The peer: it dies of a signal at once (its parent removes the objects) and reports
           its errors on the ack pipe. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        sigprocmask(SIG_SETMASK, &before, NULL);
        error_fd = m.ack[1];
        if (peer_pinned && sched_setaffinity(0, sizeof peer_cpus, &peer_cpus) == -1)
            fail_errno("sched_setaffinity(0, peer cpus)");
        close(m.ctl[1]);
        close(m.ack[0]);
        if (mech == PIPE) {
            close(m.pipes[0][1]);
            if (lat) close(m.pipes[1][0]);
        }
        if (mech == SOCKETPAIR)
            close(m.sv[0]);
        make_end(&m.down, 0, 0);
        if (lat)
            make_end(&m.up, 1, 1);
        peer_loop();
    }
    peer = pid;
    sigprocmask(SIG_SETMASK, &before, NULL);
    close(m.ctl[0]);
    close(m.ack[1]);
    if (mech == PIPE) {
        close(m.pipes[0][0]);
        if (lat) close(m.pipes[1][1]);
    }
    if (mech == SOCKETPAIR)
        close(m.sv[1]);
    make_end(&m.down, 0, 1);
    if (lat)
        make_end(&m.up, 1, 0);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wait for the peer's "ok SWITCHES" (or its error) after a run; return its context switches. */
static uint64_t read_ack(void) {
    char line[256];
    ssize_t n = read(m.ack[0], line, sizeof line - 1);
    if (n == -1)
        fail_errno("read(ack pipe)");
    if (n == 0)
        fail("the peer ended without answering");
    line[n] = '\0';
    unsigned long long switched;
    if (sscanf(line, "ok %llu\n", &switched) != 1) {
        line[strcspn(line, "\n")] = '\0';
        fail("peer: %s", strncmp(line, "error ", 6) == 0 ? line + 6 : line);
    }
    return switched;
}

/* One timed run: its time in ns; *switched: the context switches of both processes during it. */
static uint64_t run(uint64_t count, uint64_t verify, uint64_t *switched) {
    uint64_t t0, t1, before = switches(), peer_switched = 0;
    if (m.mech == MEMCPY) {
        char *src = m.src + place(m.runs, 0), *dst = m.dst + place(m.runs, 1);
        m.runs++;
        t0 = now_ns();
        for (uint64_t i = 0; i < count; i++) {
            memcpy(dst, src, m.size);
            __asm__ __volatile__("" : : "r"(dst) : "memory"); /* the copy must happen every time */
        }
        t1 = now_ns();
        if (memcmp(dst, src, m.size) != 0)
            fail("memcpy: the copy differs");
        *switched = switches() - before;
        return t1 - t0;
    }
    if (m.calls) {
        uint64_t mask = stamp_mask(m.size);
        t0 = now_ns();
        PER_KIND(ROUND_TRIPS)
        t1 = now_ns();
        *switched = switches() - before;
        return t1 - t0;
    }
    struct command cmd = {count, verify};
    write_all(m.ctl[1], &cmd, sizeof cmd, "control pipe");
    if (m.lat) {
        uint64_t mask = stamp_mask(m.size);
        t0 = now_ns();
        PER_KIND(ROUND_TRIPS)
        t1 = now_ns();
        peer_switched = read_ack();
    } else {
        t0 = now_ns();
        PER_KIND(SEND_ALL)
        peer_switched = read_ack(); /* the peer has read every byte */
        t1 = now_ns();
    }
    *switched = switches() - before + peer_switched;
    return t1 - t0;
}

static void end(void) {
    if (m.mech != MEMCPY) {
        if (!m.calls) {
            struct command stop = {0, 0};
            write_all(m.ctl[1], &stop, sizeof stop, "control pipe");
            int status;
            if (waitpid(peer, &status, 0) == -1)
                fail_errno("waitpid(%d)", (int)peer);
            peer = -1;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail("the peer ended with status %#x", status);
            close(m.ctl[1]);
            close(m.ack[0]);
        }
        struct chan *ends[2] = {&m.down, &m.up};
        for (int k = 0; k < (m.lat || m.calls ? 2 : 1); k++) {
            struct chan *c = ends[k];
            if (m.mech == PIPE || m.mech == FIFO)
                close(c->fd);
            free(c->buf);
            free(c->mb_alloc);
        }
        for (int k = 0; k < m.nchan && m.mech == MQUEUE; k++)
            mq_close(m.mq[k]);
        if (m.mech == SOCKETPAIR) {
            close(m.sv[0]);
            if (m.calls)
                close(m.sv[1]);
        }
        if (m.shm != NULL && shmdt(m.shm) == -1)
            fail_errno("shmdt(shmid=%d)", shmid);
        if (msqid != -1 && msgctl(msqid, IPC_RMID, NULL) == -1)
            fail_errno("msgctl(msqid=%d, IPC_RMID)", msqid);
        msqid = -1;
        if (shmid != -1 && shmctl(shmid, IPC_RMID, NULL) == -1)
            fail_errno("shmctl(shmid=%d, IPC_RMID)", shmid);
        shmid = -1;
        if (semid != -1 && semctl(semid, 0, IPC_RMID) == -1)
            fail_errno("semctl(semid=%d, IPC_RMID)", semid);
        semid = -1;
        for (int i = 0; i < nfifos; i++)
            if (unlink(fifo_path[i]) == -1)
                fail_errno("unlink(%s)", fifo_path[i]);
        nfifos = 0;
        if (have_dir && rmdir(dir) == -1)
            fail_errno("rmdir(%s)", dir);
        have_dir = 0;
    }
    free(m.ref);
    if (m.src)
        munmap(m.src, area_len);
    if (m.dst)
        munmap(m.dst, area_len);
    m.src = m.dst = NULL;
}

int main(int argc, char *argv[]) {
    owner = getpid();
    if (argc != 3) {
        fprintf(stderr, "usage: %s KEY CPUS (KEY: private or a number; CPUS: e.g. 1,2 or any)\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[2], "any") != 0) {
        CPU_ZERO(&peer_cpus);
        for (char *p = argv[2], *endp; *p != '\0'; p = endp + (*endp == ',')) {
            long cpu = strtol(p, &endp, 10);
            if (endp == p || cpu < 0 || cpu >= CPU_SETSIZE || (*endp != ',' && *endp != '\0')) {
                fprintf(stderr, "%s: '%s' is not a CPU list\n", argv[0], argv[2]);
                return 2;
            }
            CPU_SET(cpu, &peer_cpus);
        }
        peer_pinned = 1;
    }
    if (strcmp(argv[1], "private") != 0) {
        char *endp;
        errno = 0;
        long long value = strtoll(argv[1], &endp, 0);
        if (errno != 0 || *endp != '\0' || value < INT32_MIN || value > UINT32_MAX) {
            fprintf(stderr, "%s: '%s' is not a key\n", argv[0], argv[1]);
            return 2;
        }
        key = (key_t)(uint32_t)value;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    char line[256];
    while (fgets(line, sizeof line, stdin) != NULL) {
        char kind[8], name[16];
        unsigned long long a, b;
        unsigned long long offsets[4];
        if (sscanf(line, "setup %7s %15s %llu %llu %llu %llu %llu", kind, name, &a, &offsets[0], &offsets[1],
                   &offsets[2], &offsets[3]) == 7) {
            int mech = -1;
            for (int i = 0; i <= MEMCPY; i++)
                if (strcmp(name, mech_names[i]) == 0) mech = i;
            int lat = strcmp(kind, "lat") == 0, calls = strcmp(kind, "calls") == 0;
            if (mech < 0 || !(lat || calls || strcmp(kind, "bw") == 0) || a == 0)
                fail("bad setup: %s", line);
            setup(lat, calls, (enum mech)mech, (size_t)a, offsets);
            printf("ready\n");
        } else if (sscanf(line, "run %llu %llu", &a, &b) == 2) {
            uint64_t switched, ns = run(a, b, &switched);
            printf("ns %llu cs %llu\n", (unsigned long long)ns, (unsigned long long)switched);
        } else if (strcmp(line, "end\n") == 0) {
            end();
            printf("done\n");
        } else {
            line[strcspn(line, "\n")] = '\0';
            fail("unknown command '%s'", line);
        }
        fflush(stdout);
    }
    clean_up();
    return 0;
}
