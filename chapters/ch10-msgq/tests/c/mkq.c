/* mkq.c: our C for the slides' mkq (slides ch. 8 §8.3, slides 17-18 describe it and show its run,
 * not its code), for tests/interop.rs. The mode 0666 is the one slide 23's qctl run shows.
 *
 *   mkq KEY     msgget(key, IPC_CREAT | 0666), then msgget(key, 0); leaves the queue
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s KEY\n", argv[0]);
        return 2;
    }
    key_t key = (key_t) strtol(argv[1], NULL, 0);
    int qid = msgget(key, IPC_CREAT | 0666);
    if (qid == -1) {
        perror("msgget");
        return 1;
    }
    printf("created queue id = %d\n", qid);
    printf("key is = %d\n", key);
    qid = msgget(key, 0);
    if (qid == -1) {
        perror("msgget");
        return 1;
    }
    printf("opened queue id = %d\n", qid);
    return 0;
}
