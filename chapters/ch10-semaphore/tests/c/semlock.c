/* The textbook's semlock (ch. 10 §10-5-3) as its listing behaves, written for the tests:
 * initsem() tries semget(key, 1, IPC_CREAT | IPC_EXCL | 0600); on EEXIST it takes the set with
 * semget(key, 1, 0) and uses it at once, else it does SETVAL 1 and no semop. P and V are one
 * semop each on member 0 with SEM_UNDO. Each child prints "Lock : process %d",
 * "** Lock Mode : Critical Section", sleeps 1 s, prints "Unlock : process %d", and exits;
 * main forks three children and returns at once, leaving the set.
 *
 * Ours, not the text's: the key is argv[1] (the text's is 1); `semlock KEY init` only runs
 * initsem and exits (a set as the C creator leaves it); and each child appends "enter PID" and
 * "leave PID" to the file named by $SEMLOCK_WITNESS inside its critical section (O_APPEND, one
 * write per record), so a test can judge mutual exclusion without relying on stdout. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <unistd.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static key_t semkey;

static int initsem(key_t key) {
    union semun semunarg;
    int status = 0, semid;

    semid = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
    if (semid == -1) {
        if (errno == EEXIST)
            semid = semget(key, 1, 0);
    } else {
        semunarg.val = 1;
        status = semctl(semid, 0, SETVAL, semunarg);
    }
    if (semid == -1 || status == -1) {
        perror("initsem");
        return -1;
    }
    return semid;
}

static void semop_or_exit(int semid, int op, const char *what) {
    struct sembuf buf;
    buf.sem_num = 0;
    buf.sem_op = op;
    buf.sem_flg = SEM_UNDO;
    if (semop(semid, &buf, 1) == -1) {
        perror(what);
        exit(1);
    }
}

static void witness(const char *what) {
    const char *path = getenv("SEMLOCK_WITNESS");
    char record[64];
    int fd, len;

    if (path == NULL)
        return;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    len = snprintf(record, sizeof record, "%s %d\n", what, (int)getpid());
    if (fd == -1 || write(fd, record, len) != len) {
        perror("witness");
        exit(1);
    }
    close(fd);
}

static void semhandle(void) {
    int semid;
    pid_t pid = getpid();

    if ((semid = initsem(semkey)) < 0)
        exit(1);
    semop_or_exit(semid, -1, "semlock failed");
    printf("Lock : process %d\n", (int)pid);
    printf("** Lock Mode : Critical Section\n");
    witness("enter");
    sleep(1);
    witness("leave");
    printf("Unlock : process %d\n", (int)pid);
    semop_or_exit(semid, 1, "semunlock failed");
    exit(0);
}

int main(int argc, char **argv) {
    int a;

    if (argc < 2) {
        fprintf(stderr, "usage: semlock KEY [init]\n");
        return 2;
    }
    semkey = (key_t)strtol(argv[1], NULL, 0);
    if (argc > 2 && strcmp(argv[2], "init") == 0)
        return initsem(semkey) < 0;
    for (a = 0; a < 3; a++)
        if (fork() == 0)
            semhandle();
    return 0;
}
