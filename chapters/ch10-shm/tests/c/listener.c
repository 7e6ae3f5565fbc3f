/* listener.c: the textbook's listener (ch. 10 §10-4-2), written again for tests/interop.rs so the
 * workbook's talker can be tried against it. It does what the listing does, call for call:
 * ftok("shmfile", 1), shmget 1024 IPC_CREAT|0666, a do-nothing SIGUSR1 handler, sigsuspend,
 * read the greeting, answer "have a nice day\n", sleep(3), shmdt. Like the listing it checks no
 * call, never signals the talker and never removes the segment (the talker does).
 * Ours, not the listing's: sigaction instead of the obsolete sigset (the same handler, installed
 * the same way: it stays installed, and SIGUSR1 is not blocked before sigsuspend). */
#define _XOPEN_SOURCE 700
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

static void handler(int dummy) {
    (void)dummy;
}

int main(void) {
    key_t key;
    int shmid;
    void *shmaddr;
    char buf[1024];
    sigset_t mask;
    struct sigaction act;

    key = ftok("shmfile", 1);
    shmid = shmget(key, 1024, IPC_CREAT | 0666);

    sigfillset(&mask);
    sigdelset(&mask, SIGUSR1);
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    sigaction(SIGUSR1, &act, NULL);

    printf("Listener wait for Talker\n");

    sigsuspend(&mask);

    printf("Listener Start ===\n");
    shmaddr = shmat(shmid, NULL, 0);
    strcpy(buf, shmaddr);
    printf("Listener received : %s\n", buf);
    strcpy(shmaddr, "have a nice day\n");
    sleep(3);
    shmdt(shmaddr);

    return 0;
}
