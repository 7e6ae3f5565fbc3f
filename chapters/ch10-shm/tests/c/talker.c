/* talker.c: the textbook's talker (ch. 10 §10-4-2), written again for tests/interop.rs so the
 * workbook's listener can be tried against it. It does what the listing does, call for call:
 * ftok("shmfile", 1), shmget(key, 1024, 0), shmat, strcpy "Hello, I'm talker\n" at offset 0 (and
 * nothing else: no pid of ours in the segment), kill(atoi(argv[1]), SIGUSR1), sleep(2), read and
 * print the answer, shmdt, shmctl(IPC_RMID). Like the listing it checks no call.
 * Ours, not the listing's: its system("ipcs -mo") is left out (Linux's ipcs has no -o; the test
 * looks at the segment itself), and argv[1] must be given (the listing reads it unchecked). */
#define _XOPEN_SOURCE 700
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv) {
    key_t key;
    int shmid;
    void *shmaddr;
    char buf[1024];

    if (argc < 2) {
        fprintf(stderr, "usage: talker PID\n");
        return 2;
    }
    key = ftok("shmfile", 1);
    shmid = shmget(key, 1024, 0);
    shmaddr = shmat(shmid, NULL, 0);
    strcpy(shmaddr, "Hello, I'm talker\n");

    kill(atoi(argv[1]), SIGUSR1);

    sleep(2);
    strcpy(buf, shmaddr);
    printf("Listener said : %s\n", buf);

    shmdt(shmaddr);
    shmctl(shmid, IPC_RMID, NULL);

    return 0;
}
